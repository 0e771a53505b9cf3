// Package httpapi serves the genzai HTTP API with Echo: the strict handlers
// generated from api/openapi.yaml, the middleware stack and the single error
// handler that maps every error to the JSON error contract.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain/admin"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/feedback"
	"github.com/genzai/genzai/domain/login"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/search"
	"github.com/genzai/genzai/domain/status"
	"github.com/genzai/genzai/ports"
)

// Config holds what the HTTP layer needs to know about the deployment.
type Config struct {
	// Environment is "development" or "production".
	Environment string
	// Version is the build version shown by /health.
	Version string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// ReadyTimeout bounds each readiness check.
	ReadyTimeout time.Duration
	// SSEKeepAlive is the silence after which a stream gets a keep-alive comment.
	SSEKeepAlive time.Duration
	// Edge configures headers, hosts, CORS, client IPs, limits and timeouts.
	Edge EdgeConfig
}

// Deps are the use cases and checks the handlers call.
type Deps struct {
	Login    *login.Service
	Quota    *quota.Service
	Chat     *chat.Service
	Status   *status.Service
	Search   *search.Service
	Admin    *admin.Service
	Feedback *feedback.Service
	Database ports.Pinger
	// Redis, when configured, is checked by /ready as a non-fatal dependency.
	Redis ports.Pinger
}

// Server is the HTTP API.
type Server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	protected map[string]bool
	docs      *docs
	echo      *echo.Echo
}

// New builds the server and its routes.
func New(cfg Config, deps Deps, logger *slog.Logger) (*Server, error) {
	protected, err := bearerRoutes()
	if err != nil {
		return nil, err
	}
	d, err := newDocs()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: logger, protected: protected, docs: d}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(cfg.Edge.TrustedProxies)
	// The stack, in order: request id (before anything logs), the access
	// log (it renders errors raised by every later layer), panic recovery,
	// security headers, request validation (body size, JSON only, time
	// limit), trusted host, CORS, per-IP rate limits, authentication. A
	// request refused by a layer never reaches the next.
	e.Use(withRequestID, s.accessLog, s.recoverPanics, securityHeaders(cfg.Edge.Production),
		limitBody(cfg.MaxBodyBytes), requireJSON, timeout(cfg.Edge.RequestTimeout),
		trustedHost(cfg.Edge.AllowedHosts), cors(cfg.Edge.AllowedOrigins), s.rateLimit, s.authenticate,
		compressDocs())
	api.RegisterHandlers(e, api.NewStrictHandler(&handlers{s: s}, nil))
	// The one route outside the spec: an alias of /docs (see its description).
	e.GET("/docs/", redirectToDocs)
	s.echo = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }
