package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/genzai/genzai/api"
)

// Metrics is what the HTTP layer reports and how it serves GET /metrics;
// adapters/metrics implements it. Label values it is given are bounded:
// route templates (or UnmatchedRoute), standard methods (or "OTHER").
type Metrics interface {
	// ServeHTTP writes the scrape.
	http.Handler
	// ObserveRequest records a finished request.
	ObserveRequest(method, route string, status int, elapsed time.Duration)
	// RateLimited counts a request refused by the per-IP limits; scope is
	// "ip", "auth" or "metrics" (wrong metrics tokens).
	RateLimited(scope string)
	// StreamOpened and StreamClosed bracket every chat answer streamed.
	StreamOpened()
	StreamClosed()
}

// UnmatchedRoute is the route of requests that match no route (404s): a
// fixed value, never the path, so that scanners cannot grow label sets.
const UnmatchedRoute = "unmatched"

// otherMethod stands for any non-standard method.
const otherMethod = "OTHER"

// methodLabel bounds a request method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return otherMethod
}

// routeLabel is the route template Echo matched, or UnmatchedRoute when it
// matched none of the registered routes.
func (s *Server) routeLabel(c echo.Context) string {
	if p := c.Path(); s.routes[p] {
		return p
	}
	return UnmatchedRoute
}

// traceRequests starts a server span per request, named after the method
// and the route template, continuing the caller's trace when it sends a
// W3C traceparent. It runs outside the access log, so that the log line
// carries the trace id, and ends the span once the error handler has
// written the status.
func (s *Server) traceRequests(tp trace.TracerProvider) echo.MiddlewareFunc {
	tracer := tp.Tracer("github.com/genzai/genzai/adapters/httpapi")
	prop := propagation.TraceContext{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			method, route := methodLabel(req.Method), s.routeLabel(c)
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(route)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

// scrapeRequestKey holds the request of GET /metrics in its context.
type scrapeRequestKey struct{}

// withWebRequest is a strict middleware that hands GET / its request: the
// web app's page is gzipped when Accept-Encoding allows it.
func withWebRequest(f api.StrictHandlerFunc, operationID string) api.StrictHandlerFunc {
	if operationID != "GetRoot" {
		return f
	}
	return func(c echo.Context, request any) (any, error) {
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), webRequestKey{}, req)))
		return f(c, request)
	}
}

// withScrapeRequest is a strict middleware that hands GET /metrics its
// request: the scrape negotiates its format and compression from the
// headers, and the token check reads Authorization. Other operations pass
// through untouched.
func withScrapeRequest(f api.StrictHandlerFunc, operationID string) api.StrictHandlerFunc {
	if operationID != "GetMetrics" {
		return f
	}
	return func(c echo.Context, request any) (any, error) {
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), scrapeRequestKey{}, req)))
		return f(c, request)
	}
}
