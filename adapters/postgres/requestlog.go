package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/genzai/genzai/adapters/internal/batchlog"
	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.RequestLog        = (*RequestLogWriter)(nil)
	_ ports.RequestLogFlusher = (*RequestLogWriter)(nil)
)

// RequestLogConfig tunes the request log writer; zero fields take the
// defaults: batches of up to 200 rows (one COPY each), written at least
// every 500ms, up to 10000 queued records, and Record waiting up to 1s for
// room in a full queue.
type RequestLogConfig = batchlog.Config

// RequestLogWriter is the PostgreSQL request log. Record queues a record in
// memory; a background goroutine writes queued records in batches with COPY.
// Flush writes what is queued now; Close flushes what is queued and stops.
// It is safe for concurrent use.
type RequestLogWriter struct {
	// The batching writer: Record (ports.RequestLog), Flush
	// (ports.RequestLogFlusher), Dropped and Close.
	*batchlog.Writer[sqlcgen.InsertRequestLogsParams]
	q *sqlcgen.Queries
}

// NewRequestLogWriter starts a request log writer on the pool. Call Close to
// flush it before closing the pool.
func (db *DB) NewRequestLogWriter(logger *slog.Logger, cfg RequestLogConfig) *RequestLogWriter {
	q := db.q
	return &RequestLogWriter{
		q: q,
		Writer: batchlog.New(logger, cfg, batchlog.Store[sqlcgen.InsertRequestLogsParams]{
			Row: toLogRow,
			Write: func(ctx context.Context, rows []sqlcgen.InsertRequestLogsParams) error {
				if _, err := q.InsertRequestLogs(ctx, rows); err != nil {
					return fmt.Errorf("copy request log: %w", err)
				}
				return nil
			},
			// A batch refused row by row (a record queued before its
			// account was deleted fails the foreign key in COPY) goes in
			// with INSERT, which stores such a row with no user.
			WriteOne: func(ctx context.Context, row sqlcgen.InsertRequestLogsParams) error {
				if err := q.InsertRequestLog(ctx, sqlcgen.InsertRequestLogParams(row)); err != nil {
					return fmt.Errorf("insert request log: %w", err)
				}
				return nil
			},
			IsDataError: isDataError,
			User:        func(r sqlcgen.InsertRequestLogsParams) string { return r.UserID.String() },
		}),
	}
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
	rows, err := w.q.ListRequestLogsForUser(ctx, sqlcgen.ListRequestLogsForUserParams{UserID: pgtype.UUID{Bytes: uid, Valid: true}, RowLimit: sqlval.ClampInt32(int64(limit))})
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
func toLogRow(r domain.RequestRecord, now time.Time) (sqlcgen.InsertRequestLogsParams, error) {
	uid, ok := parseID(r.UserID)
	if !ok {
		return sqlcgen.InsertRequestLogsParams{}, errors.New("user id is not a UUID")
	}
	api, err := sqlval.API(r.API)
	if err != nil {
		return sqlcgen.InsertRequestLogsParams{}, err
	}
	cache, err := sqlval.Cache(r.Cache)
	if err != nil {
		return sqlcgen.InsertRequestLogsParams{}, err
	}
	kind, err := sqlval.Kind(r.Kind)
	if err != nil {
		return sqlcgen.InsertRequestLogsParams{}, err
	}
	attempts, err := sqlval.EncodeAttempts(r.Attempts)
	if err != nil {
		return sqlcgen.InsertRequestLogsParams{}, err
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	row := sqlcgen.InsertRequestLogsParams{
		RequestID:        sqlval.OptText(r.RequestID),
		Api:              api,
		UserID:           pgtype.UUID{Bytes: uid, Valid: true},
		Tier:             sqlval.ClipText(string(r.Tier)),
		Provider:         sqlval.OptText(string(r.Provider)),
		UpstreamModel:    sqlval.OptText(r.UpstreamModel),
		Outcome:          sqlval.ClipText(string(r.Outcome)),
		ErrorCode:        sqlval.OptText(string(r.ErrorCode)),
		Attempts:         attempts,
		Stream:           r.Stream,
		LatencyMs:        sqlval.DurationMs(r.Latency),
		PromptTokens:     sqlval.ClampInt32(int64(r.Usage.PromptTokens)),
		CompletionTokens: sqlval.ClampInt32(int64(r.Usage.CompletionTokens)),
		Cache:            cache,
		Kind:             kind,
		CreatedAt:        created.UTC(),
	}
	if r.KeyIndex != nil {
		k := sqlval.ClampInt32(int64(*r.KeyIndex))
		row.KeyIndex = &k
	}
	if r.FirstToken != nil {
		ms := sqlval.DurationMs(*r.FirstToken)
		row.TtftMs = &ms
	}
	return row, nil
}

// fromLogRow maps a row back to a record.
func fromLogRow(row sqlcgen.RequestLog) (domain.RequestRecord, error) {
	attempts, err := sqlval.DecodeAttempts(row.Attempts)
	if err != nil {
		return domain.RequestRecord{}, err
	}
	r := domain.RequestRecord{
		RequestID:     sqlval.Deref(row.RequestID),
		API:           row.Api,
		UserID:        domain.UserID(row.UserID.String()), // empty: the account was deleted
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
		CreatedAt:     row.CreatedAt.UTC(),
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
