package httpapi

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// EdgeConfig configures the request path in front of the handlers.
type EdgeConfig struct {
	// Production turns on Strict-Transport-Security.
	Production bool
	// AllowedHosts are the Host header values served ("*" = any; "*.x.com"
	// matches subdomains). /health, /ready and /metrics answer any host,
	// because orchestrators probe and Prometheus scrapes pods by IP.
	AllowedHosts []string
	// AllowedOrigins may call the API from browsers ("*" = any, then
	// without credentials).
	AllowedOrigins []string
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	// RequestTimeout bounds every handler except the chat endpoint, which
	// applies its own limits (streams must outlive it).
	RequestTimeout time.Duration
	// Limiter counts requests; nil disables rate limiting.
	Limiter ports.RateLimiter
	// Rate is the per-IP budget of every limited route; AuthRate the
	// stricter one of /api/v1/auth/*.
	Rate     domain.Rate
	AuthRate domain.Rate
}

// contentSecurityPolicy forbids everything: API answers are data, never
// documents to render.
const contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// docsContentSecurityPolicy lets the documentation page (Swagger UI) work
// and nothing more: scripts, styles, images and requests from this origin
// only, and data: images (Swagger UI's icons are data: URLs in its CSS).
// Styles need no 'unsafe-inline': Swagger UI sets styles through the DOM
// (element.style), which the policy does not govern; checked in headless
// Chromium with no violation reported while using the page.
const docsContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// isDocsRoute reports whether an Echo route serves the documentation page
// or its files.
func isDocsRoute(route string) bool {
	return route == "/docs" || strings.HasPrefix(route, "/docs/")
}

// securityHeaders sets the headers every answer carries. Only the
// documentation routes get the looser policy their page needs.
func securityHeaders(production bool) echo.MiddlewareFunc {
	fixed := [][2]string{
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "no-referrer"},
		{"Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(), payment=(), usb=()"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		// Answers carry tokens and per-user data: no shared caches.
		{"Cache-Control", "no-store"},
	}
	if production {
		fixed = append(fixed, [2]string{"Strict-Transport-Security", "max-age=63072000; includeSubDomains"})
	}
	for i := range fixed {
		fixed[i][0] = http.CanonicalHeaderKey(fixed[i][0])
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			csp := contentSecurityPolicy
			if isDocsRoute(c.Path()) {
				csp = docsContentSecurityPolicy
			}
			setHeaders(c.Response().Header(), fixed, [2]string{"Content-Security-Policy", csp})
			return next(c)
		}
	}
}

// setHeaders sets each pair's header (a canonical name) to its value, as
// Header.Set does, with one allocation for all of the values instead of
// one each. Each header gets a slice of its own (capacity 1), so that an
// Add or a change to one header cannot reach another.
func setHeaders(h http.Header, pairs [][2]string, more ...[2]string) {
	vals := make([]string, len(pairs)+len(more))
	i := 0
	for _, set := range [2][][2]string{pairs, more} {
		for _, p := range set {
			vals[i] = p[1]
			h[p[0]] = vals[i : i+1 : i+1]
			i++
		}
	}
}

// streamingRoutes answer with streams that last as long as the answer; the
// chat use case bounds them itself (first token, silence, whole answer).
var streamingRoutes = map[string]bool{"/api/v1/chat": true, "/v1/chat/completions": true}

// timeout bounds non-streaming handlers through their context.
func timeout(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d <= 0 || streamingRoutes[c.Path()] {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// hostAllowed reports whether a Host header (with or without port) matches
// the list.
func hostAllowed(host string, allowed []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	for _, a := range allowed {
		switch {
		case a == "*":
			return true
		case strings.HasPrefix(a, "*."):
			if strings.HasSuffix(host, a[1:]) && len(host) > len(a)-1 {
				return true
			}
		case host == a:
			return true
		}
	}
	return false
}

// errBadHost refuses a Host header that is not served.
var errBadHost = domain.Errorf(domain.CodeInvalid, "Invalid host header")

// trustedHost refuses requests whose Host header is not served, against DNS
// rebinding and host-header injection.
func trustedHost(allowed []string) echo.MiddlewareFunc {
	if len(allowed) == 0 { // not configured: the app always configures it
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch c.Path() {
			case "/health", "/ready", "/metrics":
				return next(c)
			}
			if !hostAllowed(c.Request().Host, allowed) {
				return errBadHost
			}
			return next(c)
		}
	}
}

// cors answers preflights and sets CORS headers for the allowed origins.
// A wildcard origin never goes with credentials.
func cors(origins []string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		// No origin allowed: send no CORS headers (Echo's default would be "*").
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	wildcard := false
	for _, o := range origins {
		wildcard = wildcard || o == "*"
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: origins,
		AllowMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		// Cache-Control opts a chat out of the response cache.
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID, echo.HeaderAccept, echo.HeaderCacheControl},
		ExposeHeaders: []string{echo.HeaderXRequestID, headerCorrelationID, "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
			"X-Genzai-Provider", "X-Genzai-Upstream-Model", "X-Genzai-Model", "X-Should-Retry", cacheHeader},
		AllowCredentials: !wildcard,
		MaxAge:           600,
	})
}

// ipExtractor reads the client IP: the socket peer, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is read right to left,
// skipping trusted proxies.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// passwordRoute checks a password like login does, so it shares the auth
// routes' stricter budget: a stolen token must not buy unlimited guesses.
const passwordRoute = "/api/v1/me/password"

// AddressKey names a client address in every per-address limit: an IPv4
// address as itself (an IPv4-mapped IPv6 address too, so that a dual-stack
// listener counts it once), an IPv6 address by its /64. One subscriber or
// host usually holds a whole /64 and could otherwise take a fresh budget
// per address. Anything that is not an address is returned as it is.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// rateLimitExempt are the routes probes and scrapers hit.
var rateLimitExempt = map[string]bool{"/health": true, "/ready": true, "/metrics": true}

// rateLimit enforces the per-IP budgets and reports them in RateLimit-*
// headers on every limited route.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lim := s.cfg.Edge.Limiter
		if lim == nil || rateLimitExempt[c.Path()] {
			return next(c)
		}
		scope, rate := "ip", s.cfg.Edge.Rate
		if strings.HasPrefix(c.Path(), "/api/v1/auth/") || c.Path() == passwordRoute {
			scope, rate = "auth", s.cfg.Edge.AuthRate
		}
		key := scope + ":" + AddressKey(c.RealIP())
		d, err := lim.Allow(c.Request().Context(), key, rate)
		if err != nil {
			return &domain.Error{Code: domain.CodeUnavailable, Message: "Rate limiter unavailable", Err: err}
		}
		if d.Limit <= 0 {
			return next(c) // unlimited: nothing to report
		}
		setHeaders(c.Response().Header(), [][2]string{
			{"Ratelimit-Limit", strconv.Itoa(d.Limit)},
			{"Ratelimit-Remaining", strconv.Itoa(max(d.Remaining, 0))},
			{"Ratelimit-Reset", strconv.Itoa(ceilSeconds(d.ResetAfter))},
		})
		if !d.Allowed {
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.RateLimited(scope)
			}
			return &RateLimitedError{RetryAfter: max(ceilSeconds(d.RetryAfter), 1)}
		}
		return next(c)
	}
}

// RateLimitedError is a request refused by the per-IP limits; RetryAfter
// is in whole seconds.
type RateLimitedError struct{ RetryAfter int }

// Error implements error.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited, retry after %ds", e.RetryAfter)
}

// ErrorCode implements domain.Coded.
func (e *RateLimitedError) ErrorCode() domain.Code { return domain.CodeRateLimited }

// PublicMessage implements domain.Coded.
func (e *RateLimitedError) PublicMessage() string { return "Rate limit exceeded" }

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
