package tracing

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/genzai/genzai/adapters/internal/sqlname"
)

// QueryTracer is a pgx tracer that gives each PostgreSQL statement run
// inside a traced request a child span named after its query (the sqlc
// name; see sqlname.Of). Statements outside any trace (the request log's
// background writes, migrations) start no span: they would be traces of
// their own, one per statement. The SQL text and arguments are never
// recorded.
func QueryTracer(tp trace.TracerProvider) pgx.QueryTracer {
	return &queryTracer{tracer: tp.Tracer(instrumentation + "/postgres")}
}

type queryTracer struct{ tracer trace.Tracer }

var (
	_ pgx.QueryTracer    = (*queryTracer)(nil)
	_ pgx.CopyFromTracer = (*queryTracer)(nil)
	_ pgx.BatchTracer    = (*queryTracer)(nil)
)

func (t *queryTracer) start(ctx context.Context, name string) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	ctx, _ = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, semconv.DBQuerySummary(name)))
	return ctx
}

// end ends the statement's span. start began one exactly when the context
// had a valid span context, so the context's span is the statement's own.
func (t *queryTracer) end(ctx context.Context, err error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	span := trace.SpanFromContext(ctx)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		span.SetStatus(codes.Error, "statement failed")
	}
	span.End()
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, sqlname.Of(data.SQL))
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	t.end(ctx, data.Err)
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (t *queryTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return t.start(ctx, "copy_from "+strings.Join(data.TableName, "."))
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (t *queryTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.end(ctx, data.Err)
}

// TraceBatchStart implements pgx.BatchTracer: each statement of a batch
// gets its own span (TraceBatchQuery).
func (t *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer: a statement of a batch gets
// a span named after its query, from when its result was asked for to
// when it was read.
func (t *queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	name := sqlname.Of(data.SQL)
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(data.ReadStartTime),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, semconv.DBQuerySummary(name)))
	if data.Err != nil {
		span.SetStatus(codes.Error, "statement failed")
	}
	span.End()
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
