package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/adapters/duckduckgo"
	"github.com/genzai/genzai/adapters/httpapi"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/adapters/smtpmail"
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
	"github.com/genzai/genzai/web"
)

// readyTimeout bounds each readiness check (/ready answers within it).
const readyTimeout = time.Second

// tokenIssuer is the "iss" claim of genzai's access tokens.
const tokenIssuer = "genzai"

// App is a wired gateway: an HTTP handler over live dependencies.
type App struct {
	// Handler serves the whole HTTP API.
	Handler http.Handler
	// MetricsHandler serves GET /metrics alone, for the METRICS_ADDR
	// listener.
	MetricsHandler http.Handler
	// Database is the open store.
	Database *Database

	// closers release, last opened first, what New opened: the monitor,
	// the login service (it waits for queued mails), the request log,
	// Redis, the account listener, the database and observability.
	closers   closers
	closeOnce sync.Once
}

// Options tune what the environment does not configure; zero values are
// the production defaults.
type Options struct {
	// PasswordParams overrides the Argon2id cost (tests use a cheap one).
	PasswordParams *argon2id.Params
	// Clock overrides the wall clock (tests move it across midnight).
	Clock ports.Clock
	// MemorySources override where the memory limit that bounds password
	// hashing is read (tests pretend to run in a container).
	MemorySources argon2id.MemorySources
	// PasswordKDF replaces Argon2id's key derivation (tests hold hashing
	// slots with it and count the hashes running at once).
	PasswordKDF argon2id.KDF
}

// closers is a stack of release functions: New unwinds it when a later
// step fails, App.Close when the server has drained, so that there is one
// cleanup path and it always runs in reverse order of opening.
type closers []func(ctx context.Context)

// push adds a release function, run before every one pushed earlier.
func (c *closers) push(f func(ctx context.Context)) { *c = append(*c, f) }

// unwind runs the release functions, last pushed first.
func (c closers) unwind(ctx context.Context) {
	for i := len(c) - 1; i >= 0; i-- {
		c[i](ctx)
	}
}

// New connects to the database (waiting up to cfg.DatabaseWait for one that
// is still starting), applies pending migrations and builds the handler, in
// steps that each push what they open onto one closers stack: a failed
// step unwinds it, and Close releases it in reverse order of opening.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts Options) (_ *App, err error) {
	var cl closers
	defer func() {
		if err != nil {
			cl.unwind(ctx)
		}
	}()
	obs, logger, err := newObservability(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	cl.push(func(ctx context.Context) { obs.close(ctx, logger) })
	db, err := newStore(ctx, cfg, logger, obs)
	if err != nil {
		return nil, err
	}
	cl.push(func(context.Context) { db.Close() })
	cacheAccounts(db, obs, logger, &cl)
	var clk ports.Clock = clock.System{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	lim := newLimits(ctx, cfg, clk, logger)
	cl.push(func(context.Context) { lim.close() })
	svc, err := newServices(cfg, opts, db, lim, obs, clk, logger, &cl)
	if err != nil {
		return nil, err
	}
	srv, err := newHTTPServer(cfg, db, lim, obs, svc, clk, logger)
	if err != nil {
		return nil, err
	}
	startMonitor(ctx, svc.status, &cl)
	if cfg.ConversationRetention > 0 {
		startConversationPurge(ctx, svc.conversations, conversationPurgeEvery, logger, &cl)
	}
	return &App{Handler: srv, Database: db, closers: cl,
		MetricsHandler: httpapi.NewMetricsHandler(obs.metrics, cfg.MetricsToken.Reveal())}, nil
}

// newStore opens the database (waiting for it while it starts, up to
// DATABASE_WAIT_SECONDS), applies pending migrations and says which engine
// serves. The caller closes the store.
func newStore(ctx context.Context, cfg Config, logger *slog.Logger, obs *observability) (*Database, error) {
	db, err := openDatabaseWaiting(ctx, cfg, logger, obs.queryTracer())
	if err != nil {
		return nil, err
	}
	if err := migrateUp(ctx, db, logger); err != nil {
		db.Close()
		return nil, err
	}
	obs.watchDatabase(db)
	if db.Shared() {
		logger.Info("store", "engine", db.Engine, "database", db.Location)
		return db, nil
	}
	// An SQLite file lives on one machine: a second instance would have
	// its own users and quotas, so scaling out needs PostgreSQL.
	level := slog.LevelInfo
	if cfg.Production() {
		level = slog.LevelWarn
	}
	logger.Log(ctx, level, "store: SQLite, single instance only (set DATABASE_URL=postgres://... to run several)",
		"engine", db.Engine, "database", db.Location)
	return db, nil
}

// services are the use cases the HTTP server calls.
type services struct {
	login    *login.Service
	quota    *quota.Service
	search   *search.Service
	chat     *chat.Service
	status   *status.Service
	admin    *admin.Service
	feedback *feedback.Service
	keys     *apikeys.Service
	// conversations serves the conversation routes, chat's history and
	// the retention purge (startConversationPurge).
	conversations *conversations.Service
	// images serves the image routes (off unless ENABLE_IMAGE_GENERATION).
	images *images.Service
	// voice serves the audio routes (off unless ENABLE_VOICE).
	voice *voice.Service
}

// newServices builds the use cases over the store and the limits, and
// pushes the request log and the login service (which waits for queued
// mails) onto cl.
func newServices(cfg Config, opts Options, db *Database, lim limits, obs *observability, clk ports.Clock,
	logger *slog.Logger, cl *closers) (services, error) {
	params := argon2id.DefaultParams
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	hasher := newHasher(cfg, params, opts, logger)
	tokens := jwt.New([]byte(cfg.JWTSecret.Reveal()), tokenIssuer)
	mail, err := mailConfig(cfg, lim.limiter, logger)
	if err != nil {
		return services{}, err
	}
	requests := db.newRequestLog(logger)
	cl.push(func(ctx context.Context) {
		if err := requests.Close(ctx); err != nil {
			logger.Error("flush request log", "error", err)
		}
	})
	loginSvc := login.New(db, hasher, tokens, clk, login.Config{
		Emails:          emails(),
		AdminEmails:     cfg.AdminEmails,
		AllowEmailLogin: cfg.AuthAllowEmailLogin,
		TokenTTL:        cfg.JWTExpiration,
		Mail:            mail,
		Guard:           lim.guard,
		Backoff:         loginBackoff(cfg),
	})
	cl.push(func(context.Context) { loginSvc.Close() })
	countQuotas(db, cfg, lim, logger, cl)
	quotaSvc := quota.New(db, clk, cfg.UserDailyQuota)
	searchSvc := search.New(search.Config{
		Enabled: cfg.EnableWebSearch, MaxResults: cfg.WebSearchMax, CacheTTL: cfg.WebSearchCacheTTL, NegativeTTL: cfg.WebSearchNegativeTTL,
	}, obs.searcher(duckduckgo.New(duckduckgo.Config{BaseURL: cfg.DuckDuckGoBaseURL, LiteURL: cfg.DuckDuckGoLiteURL}), "duckduckgo"), quotaSvc, clk)
	convSvc := conversations.New(db, clk, nil, conversations.Config{
		MaxPerUser: cfg.MaxConversationsPerUser, HistoryMaxChars: cfg.ChatHistoryMaxChars, Retention: cfg.ConversationRetention,
	})
	cs := chatCore(cfg, obs, lim, db, searchSvc, quotaSvc, convSvc, obs.requestLog(requests), clk, logger)
	return services{
		login: loginSvc, quota: quotaSvc, search: searchSvc, chat: cs.chat, status: cs.status,
		admin: admin.New(db, db, clk, cfg.UserDailyQuota, emails(), cs.router),
		// A rating of a request this instance still holds queued writes the
		// queue out first.
		feedback:      feedback.New(db, requests, clk),
		keys:          apikeys.New(db, clk, nil, apikeys.Config{MaxPerUser: cfg.MaxAPIKeysPerUser}),
		conversations: convSvc,
		images:        cs.images,
		voice:         cs.voice,
	}, nil
}

// newHTTPServer builds the API server over the use cases.
func newHTTPServer(cfg Config, db *Database, lim limits, obs *observability, svc services, clk ports.Clock, logger *slog.Logger) (*httpapi.Server, error) {
	webFiles, err := webApp(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := httpapi.New(httpapi.Config{
		Environment:  cfg.Env,
		Version:      cfg.Version,
		MaxBodyBytes: cfg.MaxRequestSizeBytes,
		// The transcription routes take uploads up to MAX_AUDIO_BYTES.
		MaxAudioBytes: cfg.Voice.MaxAudioBytes,
		ReadyTimeout:  readyTimeout,
		// Probes and scanners may call /ready as often as they like: the
		// database sees at most one ping a second from it.
		ReadyCacheTTL: time.Second,
		DocsDisabled:  !cfg.DocsEnabled,
		SSEKeepAlive:  cfg.SSEKeepAlive,
		Edge: httpapi.EdgeConfig{
			Production:     cfg.Production(),
			AllowedHosts:   cfg.AllowedHosts,
			AllowedOrigins: cfg.AllowedOrigins,
			TrustedProxies: cfg.TrustedProxies,
			RequestTimeout: cfg.RequestTimeout,
			Limiter:        lim.limiter,
			Rate:           cfg.RateLimit,
			AuthRate:       cfg.AuthRateLimit,
		},
		Metrics:          obs.metrics,
		MetricsToken:     cfg.MetricsToken.Reveal(),
		MetricsElsewhere: cfg.MetricsAddr != "",
		Tracing:          obs.tracerProvider(),
		LogPrompts:       cfg.LogPrompts,
		Web:              webFiles,
	}, httpapi.Deps{Login: svc.login, Quota: svc.quota, Chat: svc.chat, Status: svc.status, Search: svc.search,
		Admin: svc.admin, Feedback: svc.feedback, APIKeys: svc.keys, Conversations: svc.conversations,
		Database: db, Redis: lim.redis, UserData: userdata.New(svc.quota, svc.keys, svc.conversations, db, clk),
		Images: svc.images, Voice: svc.voice}, logger)
	if err != nil {
		return nil, fmt.Errorf("build http server: %w", err)
	}
	return srv, nil
}

// webApp is the embedded web app's files, or nil when WEB_UI_ENABLED=false.
func webApp(cfg Config) (fs.FS, error) {
	if !cfg.WebUIEnabled {
		return nil, nil
	}
	return web.Dist()
}

// startMonitor runs the provider monitor until Close stops it: it outlives
// the start-up context.
func startMonitor(ctx context.Context, statusSvc *status.Service, cl *closers) {
	monitorCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		statusSvc.Run(monitorCtx)
	}()
	cl.push(func(context.Context) {
		stop()
		<-done
	})
}

// resetLinkTTL is how long a password-reset link stays valid.
const resetLinkTTL = time.Hour

// mailConfig builds the login service's mail settings: off without
// SMTP_URL, in which case ADMIN_EMAILS can promote nobody (promotion needs a
// verified address), which start-up says once.
func mailConfig(cfg Config, limiter ports.RateLimiter, logger *slog.Logger) (login.MailConfig, error) {
	if !cfg.Mail.Enabled() {
		if len(cfg.AdminEmails) > 0 {
			logger.Warn("ADMIN_EMAILS promotes nobody on this server: an address becomes admin only when its owner verifies it by mail, " +
				"and SMTP_URL is not set; make admins with `genzai admin grant EMAIL` instead")
		}
		return login.MailConfig{}, nil
	}
	mailer, err := smtpmail.New(smtpmail.Config{URL: cfg.Mail.SMTPURL.Reveal(), From: cfg.Mail.From})
	if err != nil {
		return login.MailConfig{}, fmt.Errorf("build mailer: %w", err)
	}
	logger.Info("mail: email verification and password reset on", "smtp", RedactURL(cfg.Mail.SMTPURL.Reveal()), "public_url", cfg.Mail.PublicURL)
	return login.MailConfig{
		Mailer:    mailer,
		PublicURL: cfg.Mail.PublicURL,
		Secret:    []byte(cfg.JWTSecret.Reveal()),
		VerifyTTL: cfg.Mail.TokenTTL,
		ResetTTL:  resetLinkTTL,
		Limiter:   limiter,
		Rate:      domain.Rate{Limit: cfg.Mail.RatePerHour, Period: time.Hour},
		Log:       logger,
	}, nil
}

// closeTimeout bounds the final flush of the request log.
const closeTimeout = 10 * time.Second

// Close stops the monitor, flushes the request log, releases Redis and the
// database pool and exports the spans still queued. Call it after the HTTP
// server has drained, so that no request is still recording. Calling it
// again does nothing.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		a.closers.unwind(ctx)
	})
}

// NewLogger returns the server's logger: JSON in production, text in
// development, at the configured level.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
