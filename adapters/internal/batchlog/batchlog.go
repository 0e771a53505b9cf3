// Package batchlog is the machinery behind the SQL adapters' request logs:
// records are queued in memory without blocking the request path and written
// in batches by one background goroutine, with retries while the database is
// failing, a row-by-row fallback for batches refused for their data, and a
// count of every record lost on the way. The adapters supply how a record
// becomes a row and how a batch of rows is written.
package batchlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Config tunes a writer; zero fields take the defaults.
type Config struct {
	// BatchSize is the most rows one write stores (default 200).
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

func (c Config) withDefaults() Config {
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

// Store is what a writer needs from its adapter.
type Store[T any] struct {
	// Row maps a record to its row; now stands in for a missing CreatedAt.
	// An error means the record can never be stored (it is dropped).
	Row func(r domain.RequestRecord, now time.Time) (T, error)
	// Write stores rows all or nothing.
	Write func(ctx context.Context, rows []T) error
	// WriteOne, when set, stores one row in writeEach instead of Write: a
	// slower insert that tolerates what the batch path refuses (a user
	// deleted since the record was queued is stored as no user).
	WriteOne func(ctx context.Context, row T) error
	// IsDataError reports errors caused by the rows themselves, which
	// retrying the same rows cannot fix; the batch is then written row by
	// row so that only the offending rows are lost.
	IsDataError func(error) bool
	// User names a row's user in log lines.
	User func(row T) string
}

// How a failed batch is retried: one attempt, then one more after each delay.
var retryDelays = []time.Duration{200 * time.Millisecond, 800 * time.Millisecond, 2 * time.Second}

// writeTimeout bounds one write attempt.
const writeTimeout = 10 * time.Second

var (
	_ ports.RequestLog        = (*Writer[struct{}])(nil)
	_ ports.RequestLogFlusher = (*Writer[struct{}])(nil)
)

// Writer is a request log. Record queues a record in memory; a background
// goroutine writes queued records in batches. Flush writes what is queued
// now; Close flushes what is queued and stops. It is safe for concurrent use.
type Writer[T any] struct {
	store Store[T]
	log   *slog.Logger
	cfg   Config

	queue chan entry[T]
	// pending counts, per request id, the records queued or being written:
	// Queued answers from it without touching the database.
	pendingMu sync.Mutex
	pending   map[string]int
	// flushes carries Flush requests to the writer goroutine, which closes
	// each channel once it has written what was queued when it took it.
	flushes chan chan struct{}

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

// entry is a queued row with the request id of its record.
type entry[T any] struct {
	row T
	id  string
}

// New starts a writer on store. Call Close to flush it before closing the
// database. A nil logger discards the writer's log lines.
func New[T any](logger *slog.Logger, cfg Config, store Store[T]) *Writer[T] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer[T]{
		store:    store,
		log:      logger,
		cfg:      cfg,
		queue:    make(chan entry[T], cfg.Buffer),
		pending:  map[string]int{},
		flushes:  make(chan chan struct{}),
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
// record. Records after Close, and records Store.Row refuses, are dropped
// too. Every drop is counted in Dropped.
func (w *Writer[T]) Record(r domain.RequestRecord) {
	row, err := w.store.Row(r, time.Now())
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
	// Counted before it enters the queue, so that the writer, which may
	// take it at once, never releases an id not yet counted.
	e := entry[T]{row: row, id: r.RequestID}
	w.hold(e.id, 1)
	select {
	case w.queue <- e:
		return
	default:
	}
	t := time.NewTimer(w.cfg.EnqueueTimeout)
	defer t.Stop()
	select {
	case w.queue <- e:
		return
	case <-t.C:
		w.drop(slog.LevelError, "request log buffer full, record dropped", r.UserID, nil)
	case <-w.stopping:
		w.drop(slog.LevelWarn, "request log closed, record dropped", r.UserID, nil)
	}
	w.hold(e.id, -1)
}

// hold adds n to the records of id queued or being written.
func (w *Writer[T]) hold(id string, n int) {
	if id == "" {
		return
	}
	w.pendingMu.Lock()
	defer w.pendingMu.Unlock()
	if w.pending[id] += n; w.pending[id] <= 0 {
		delete(w.pending, id)
	}
}

// Queued implements ports.RequestLogFlusher: it reports whether a record of
// requestID is queued or being written, that is, whether Flush would make
// it readable.
func (w *Writer[T]) Queued(requestID string) bool {
	w.pendingMu.Lock()
	defer w.pendingMu.Unlock()
	return w.pending[requestID] > 0
}

// Dropped counts the records that will never be written: refused by Record
// (buffer full, after Close, invalid) or lost when their batch could not be
// written.
func (w *Writer[T]) Dropped() int64 { return w.dropped.Load() }

// drop counts one lost record and logs it, at most once a second so that a
// database outage under load does not flood the log.
func (w *Writer[T]) drop(level slog.Level, msg string, user domain.UserID, err error) {
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
func (w *Writer[T]) Close(ctx context.Context) error {
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

// Flush implements ports.RequestLogFlusher: it returns once every record
// queued before the call has been written, or lost and counted in Dropped
// (a write that fails is retried as in the background first). After Close
// it returns once Close has drained the queue. When ctx ends first it
// returns the context's error; the records are still written later.
func (w *Writer[T]) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case w.flushes <- done:
	case <-w.done:
		// Close drained the queue, which held everything queued before.
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush request log: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush request log: %w", ctx.Err())
	}
}

// run collects queued records into batches and writes a batch when it is
// full, when FlushInterval passes, on Flush and on Close.
func (w *Writer[T]) run() {
	defer close(w.done)
	defer w.cancel()
	ticker := time.NewTicker(w.cfg.FlushInterval)
	defer ticker.Stop()
	batch := make([]T, 0, w.cfg.BatchSize)
	ids := make([]string, 0, w.cfg.BatchSize)
	flush := func() {
		if len(batch) > 0 {
			w.write(batch)
			// The rows were copied into the database; clear them so that
			// the reused array does not keep their strings alive.
			clear(batch)
			batch = batch[:0]
			for _, id := range ids {
				w.hold(id, -1)
			}
			ids = ids[:0]
		}
	}
	add := func(e entry[T]) {
		batch = append(batch, e.row)
		ids = append(ids, e.id)
		if len(batch) >= w.cfg.BatchSize {
			flush()
		}
	}
	for {
		select {
		case e := <-w.queue:
			add(e)
		case <-ticker.C:
			flush()
		case done := <-w.flushes:
			// Everything queued before the Flush call is in the batch or
			// among the first len(queue) records of the queue (only this
			// goroutine takes from it). Taking no more than those keeps a
			// steady stream of new records from holding the caller.
			for n := len(w.queue); n > 0; n-- {
				add(<-w.queue)
			}
			flush()
			close(done)
		case <-w.drain:
			// Close guarantees nothing enters the queue any more.
			for {
				select {
				case e := <-w.queue:
					add(e)
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
func (w *Writer[T]) write(batch []T) {
	var err error
	for attempt := 0; ; attempt++ {
		if err = w.writeRows(batch); err == nil {
			return
		}
		if w.store.IsDataError(err) {
			w.writeEach(batch)
			return
		}
		if attempt == len(retryDelays) || w.ctx.Err() != nil {
			break
		}
		w.log.Warn("request log write failed, retrying", "records", len(batch), "attempt", attempt+1, "error", err)
		select {
		case <-time.After(retryDelays[attempt]):
		case <-w.ctx.Done():
		}
	}
	w.dropped.Add(int64(len(batch)))
	w.log.Error("request log batch lost", "records", len(batch), "error", err)
}

func (w *Writer[T]) writeEach(batch []T) {
	lost := 0
	for i := range batch {
		if err := w.writeOne(batch[i]); err != nil {
			lost++
			w.log.Error("request log record lost", "user_id", w.store.User(batch[i]), "error", err)
		}
	}
	w.dropped.Add(int64(lost))
	if lost > 0 {
		w.log.Error("request log batch partly lost", "records", len(batch), "lost", lost)
	}
}

func (w *Writer[T]) writeOne(row T) error {
	if w.store.WriteOne == nil {
		return w.writeRows([]T{row})
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, writeTimeout)
	defer cancel()
	return w.store.WriteOne(ctx, row)
}

func (w *Writer[T]) writeRows(rows []T) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, writeTimeout)
	defer cancel()
	return w.store.Write(ctx, rows)
}
