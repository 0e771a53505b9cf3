package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.RequestLog = (*RequestLogWriter)(nil)

// RequestLogConfig tunes the request log writer; zero fields take the defaults.
type RequestLogConfig struct {
	// BatchSize is the most rows one COPY writes (default 200).
	BatchSize int
	// FlushInterval is the longest a queued record waits for its batch to
	// fill before it is written anyway (default 500ms).
	FlushInterval time.Duration
	// Buffer is how many records may wait to be written (default 10000).
	Buffer int
	// EnqueueTimeout is how long Record waits for room in a full buffer
	// before it drops the record (default 1s).
	EnqueueTimeout time.Duration
}

func (c RequestLogConfig) withDefaults() RequestLogConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 200
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 500 * time.Millisecond
	}
	if c.Buffer <= 0 {
		c.Buffer = 10000
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = time.Second
	}
	return c
}

// How a failed batch is retried: one attempt, then one more after each delay.
var requestLogRetryDelays = []time.Duration{200 * time.Millisecond, 800 * time.Millisecond, 2 * time.Second}

// requestLogWriteTimeout bounds one COPY attempt.
const requestLogWriteTimeout = 10 * time.Second

// maxLogText bounds every text column: the tier of an invalid request is
// whatever the client sent.
const maxLogText = 128

// RequestLogWriter is the PostgreSQL request log. Record queues a record in
// memory; a background goroutine writes queued records in batches with COPY.
// Close flushes what is queued. It is safe for concurrent use.
type RequestLogWriter struct {
	q   *sqlcgen.Queries
	log *slog.Logger
	cfg RequestLogConfig

	queue chan sqlcgen.InsertRequestLogsParams

	// mu is held shared by Record while it enqueues and exclusively by Close
	// once, so that after Close has taken it no record can still enter the
	// queue behind the final drain.
	mu        sync.RWMutex
	stopping  chan struct{} // closed by Close: Record refuses new records
	drain     chan struct{} // closed by Close after stopping: the writer drains and exits
	done      chan struct{} // closed when the writer goroutine has exited
	closeOnce sync.Once

	// ctx is the writer's; Close cancels it when its own context ends first.
	ctx    context.Context
	cancel context.CancelFunc

	dropped     atomic.Int64
	lastDropLog atomic.Int64 // unix nanoseconds of the last drop log line
}

// NewRequestLogWriter starts a request log writer on the pool. Call Close to
// flush it before closing the pool.
func (db *DB) NewRequestLogWriter(logger *slog.Logger, cfg RequestLogConfig) *RequestLogWriter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &RequestLogWriter{
		q:        db.q,
		log:      logger,
		cfg:      cfg,
		queue:    make(chan sqlcgen.InsertRequestLogsParams, cfg.Buffer),
		stopping: make(chan struct{}),
		drain:    make(chan struct{}),
		done:     make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
	}
	go w.run()
	return w
}

// Record implements ports.RequestLog. It returns at once while the buffer has
// room; when it is full it waits up to EnqueueTimeout and then drops the
// record. Records after Close, and records whose user id is not a UUID, are
// dropped too. Every drop is counted in Dropped.
func (w *RequestLogWriter) Record(r domain.RequestRecord) {
	row, err := toLogRow(r, time.Now())
	if err != nil {
		w.drop(slog.LevelError, "request log record invalid, dropped", r.UserID, err)
		return
	}

	w.mu.RLock()
	defer w.mu.RUnlock()
	select {
	case <-w.stopping:
		w.drop(slog.LevelWarn, "request log closed, record dropped", r.UserID, nil)
		return
	default:
	}
	select {
	case w.queue <- row:
		return
	default:
	}
	t := time.NewTimer(w.cfg.EnqueueTimeout)
	defer t.Stop()
	select {
	case w.queue <- row:
	case <-t.C:
		w.drop(slog.LevelError, "request log buffer full, record dropped", r.UserID, nil)
	case <-w.stopping:
		w.drop(slog.LevelWarn, "request log closed, record dropped", r.UserID, nil)
	}
}

// Dropped counts the records that will never be written: refused by Record
// (buffer full, after Close, invalid) or lost when their batch could not be
// written.
func (w *RequestLogWriter) Dropped() int64 { return w.dropped.Load() }

// drop counts one lost record and logs it, at most once a second so that a
// database outage under load does not flood the log.
func (w *RequestLogWriter) drop(level slog.Level, msg string, user domain.UserID, err error) {
	total := w.dropped.Add(1)
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if last != 0 && now-last < int64(time.Second) || !w.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	attrs := []any{"user_id", user, "dropped_total", total}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	w.log.Log(context.Background(), level, msg, attrs...)
}

// Close stops accepting records, writes every queued record and waits for
// the writer to finish. When ctx ends first it abandons what is left (counted
// in Dropped) and returns the context's error. Calling it again waits for the
// same shutdown.
func (w *RequestLogWriter) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		close(w.stopping)
		// Wait until every Record that got past the stopping check has
		// finished enqueueing (they all return promptly now).
		w.mu.Lock()
		close(w.drain)
		w.mu.Unlock()
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.cancel()
		return fmt.Errorf("close request log: %w", ctx.Err())
	}
}

// run collects queued records into batches and writes a batch when it is
// full, when FlushInterval passes, and on Close.
func (w *RequestLogWriter) run() {
	defer close(w.done)
	defer w.cancel()
	ticker := time.NewTicker(w.cfg.FlushInterval)
	defer ticker.Stop()
	batch := make([]sqlcgen.InsertRequestLogsParams, 0, w.cfg.BatchSize)
	flush := func() {
		if len(batch) > 0 {
			w.write(batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case row := <-w.queue:
			batch = append(batch, row)
			if len(batch) >= w.cfg.BatchSize {
				flush()
			}
		case <-ticker.C:
			flush()
		case <-w.drain:
			// Close guarantees nothing enters the queue any more.
			for {
				select {
				case row := <-w.queue:
					batch = append(batch, row)
					if len(batch) >= w.cfg.BatchSize {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

// write stores one batch, retrying with backoff while the database is
// failing. A batch the database refuses for its data (a user deleted
// meanwhile, a value a constraint rejects) is written row by row so that only
// the offending rows are lost.
func (w *RequestLogWriter) write(batch []sqlcgen.InsertRequestLogsParams) {
	var err error
	for attempt := 0; ; attempt++ {
		if err = w.copy(batch); err == nil {
			return
		}
		if isDataError(err) {
			w.writeEach(batch)
			return
		}
		if attempt == len(requestLogRetryDelays) || w.ctx.Err() != nil {
			break
		}
		w.log.Warn("request log write failed, retrying", "records", len(batch), "attempt", attempt+1, "error", err)
		select {
		case <-time.After(requestLogRetryDelays[attempt]):
		case <-w.ctx.Done():
		}
	}
	w.dropped.Add(int64(len(batch)))
	w.log.Error("request log batch lost", "records", len(batch), "error", err)
}

func (w *RequestLogWriter) writeEach(batch []sqlcgen.InsertRequestLogsParams) {
	lost := 0
	for i := range batch {
		if err := w.copy(batch[i : i+1]); err != nil {
			lost++
			w.log.Error("request log record lost", "user_id", batch[i].UserID, "error", err)
		}
	}
	w.dropped.Add(int64(lost))
	if lost > 0 {
		w.log.Error("request log batch partly lost", "records", len(batch), "lost", lost)
	}
}

func (w *RequestLogWriter) copy(rows []sqlcgen.InsertRequestLogsParams) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, requestLogWriteTimeout)
	defer cancel()
	if _, err := w.q.InsertRequestLogs(ctx, rows); err != nil {
		return fmt.Errorf("copy request log: %w", err)
	}
	return nil
}

// isDataError reports errors caused by the rows themselves, which retrying
// the same rows cannot fix: SQLSTATE class 22 (data exception) and 23
// (integrity constraint violation).
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23"))
}

// Records returns the user's newest records first, at most limit of them. An
// id that is not a UUID names no user and has no records.
func (w *RequestLogWriter) Records(ctx context.Context, userID domain.UserID, limit int) ([]domain.RequestRecord, error) {
	uid, ok := parseID(userID)
	if !ok || limit <= 0 {
		return []domain.RequestRecord{}, nil
	}
	rows, err := w.q.ListRequestLogsForUser(ctx, sqlcgen.ListRequestLogsForUserParams{UserID: uid, RowLimit: clampInt32(int64(limit))})
	if err != nil {
		return nil, storeErr("list request log", err)
	}
	out := make([]domain.RequestRecord, 0, len(rows))
	for _, row := range rows {
		r, err := fromLogRow(row)
		if err != nil {
			return nil, fmt.Errorf("read request log %d: %w", row.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// logAttempt is an attempt as stored in request_log.attempts.
type logAttempt struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
	KeyIndex *int   `json:"key_index,omitempty"`
}

// toLogRow maps a record to its row. now stands in for a missing CreatedAt.
func toLogRow(r domain.RequestRecord, now time.Time) (sqlcgen.InsertRequestLogsParams, error) {
	uid, ok := parseID(r.UserID)
	if !ok {
		return sqlcgen.InsertRequestLogsParams{}, errors.New("user id is not a UUID")
	}
	attempts := make([]logAttempt, 0, len(r.Attempts))
	for _, a := range r.Attempts {
		la := logAttempt{Provider: clipText(string(a.Provider)), Reason: clipText(a.Reason)}
		if a.KeyIndex != nil {
			k := max(*a.KeyIndex, 0)
			la.KeyIndex = &k
		}
		attempts = append(attempts, la)
	}
	attemptsJSON, err := json.Marshal(attempts)
	if err != nil {
		return sqlcgen.InsertRequestLogsParams{}, fmt.Errorf("encode attempts: %w", err)
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	row := sqlcgen.InsertRequestLogsParams{
		UserID:           uid,
		Tier:             clipText(string(r.Tier)),
		Provider:         optText(string(r.Provider)),
		UpstreamModel:    optText(r.UpstreamModel),
		Outcome:          clipText(r.Outcome),
		ErrorCode:        optText(r.ErrorCode),
		Attempts:         attemptsJSON,
		Stream:           r.Stream,
		LatencyMs:        durationMs(r.Latency),
		PromptTokens:     clampInt32(int64(r.Usage.PromptTokens)),
		CompletionTokens: clampInt32(int64(r.Usage.CompletionTokens)),
		CreatedAt:        created.UTC(),
	}
	if r.KeyIndex != nil {
		k := clampInt32(int64(*r.KeyIndex))
		row.KeyIndex = &k
	}
	if r.FirstToken != nil {
		ms := durationMs(*r.FirstToken)
		row.TtftMs = &ms
	}
	return row, nil
}

// fromLogRow maps a row back to a record.
func fromLogRow(row sqlcgen.RequestLog) (domain.RequestRecord, error) {
	var attempts []logAttempt
	if err := json.Unmarshal(row.Attempts, &attempts); err != nil {
		return domain.RequestRecord{}, fmt.Errorf("decode attempts: %w", err)
	}
	r := domain.RequestRecord{
		UserID:        domain.UserID(row.UserID.String()),
		Tier:          domain.Tier(row.Tier),
		Provider:      domain.Provider(deref(row.Provider)),
		UpstreamModel: deref(row.UpstreamModel),
		Outcome:       row.Outcome,
		ErrorCode:     deref(row.ErrorCode),
		Stream:        row.Stream,
		Latency:       time.Duration(row.LatencyMs) * time.Millisecond,
		Usage:         domain.Usage{PromptTokens: int(row.PromptTokens), CompletionTokens: int(row.CompletionTokens)},
		CreatedAt:     row.CreatedAt.UTC(),
	}
	if len(attempts) > 0 {
		r.Attempts = make([]domain.Attempt, len(attempts))
		for i, a := range attempts {
			r.Attempts[i] = domain.Attempt{Provider: domain.Provider(a.Provider), Reason: a.Reason, KeyIndex: a.KeyIndex}
		}
	}
	if row.KeyIndex != nil {
		k := int(*row.KeyIndex)
		r.KeyIndex = &k
	}
	if row.TtftMs != nil {
		d := time.Duration(*row.TtftMs) * time.Millisecond
		r.FirstToken = &d
	}
	return r, nil
}

// clipText makes s storable and bounded: valid UTF-8 without NUL bytes
// (PostgreSQL text refuses both, which would fail the whole COPY) and at most
// maxLogText runes.
func clipText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	n := 0
	for i := range s {
		if n == maxLogText {
			return s[:i]
		}
		n++
	}
	return s
}

// optText is nil for "" (the column is NULL), else the clipped text.
func optText(s string) *string {
	if s == "" {
		return nil
	}
	s = clipText(s)
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// durationMs is d in whole milliseconds, clamped to the column's range.
func durationMs(d time.Duration) int32 { return clampInt32(d.Milliseconds()) }

// clampInt32 fits n into a non-negative integer column.
func clampInt32(n int64) int32 { return int32(min(max(n, 0), math.MaxInt32)) }
