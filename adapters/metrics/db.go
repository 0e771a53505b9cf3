package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlname"
)

// QueryTracer times PostgreSQL statements by query name (the sqlc name;
// see sqlname.Of) into genzai_db_query_duration_seconds. Set it as the
// pool's tracer (postgres.PoolConfig.Tracer).
func (m *Metrics) QueryTracer() pgx.QueryTracer { return &queryTracer{m: m} }

type queryTracer struct{ m *Metrics }

var (
	_ pgx.QueryTracer    = (*queryTracer)(nil)
	_ pgx.CopyFromTracer = (*queryTracer)(nil)
	_ pgx.BatchTracer    = (*queryTracer)(nil)
)

// queryStartKey finds a statement's start in its context.
type queryStartKey struct{}

// queryStart is the context of a running statement: one allocation carries
// both the start and the name to the end of the statement.
type queryStart struct {
	context.Context
	start time.Time
	name  string
}

// Value implements context.Context.
func (q *queryStart) Value(key any) any {
	if key == (queryStartKey{}) {
		return q
	}
	return q.Context.Value(key)
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return &queryStart{Context: ctx, start: time.Now(), name: sqlname.Of(data.SQL)}
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	t.end(ctx)
}

// TraceCopyFromStart implements pgx.CopyFromTracer: a COPY is named
// "copy_from <table>" (the request log writes its batches so).
func (t *queryTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return &queryStart{Context: ctx, start: time.Now(), name: "copy_from " + strings.Join(data.TableName, ".")}
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (t *queryTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	t.end(ctx)
}

func (t *queryTracer) end(ctx context.Context) {
	if q, ok := ctx.Value(queryStartKey{}).(*queryStart); ok {
		t.m.queryChildren.get(q.name).Observe(time.Since(q.start).Seconds())
	}
}

// TraceBatchStart implements pgx.BatchTracer: the statements of a batch
// are timed one by one (TraceBatchQuery).
func (t *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer: a statement of a batch is
// timed by its name from when its result was asked for.
func (t *queryTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	t.m.queryChildren.get(sqlname.Of(data.SQL)).Observe(time.Since(data.ReadStartTime).Seconds())
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
