package app

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/genzai/genzai/adapters/httpapi"
	"github.com/genzai/genzai/adapters/metrics"
	"github.com/genzai/genzai/adapters/tracing"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

var _ httpapi.Metrics = (*metrics.Metrics)(nil)

// observability is one App's metrics registry and tracer provider, and the
// decorators that feed them; the use cases know nothing of either.
type observability struct {
	metrics *metrics.Metrics
	tracing *tracing.Tracing
}

// newObservability builds the metrics registry and, when an OTLP endpoint
// is configured, the tracer provider; with tracing on, the returned logger
// stamps lines logged inside a span with its trace and span ids.
func newObservability(ctx context.Context, cfg Config, logger *slog.Logger) (*observability, *slog.Logger, error) {
	headers, err := tracing.ParseHeaders(cfg.Tracing.Headers.Reveal())
	if err != nil {
		return nil, nil, fmt.Errorf("otlp headers: %w", err)
	}
	tr, err := tracing.New(ctx, tracing.Config{
		Endpoint:       cfg.Tracing.Endpoint,
		Headers:        headers,
		ServiceName:    cfg.Tracing.ServiceName,
		ServiceVersion: cfg.Version,
		Sampler:        cfg.Tracing.Sampler,
		SamplerArg:     cfg.Tracing.SamplerArg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	if tr.Enabled() {
		logger = slog.New(tracing.NewLogHandler(logger.Handler()))
		logger.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", RedactURL(cfg.Tracing.Endpoint),
			"service", cfg.Tracing.ServiceName, "sampler", cfg.Tracing.Sampler)
	}
	if cfg.LogPrompts {
		logger.Warn("LOG_PROMPTS is on: chat prompts and answers are written to the logs")
	}
	return &observability{metrics: metrics.New(logger), tracing: tr}, logger, nil
}

// tracerProvider is the provider for spans; nil when tracing is off, so
// that nothing is traced at all (not even no-op spans).
func (o *observability) tracerProvider() trace.TracerProvider {
	if !o.tracing.Enabled() {
		return nil
	}
	return o.tracing.TracerProvider()
}

// queryTracer observes PostgreSQL statements: their duration, and spans
// when tracing is on.
func (o *observability) queryTracer() pgx.QueryTracer {
	if tp := o.tracerProvider(); tp != nil {
		return multitracer.New(o.metrics.QueryTracer(), tracing.QueryTracer(tp))
	}
	return o.metrics.QueryTracer()
}

// watchDatabase reports the connection pool's statistics at each scrape.
func (o *observability) watchDatabase(db *Database) {
	switch s := db.store.(type) {
	case interface{ Stat() *pgxpool.Stat }: // PostgreSQL
		o.mustRegister(metrics.NewPgxPoolCollector(s.Stat))
	case interface{ Stats() sql.DBStats }: // SQLite
		o.mustRegister(metrics.NewSQLPoolCollector(s.Stats))
	}
}

// watchAccounts reports the account cache's hits and misses at each scrape.
func (o *observability) watchAccounts(c metrics.AccountCache) {
	o.mustRegister(metrics.NewAccountCacheCollector(c))
}

// watchResponseCache reports the in-process response cache's entries and
// bytes at each scrape. Call it only when the chat path uses the memory
// store (CACHE_ENABLED without REDIS_URL); the Redis store has no such
// figures here.
func (o *observability) watchResponseCache(c metrics.ResponseCacheStats) {
	o.mustRegister(metrics.NewResponseCacheCollector(c))
}

// watchRouter reports the providers' breakers and cooling keys at each scrape.
func (o *observability) watchRouter(r *routing.Router) {
	o.mustRegister(metrics.NewBreakerCollector(r))
}

// mustRegister adds a collector to this App's fresh registry; a conflict
// there is a programming error.
func (o *observability) mustRegister(c prometheus.Collector) {
	if err := o.metrics.Register(c); err != nil {
		panic(fmt.Sprintf("register metrics collector: %v", err))
	}
}

// providers decorates every provider client, and its image generation,
// transcription and speech when it has them: timed and counted, and traced
// when tracing is on.
func (o *observability) providers(cfg []routing.ProviderConfig) {
	tp := o.tracerProvider()
	for i := range cfg {
		c := cfg[i].Client
		if tp != nil {
			c = tracing.Provider(tp, c)
		}
		cfg[i].Client = o.metrics.Provider(c)
		if g := cfg[i].Images; g != nil {
			if tp != nil {
				g = tracing.ImageGenerator(tp, g)
			}
			cfg[i].Images = o.metrics.ImageGenerator(g)
		}
		if t := cfg[i].Transcriber; t != nil {
			if tp != nil {
				t = tracing.Transcriber(tp, t)
			}
			cfg[i].Transcriber = o.metrics.Transcriber(t)
		}
		if sp := cfg[i].Speech; sp != nil {
			if tp != nil {
				sp = tracing.SpeechSynthesizer(tp, sp)
			}
			cfg[i].Speech = o.metrics.SpeechSynthesizer(sp)
		}
	}
}

// searcher traces web searches when tracing is on.
func (o *observability) searcher(s ports.Searcher, engine string) ports.Searcher {
	if tp := o.tracerProvider(); tp != nil {
		return tracing.Searcher(tp, s, engine)
	}
	return s
}

// requestLog counts every finished chat request on its way to the log.
func (o *observability) requestLog(l ports.RequestLog) ports.RequestLog {
	return o.metrics.RequestLog(l)
}

// close exports the spans still queued.
func (o *observability) close(ctx context.Context, logger *slog.Logger) {
	if err := o.tracing.Shutdown(ctx); err != nil {
		logger.Warn("flush traces", "error", err)
	}
}
