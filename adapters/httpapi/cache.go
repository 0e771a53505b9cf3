package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// cacheHeader says how a chat request met the response cache: hit, miss
// or bypass, on every answer of the chat routes, errors included.
const cacheHeader = "X-Genzai-Cache"

// cacheHeaderValue is the header's value for a status; "" (the cache is
// off, or the request ended before the look-up) is a bypass.
func cacheHeaderValue(st domain.CacheStatus) string {
	if st == "" {
		return string(domain.CacheBypass)
	}
	return string(st)
}

// cacheHeaderKey keys the chat answer's response headers in its context,
// so that an error answer can say how the request met the cache.
type cacheHeaderKey struct{}

// withCacheHeader answers every request of the chat routes with
// X-Genzai-Cache: bypass until the chat says otherwise, so that refusals
// before the chat use case ran (authentication, rate limits, bad bodies)
// carry it too.
func withCacheHeader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !streamingRoutes[c.Path()] {
			return next(c)
		}
		h := c.Response().Header()
		h.Set(cacheHeader, string(domain.CacheBypass))
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), cacheHeaderKey{}, h)))
		return next(c)
	}
}

// setCacheStatus sets the header of the chat answer whose context is ctx,
// before an error answer is written.
func setCacheStatus(ctx context.Context, st domain.CacheStatus) {
	if h, ok := ctx.Value(cacheHeaderKey{}).(http.Header); ok {
		h.Set(cacheHeader, cacheHeaderValue(st))
	}
}

// cacheMode reads a request's Cache-Control header: no-store leaves the
// cache alone, no-cache asks the providers and stores the fresh answer.
// Directives are comma-separated and case-insensitive; others (max-age,
// unknown ones) are ignored.
func cacheMode(cacheControl *string) chat.CacheMode {
	if cacheControl == nil {
		return chat.CacheUse
	}
	mode := chat.CacheUse
	for d := range strings.SplitSeq(*cacheControl, ",") {
		name, _, _ := strings.Cut(d, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store":
			return chat.CacheSkip
		case "no-cache":
			mode = chat.CacheRefresh
		}
	}
	return mode
}
