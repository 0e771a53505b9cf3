// Package httpapi serves the genzai HTTP API with Echo: the strict handlers
// generated from api/openapi.yaml, the middleware stack and the single error
// handler that maps every error to the JSON error contract.
package httpapi

import (
	"crypto/sha256"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
	"github.com/genzai/genzai/domain/apikeys"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/conversations"
	"github.com/genzai/genzai/domain/feedback"
	"github.com/genzai/genzai/domain/images"
	"github.com/genzai/genzai/domain/login"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/search"
	"github.com/genzai/genzai/domain/status"
	"github.com/genzai/genzai/domain/userdata"
	"github.com/genzai/genzai/domain/voice"
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
	// MaxAudioBytes bounds the file of an upload to transcribe
	// (MAX_AUDIO_BYTES); the transcription routes' bodies may be that
	// much larger than the file (formOverhead), and no other route's.
	// 0: voice.DefaultMaxAudioBytes.
	MaxAudioBytes int64
	// ReadyTimeout bounds each readiness check.
	ReadyTimeout time.Duration
	// ReadyCacheTTL is how long /ready reuses its last answer (default 1s).
	ReadyCacheTTL time.Duration
	// DocsDisabled turns off /docs and the spec (/openapi.yaml,
	// /openapi.json): they answer 404 (DOCS_ENABLED=false).
	DocsDisabled bool
	// SSEKeepAlive is the silence after which a stream gets a keep-alive comment.
	SSEKeepAlive time.Duration
	// Edge configures headers, hosts, CORS, client IPs, limits and timeouts.
	Edge EdgeConfig
	// Metrics records requests, rate-limit refusals and open streams, and
	// serves GET /metrics; nil turns metrics off (the route answers 404).
	Metrics Metrics
	// MetricsToken, when set, must come as a bearer token with GET /metrics.
	// Wrong tokens count against Edge.AuthRate per client address.
	MetricsToken string
	// MetricsElsewhere answers GET /metrics with 404: a listener of its own
	// serves the scrape (NewMetricsHandler).
	MetricsElsewhere bool
	// Tracing, when set, starts a server span per request.
	Tracing trace.TracerProvider
	// LogPrompts logs each chat's prompt and answer (LOG_PROMPTS).
	LogPrompts bool
	// Web is the web app's built files (index.html at the root, files with
	// hashed names under assets/), served at / and every path outside the
	// API; nil turns the app off (WEB_UI_ENABLED=false): / then redirects
	// to /docs and other paths answer 404.
	Web fs.FS
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
	// APIKeys manages personal API keys and authenticates requests that
	// carry one; nil refuses keys (their bearer credentials then fail as
	// tokens do).
	APIKeys *apikeys.Service
	// Conversations keeps the users' conversations.
	Conversations *conversations.Service
	Database      ports.Pinger
	// Redis, when configured, is checked by /ready as a non-fatal dependency.
	Redis ports.Pinger
	// UserData reads the caller's own account and data (/api/v1/me).
	UserData *userdata.Service
	// Images generates images; nil answers the image routes 404 (off).
	Images *images.Service
	// Voice transcribes and speaks; nil answers the audio routes 404 (off).
	Voice *voice.Service
}

// Server is the HTTP API.
type Server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	protected map[string]domain.Scope // bearerAuth routes: the scope a key needs ("": tokens only)
	docs      *docs
	web       *webApp // nil: the web app is off
	echo      *echo.Echo
	// routes are the registered route templates (metric and span labels).
	routes map[string]bool
	// metricsToken is the SHA-256 of Config.MetricsToken; nil when unset.
	metricsToken []byte
	// metricsBlocked holds the addresses refused for wrong metrics tokens.
	metricsBlocked *blockList
	ready          *readyCache
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
	s := &Server{cfg: cfg, deps: deps, log: logger, protected: protected, docs: d, routes: map[string]bool{},
		metricsBlocked: newBlockList(), ready: &readyCache{ttl: cfg.ReadyCacheTTL}}
	if cfg.Web != nil {
		if s.web, err = newWebApp(cfg.Web); err != nil {
			return nil, err
		}
	}
	if s.ready.ttl <= 0 {
		s.ready.ttl = defaultReadyCacheTTL
	}
	if s.cfg.MaxAudioBytes <= 0 {
		s.cfg.MaxAudioBytes = voice.DefaultMaxAudioBytes
	}
	if cfg.MetricsToken != "" {
		sum := sha256.Sum256([]byte(cfg.MetricsToken))
		s.metricsToken = sum[:]
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = strictJSON{}
	e.IPExtractor = ipExtractor(cfg.Edge.TrustedProxies)
	// The stack, in order: request id (before anything logs), the access
	// log (it renders errors raised by every later layer), panic recovery,
	// security headers, the chat routes' X-Genzai-Cache, request validation (body size and read time, JSON
	// only, time limit), trusted host, CORS, per-IP rate limits,
	// authentication, compression of the docs, and the web app (for paths
	// no route matches). A request refused by a layer never reaches the next.
	// With tracing, the request's span opens before the access log, which
	// then carries its id.
	stack := []echo.MiddlewareFunc{withRequestID}
	if cfg.Tracing != nil {
		stack = append(stack, s.traceRequests(cfg.Tracing))
	}
	e.Use(append(stack, s.accessLog, s.recoverPanics, securityHeaders(cfg.Edge.Production), withCacheHeader,
		limitBody(cfg.MaxBodyBytes, s.cfg.MaxAudioBytes), bodyDeadline(cfg.Edge.RequestTimeout), requireJSON, timeout(cfg.Edge.RequestTimeout),
		trustedHost(cfg.Edge.AllowedHosts), cors(cfg.Edge.AllowedOrigins), s.rateLimit, s.authenticate,
		compressDocs(), s.serveWeb)...)
	api.RegisterHandlers(headToo{e}, api.NewStrictHandler(&handlers{s: s}, []api.StrictMiddlewareFunc{withScrapeRequest, withWebRequest}))
	// The one route outside the spec: an alias of /docs (see its description).
	// The web app's files and pages match no route: serveWeb answers them.
	headToo{e}.GET("/docs/", s.redirectToDocs)
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	s.echo = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// headRoutes are the GET routes that answer HEAD too: the ones load
// balancers, uptime checkers and link checkers ask. Routes with effects
// (a search costs quota, a verification link is spent) stay GET only.
var headRoutes = map[string]bool{
	"/": true, "/health": true, "/ready": true,
	"/docs": true, "/docs/": true, "/docs/:asset": true, "/openapi.json": true, "/openapi.yaml": true,
}

// headToo registers the routes of headRoutes for HEAD as well, with the
// GET handler: the answer is the same, status and headers (security
// headers, Content-Length) included, and net/http sends no body with the
// answer to a HEAD request.
type headToo struct{ *echo.Echo }

// GET registers h for GET, and for HEAD when path is one of headRoutes.
func (r headToo) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	if headRoutes[path] {
		r.Echo.HEAD(path, h, m...)
	}
	return r.Echo.GET(path, h, m...)
}
