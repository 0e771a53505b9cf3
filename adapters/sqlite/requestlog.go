package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/genzai/genzai/adapters/internal/batchlog"
	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.RequestLog        = (*RequestLogWriter)(nil)
	_ ports.RequestLogFlusher = (*RequestLogWriter)(nil)
)

// RequestLogConfig tunes the request log writer; zero fields take the
// defaults: batches of up to 200 rows (one transaction each), written at
// least every 500ms, up to 10000 queued records, and Record waiting up to 1s
// for room in a full queue.
type RequestLogConfig = batchlog.Config

// RequestLogWriter is the SQLite request log. Record queues a record in
// memory; a background goroutine writes queued records in batches, one
// transaction per batch. Flush writes what is queued now; Close flushes what
// is queued and stops. It is safe for concurrent use.
type RequestLogWriter struct {
	// The batching writer: Record (ports.RequestLog), Flush
	// (ports.RequestLogFlusher), Dropped and Close.
	*batchlog.Writer[sqlcgen.InsertRequestLogParams]
	db *DB
}

// NewRequestLogWriter starts a request log writer on the database. Call
// Close to flush it before closing the database.
func (db *DB) NewRequestLogWriter(logger *slog.Logger, cfg RequestLogConfig) *RequestLogWriter {
	return &RequestLogWriter{
		db: db,
		Writer: batchlog.New(logger, cfg, batchlog.Store[sqlcgen.InsertRequestLogParams]{
			Row:         toLogRow,
			Write:       db.insertRequestLogs,
			IsDataError: isDataError,
			User:        func(r sqlcgen.InsertRequestLogParams) string { return sqlval.Deref(r.UserID) },
		}),
	}
}

// insertRequestLogs writes rows in one transaction: all or none.
func (db *DB) insertRequestLogs(ctx context.Context, rows []sqlcgen.InsertRequestLogParams) error {
	err := db.inTx(ctx, func(q *sqlcgen.Queries) error {
		for _, r := range rows {
			if err := q.InsertRequestLog(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert request log: %w", err)
	}
	return nil
}

// Records returns the user's newest records first, at most limit of them. An
// id that is not a UUID names no user and has no records.
func (w *RequestLogWriter) Records(ctx context.Context, userID domain.UserID, limit int) ([]domain.RequestRecord, error) {
	uid, ok := parseID(userID)
	if !ok || limit <= 0 {
		return []domain.RequestRecord{}, nil
	}
	rows, err := w.db.q.ListRequestLogsForUser(ctx, sqlcgen.ListRequestLogsForUserParams{
		UserID:   &uid,
		RowLimit: int64(sqlval.ClampInt32(int64(limit))),
	})
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

// toLogRow maps a record to its row. now stands in for a missing CreatedAt.
func toLogRow(r domain.RequestRecord, now time.Time) (sqlcgen.InsertRequestLogParams, error) {
	uid, ok := parseID(r.UserID)
	if !ok {
		return sqlcgen.InsertRequestLogParams{}, errors.New("user id is not a UUID")
	}
	api, err := sqlval.API(r.API)
	if err != nil {
		return sqlcgen.InsertRequestLogParams{}, err
	}
	cache, err := sqlval.Cache(r.Cache)
	if err != nil {
		return sqlcgen.InsertRequestLogParams{}, err
	}
	kind, err := sqlval.Kind(r.Kind)
	if err != nil {
		return sqlcgen.InsertRequestLogParams{}, err
	}
	attempts, err := sqlval.EncodeAttempts(r.Attempts)
	if err != nil {
		return sqlcgen.InsertRequestLogParams{}, err
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	row := sqlcgen.InsertRequestLogParams{
		RequestID:        sqlval.OptText(r.RequestID),
		Api:              api,
		UserID:           &uid,
		Tier:             sqlval.ClipText(string(r.Tier)),
		Provider:         sqlval.OptText(string(r.Provider)),
		UpstreamModel:    sqlval.OptText(r.UpstreamModel),
		Outcome:          sqlval.ClipText(string(r.Outcome)),
		ErrorCode:        sqlval.OptText(string(r.ErrorCode)),
		Attempts:         string(attempts),
		Stream:           r.Stream,
		LatencyMs:        int64(sqlval.DurationMs(r.Latency)),
		PromptTokens:     int64(sqlval.ClampInt32(int64(r.Usage.PromptTokens))),
		CompletionTokens: int64(sqlval.ClampInt32(int64(r.Usage.CompletionTokens))),
		Cache:            cache,
		Kind:             kind,
		CreatedAt:        micros(created),
	}
	if r.KeyIndex != nil {
		k := int64(sqlval.ClampInt32(int64(*r.KeyIndex)))
		row.KeyIndex = &k
	}
	if r.FirstToken != nil {
		ms := int64(sqlval.DurationMs(*r.FirstToken))
		row.TtftMs = &ms
	}
	return row, nil
}

// fromLogRow maps a row back to a record.
func fromLogRow(row sqlcgen.RequestLog) (domain.RequestRecord, error) {
	attempts, err := sqlval.DecodeAttempts([]byte(row.Attempts))
	if err != nil {
		return domain.RequestRecord{}, err
	}
	r := domain.RequestRecord{
		RequestID:     sqlval.Deref(row.RequestID),
		API:           row.Api,
		UserID:        domain.UserID(sqlval.Deref(row.UserID)), // empty: the account was deleted
		Tier:          domain.Tier(row.Tier),
		Provider:      domain.Provider(sqlval.Deref(row.Provider)),
		UpstreamModel: sqlval.Deref(row.UpstreamModel),
		Outcome:       domain.Outcome(row.Outcome),
		ErrorCode:     domain.Code(sqlval.Deref(row.ErrorCode)),
		Attempts:      attempts,
		Stream:        row.Stream,
		Latency:       time.Duration(row.LatencyMs) * time.Millisecond,
		Usage:         domain.Usage{PromptTokens: int(row.PromptTokens), CompletionTokens: int(row.CompletionTokens)},
		Cache:         domain.CacheStatus(sqlval.Deref(row.Cache)),
		Kind:          domain.RequestKind(row.Kind),
		CreatedAt:     fromMicros(row.CreatedAt),
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
