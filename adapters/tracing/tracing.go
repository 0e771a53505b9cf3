// Package tracing sets up OpenTelemetry tracing, exported over OTLP/HTTP,
// and provides the pieces that trace the gateway without the use cases
// knowing: decorators of the ChatProvider and Searcher ports, a pgx query
// tracer and a slog handler that stamps log lines with the trace id.
//
// Spans never carry keys, prompts, answers or search queries: a provider
// attempt is described by provider, model, key index and failure class, a
// statement by its query name.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// instrumentation names the tracers of this module.
const instrumentation = "github.com/genzai/genzai"

// DefaultServiceName is the service.name of the gateway's spans.
const DefaultServiceName = "genzai"

// Config says where and how spans are exported.
type Config struct {
	// Endpoint is the full OTLP/HTTP traces URL (https://collector:4318/v1/traces);
	// "" turns tracing off.
	Endpoint string
	// Headers are sent with every export (authentication, tenancy).
	Headers map[string]string
	// ServiceName and ServiceVersion describe the gateway.
	ServiceName    string
	ServiceVersion string
	// Sampler is an OTEL_TRACES_SAMPLER name ("" = parentbased_always_on)
	// and SamplerArg its ratio for the traceidratio samplers.
	Sampler    string
	SamplerArg float64
}

// Tracing is the tracer provider of one App: the OpenTelemetry SDK
// exporting in batches, or a no-op provider when tracing is off.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider
}

// New builds the tracer provider. Other standard variables (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION,
// OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_BSP_*) are read by the SDK from the
// process environment. Nothing is sent until the first span ends.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return &Tracing{provider: noop.NewTracerProvider()}, nil
	}
	sampler, err := NewSampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint), otlptracehttp.WithHeaders(cfg.Headers))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []resource.Option{resource.WithSchemaURL(semconv.SchemaURL), resource.WithAttributes(semconv.ServiceName(name))}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(cfg.ServiceVersion)))
	}
	// The process environment (OTEL_RESOURCE_ATTRIBUTES) comes last and wins.
	res, err := resource.New(ctx, append(attrs, resource.WithTelemetrySDK(), resource.WithFromEnv())...)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	return &Tracing{provider: tp, sdk: tp}, nil
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// TracerProvider is the provider to start spans with (a no-op one when off).
func (t *Tracing) TracerProvider() trace.TracerProvider { return t.provider }

// Shutdown exports the spans still queued and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// Samplers are the OTEL_TRACES_SAMPLER values New accepts.
var Samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// NewSampler builds a sampler from its OTEL_TRACES_SAMPLER name ("" is
// parentbased_always_on, the SDK's default); arg is the ratio (0 to 1) of
// the traceidratio samplers.
func NewSampler(name string, arg float64) (sdktrace.Sampler, error) {
	if arg < 0 || arg > 1 {
		return nil, fmt.Errorf("sampler ratio %v is not from 0 to 1", arg)
	}
	switch strings.ToLower(name) {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(arg), nil
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(arg)), nil
	}
	return nil, fmt.Errorf("sampler %q is not one of %s", name, strings.Join(Samplers, ", "))
}

// ParseHeaders reads OTEL_EXPORTER_OTLP_HEADERS: comma-separated key=value
// pairs with URL-encoded values. Errors never quote the values (they are
// often credentials).
func ParseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, fmt.Errorf("entry %d is not key=value", i+1)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil || strings.ContainsAny(val, "\r\n") {
			return nil, fmt.Errorf("the value of %s is not URL-encoded text", strconv.Quote(k))
		}
		out[k] = val
	}
	return out, nil
}
