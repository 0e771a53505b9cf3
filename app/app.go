package app

import (
	"context"
	"fmt"
	"io"
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
	"github.com/genzai/genzai/domain/feedback"
	"github.com/genzai/genzai/domain/login"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/search"
	"github.com/genzai/genzai/ports"
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
	requests requestLog
	// login is closed after the server drained: it waits for queued mails.
	login *login.Service
	log   *slog.Logger
	obs   *observability

	stopMonitor context.CancelFunc
	monitorDone chan struct{}
	closeRedis  func()
	closeOnce   sync.Once
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

// New connects to the database, applies pending migrations and builds the
// handler. Close releases what it opened.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts Options) (*App, error) {
	obs, logger, err := newObservability(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	db, err := openDatabase(ctx, cfg, logger, obs.queryTracer())
	if err != nil {
		obs.close(ctx, logger)
		return nil, err
	}
	if err := migrateUp(ctx, db, logger); err != nil {
		db.Close()
		obs.close(ctx, logger)
		return nil, err
	}
	obs.watchDatabase(db)
	if db.Shared() {
		logger.Info("store", "engine", db.Engine, "database", db.Location)
	} else {
		// An SQLite file lives on one machine: a second instance would have
		// its own users and quotas, so scaling out needs PostgreSQL.
		level := slog.LevelInfo
		if cfg.Production() {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, "store: SQLite, single instance only (set DATABASE_URL=postgres://... to run several)",
			"engine", db.Engine, "database", db.Location)
	}

	params := argon2id.DefaultParams
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	var clk ports.Clock = clock.System{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	hasher := newHasher(cfg, params, opts, logger)
	tokens := jwt.New([]byte(cfg.JWTSecret.Reveal()), tokenIssuer)
	lim := newLimits(ctx, cfg, clk, logger)
	mail, err := mailConfig(cfg, lim.limiter, logger)
	if err != nil {
		lim.close()
		db.Close()
		obs.close(ctx, logger)
		return nil, err
	}
	loginSvc := login.New(db, hasher, tokens, clk, login.Config{
		AdminEmails:     cfg.AdminEmails,
		AllowEmailLogin: cfg.AuthAllowEmailLogin,
		TokenTTL:        cfg.JWTExpiration,
		Mail:            mail,
		Guard:           lim.guard,
		Backoff:         loginBackoff(cfg),
	})
	quotaSvc := quota.New(db, clk, cfg.UserDailyQuota)
	requests := db.newRequestLog(logger)
	searchSvc := search.New(search.Config{
		Enabled: cfg.EnableWebSearch, MaxResults: cfg.WebSearchMax, CacheTTL: cfg.WebSearchCacheTTL, NegativeTTL: cfg.WebSearchNegativeTTL,
	}, obs.searcher(duckduckgo.New(duckduckgo.Config{BaseURL: cfg.DuckDuckGoBaseURL, LiteURL: cfg.DuckDuckGoLiteURL}), "duckduckgo"), quotaSvc, clk)
	chatSvc, statusSvc := chatCore(cfg, obs, lim, db, searchSvc, quotaSvc, obs.requestLog(requests), clk, logger)

	adminSvc := admin.New(db, db, clk, cfg.UserDailyQuota)
	// A rating of a request this instance still holds queued writes the
	// queue out first.
	feedbackSvc := feedback.New(db, requests, clk)
	keysSvc := apikeys.New(db, clk, nil, apikeys.Config{MaxPerUser: cfg.MaxAPIKeysPerUser})

	srv, err := httpapi.New(httpapi.Config{
		Environment:  cfg.Env,
		Version:      cfg.Version,
		MaxBodyBytes: cfg.MaxRequestSizeBytes,
		ReadyTimeout: readyTimeout,
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
	}, httpapi.Deps{Login: loginSvc, Quota: quotaSvc, Chat: chatSvc, Status: statusSvc, Search: searchSvc,
		Admin: adminSvc, Feedback: feedbackSvc, APIKeys: keysSvc, Database: db, Redis: lim.redis}, logger)
	if err != nil {
		_ = requests.Close(ctx)
		lim.close()
		db.Close()
		obs.close(ctx, logger)
		return nil, fmt.Errorf("build http server: %w", err)
	}
	a := &App{Handler: srv, Database: db, requests: requests, log: logger, obs: obs, closeRedis: lim.close, login: loginSvc,
		MetricsHandler: httpapi.NewMetricsHandler(obs.metrics, cfg.MetricsToken.Reveal())}
	// The monitor outlives the start-up context; Close stops it.
	monitorCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopMonitor = stop
	a.monitorDone = make(chan struct{})
	go func() {
		defer close(a.monitorDone)
		statusSvc.Run(monitorCtx)
	}()
	return a, nil
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

// Close flushes the request log, releases the database pool and exports the
// spans still queued. Call it after the HTTP server has drained, so that no
// request is still recording. Calling it again does nothing.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		a.stopMonitor()
		<-a.monitorDone
		a.login.Close()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := a.requests.Close(ctx); err != nil {
			a.log.Error("flush request log", "error", err)
		}
		a.closeRedis()
		a.Database.Close()
		a.obs.close(ctx, a.log)
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
