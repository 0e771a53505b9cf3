// Package app is the composition root: it loads the configuration and wires
// adapters and use cases into a running HTTP handler.
package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/groq"
	"github.com/genzai/genzai/adapters/huggingface"
	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/openrouter"
	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/smtpmail"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/adapters/tracing"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/email"
)

// emails is how the gateway spells an email address, everywhere: with the
// IDNA tables, so that one mailbox has one spelling.
func emails() email.Normalizer { return email.New(idn.Lookup{}) }

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// DefaultSQLitePath is the database file used in development when
// DATABASE_URL is unset, relative to the working directory (its directory
// is created on first start).
const DefaultSQLitePath = "data/genzai.db"

// Database engines, selected by the scheme of DATABASE_URL.
const (
	EnginePostgres = "postgresql"
	EngineSQLite   = "sqlite"
)

// minProductionSecretLen is the shortest JWT secret accepted in production.
const minProductionSecretLen = 32

// Secret is a string that never prints: fmt, slog and JSON show it redacted.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer, so that %#v is redacted too.
func (s Secret) GoString() string { return fmt.Sprintf("app.Secret(%q)", s.String()) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// Config is everything the server reads from its environment.
type Config struct {
	Env      string
	LogLevel slog.Level
	Host     string
	Port     int

	// DatabaseURL is DATABASE_URL as given ("" when unset); DatabaseEngine
	// is what it selects, and DatabasePath the file when that is SQLite.
	DatabaseURL             Secret
	DatabaseEngine          string
	DatabasePath            string
	DatabasePoolSize        int
	DatabasePoolMaxOverflow int
	DatabasePoolRecycle     time.Duration
	// DatabasePoolIdle closes an overflow connection (one beyond
	// DatabasePoolSize) once it has been idle this long, so that a burst's
	// connections go back to the server.
	DatabasePoolIdle time.Duration
	// DatabaseInstances is how many gateway instances share the database:
	// genzai doctor checks their pools against the server's
	// max_connections (with at least as many as it sees connected).
	DatabaseInstances int
	// DatabaseWait bounds how long serve waits for a PostgreSQL server that
	// refuses connections or is still starting (0: fail at once), so that
	// a gateway started beside its database does not exit.
	DatabaseWait time.Duration

	JWTSecret Secret
	// JWTSecretGenerated is set when development replaced an unset secret
	// with a random one: tokens then die with the process.
	JWTSecretGenerated bool
	// JWTSecretFile is the file development keeps its generated secret in
	// (set by KeepDevSecret, "" otherwise): tokens then survive restarts.
	JWTSecretFile string
	JWTAlgorithm  string
	JWTExpiration time.Duration

	// AdminEmails are promoted when their owner verifies the address by
	// mail, so only with SMTP_URL (see login.Config.AdminEmails).
	AdminEmails    []string
	UserDailyQuota int
	// MaxAPIKeysPerUser bounds each user's personal API keys.
	MaxAPIKeysPerUser int
	// MaxConversationsPerUser bounds each user's conversations
	// (MAX_CONVERSATIONS_PER_USER).
	MaxConversationsPerUser int
	// ChatHistoryMaxChars bounds, in characters, what a chat in a
	// conversation sends upstream: system prompt, history, new prompt
	// (CHAT_HISTORY_MAX_CHARS).
	ChatHistoryMaxChars int
	// ConversationRetention is how long a conversation may stay idle before
	// the purge deletes it; 0 keeps conversations forever
	// (CONVERSATION_RETENTION_DAYS).
	ConversationRetention time.Duration
	AuthAllowEmailLogin   bool
	// Mail configures verification and password reset by mail; off while
	// SMTPURL is empty.
	Mail MailConfig
	// PasswordHashMemoryMiB is the memory password hashing may hold at once
	// (PASSWORD_HASH_MEMORY_MIB); 0 derives it from the container's memory
	// limit or GOMEMLIMIT.
	PasswordHashMemoryMiB int
	// PasswordHashWait bounds the wait for a free hashing slot; past it a
	// register or login answers 503 with Retry-After.
	PasswordHashWait time.Duration
	// LoginMaxFailures is how many password attempts on one account may
	// fail in a row before each further one is refused with a growing
	// backoff; 0 turns the per-account guard off.
	LoginMaxFailures int
	// LoginFailureWindow is how long an account's failures are remembered
	// after its last lock ends.
	LoginFailureWindow time.Duration
	// AuthAllowEmailLoginSet is true when AUTH_ALLOW_EMAIL_LOGIN was given
	// rather than defaulted from ENV.
	AuthAllowEmailLoginSet bool

	MaxRequestSizeBytes int64
	ShutdownTimeout     time.Duration
	// HTTP2Cleartext serves HTTP/2 without TLS (h2c, prior knowledge)
	// beside HTTP/1.1 on the API port, for load balancers and proxies that
	// speak it to their backends: many streams share one connection.
	HTTP2Cleartext bool
	// HTTP2MaxStreams bounds the concurrent streams of one HTTP/2 connection.
	HTTP2MaxStreams int

	// Providers, in the order groq, openrouter, huggingface.
	Groq        ProviderConfig
	OpenRouter  ProviderConfig
	HuggingFace ProviderConfig
	// RenderExternalURL is the public URL of the deployment (sent to
	// OpenRouter as HTTP-Referer; its host is allowed by default).
	RenderExternalURL string

	GroqFastModel           string
	GroqBalancedModel       string
	OpenRouterBalancedModel string
	OpenRouterSmartModel    string
	HuggingFaceModel        string

	// Images configures image generation (ENABLE_IMAGE_GENERATION and
	// the IMAGE_* keys).
	Images ImagesConfig
	// Voice configures transcription and speech (ENABLE_VOICE and the
	// voice keys).
	Voice VoiceConfig

	RequestTimeout    time.Duration
	FirstTokenTimeout time.Duration
	ProviderCooldown  time.Duration
	// ProviderKeyRejectCoolOff is how long a key a provider refused
	// (401/402/403) stays out of rotation, on every instance, before it is
	// tried again.
	ProviderKeyRejectCoolOff time.Duration
	CircuitBreakerFailures   int
	CircuitBreakerCoolOff    time.Duration
	MaxPromptChars           int
	SSEKeepAlive             time.Duration
	// MockProviderDelay paces the development mock provider's tokens.
	MockProviderDelay time.Duration

	// Edge.
	AllowedHosts      []string
	AllowedOrigins    []string
	TrustedProxies    []*net.IPNet
	RateLimit         domain.Rate
	AuthRateLimit     domain.Rate
	RedisURL          Secret
	RateLimitFailOpen bool
	// QuotaCounting is QuotaCountingAuto (Redis with REDIS_URL, else in
	// process on SQLite, leases on PostgreSQL) or QuotaCountingDatabase
	// (one statement per request).
	QuotaCounting string
	// MaxConcurrentPerUser bounds each user's chat requests in flight
	// (0 = no bound); shared through Redis when REDIS_URL is set.
	MaxConcurrentPerUser int

	// Response cache (issue 24): in Redis with REDIS_URL, else in process.
	CacheEnabled bool
	// CacheTTL is how long an answer is served from the cache.
	CacheTTL time.Duration
	// CacheMaxBytes bounds the in-process cache (least recently used go
	// first).
	CacheMaxBytes int64
	// CacheScope is user (a user only gets answers to their own requests)
	// or global.
	CacheScope chat.CacheScope

	// Web search.
	EnableWebSearch   bool
	WebSearchMax      int
	WebSearchCacheTTL time.Duration
	// WebSearchNegativeTTL keeps failed and empty searches (0 = not kept).
	WebSearchNegativeTTL time.Duration
	DuckDuckGoBaseURL    string
	DuckDuckGoLiteURL    string

	// Health monitor.
	ProviderCheckInterval   time.Duration // 0 disables the monitor
	ProviderCheckTimeout    time.Duration
	ProviderDegradedLatency time.Duration
	ProviderDegradedErrRate float64
	ProviderCheckRetention  time.Duration
	StatusCacheTTL          time.Duration

	// Observability.
	// MetricsToken, when set, must come as a bearer token with GET /metrics.
	MetricsToken Secret
	// MetricsAddr is the host:port of a separate listener serving only
	// /metrics; "" serves it on the API port. When set, the API port's
	// /metrics answers 404.
	MetricsAddr string
	// DocsEnabled serves the API reference (/docs) and the spec
	// (/api/openapi.yaml, /api/openapi.json).
	DocsEnabled bool
	// WebUIEnabled serves the web app at / (WEB_UI_ENABLED, default true).
	WebUIEnabled bool
	// LogPrompts logs each chat's prompt and answer; off, they are never logged.
	LogPrompts bool
	// Tracing exports OpenTelemetry spans when its Endpoint is set.
	Tracing TracingConfig
	// PprofAddr is the host:port of the net/http/pprof listener; "" turns
	// it off. Only a loopback address is accepted unless PprofAllowRemote.
	PprofAddr string
	// PprofAllowRemote accepts a PprofAddr that is not a loopback address.
	PprofAllowRemote bool

	// Version is the build version; set by the binary, not the environment.
	Version string
}

// TracingConfig is the OpenTelemetry tracing setup, read from the standard
// OTEL_* variables.
type TracingConfig struct {
	// Endpoint is the OTLP/HTTP traces URL; "" turns tracing off.
	Endpoint string
	// Headers go with every export, as OTEL_EXPORTER_OTLP_HEADERS spells
	// them (key=value,...); they often hold credentials.
	Headers     Secret
	ServiceName string
	// Sampler is an OTEL_TRACES_SAMPLER name, SamplerArg its ratio.
	Sampler    string
	SamplerArg float64
}

// ProviderConfig is one upstream provider's connection settings.
type ProviderConfig struct {
	BaseURL   string
	Keys      []Secret
	RPMPerKey int
}

// Configured reports whether the provider has keys.
func (p ProviderConfig) Configured() bool { return len(p.Keys) > 0 }

// RevealKeys returns the keys themselves, for the provider client.
func (p ProviderConfig) RevealKeys() []string {
	out := make([]string, len(p.Keys))
	for i, k := range p.Keys {
		out[i] = k.Reveal()
	}
	return out
}

// MailConfig is the SMTP server and the links mailed through it.
type MailConfig struct {
	// SMTPURL is smtp://user:pass@host:port (STARTTLS when offered) or
	// smtps://... (implicit TLS); empty turns mail off.
	SMTPURL Secret
	// From is the sender address (SMTP_FROM).
	From string
	// PublicURL is the base of mailed links, without a trailing slash.
	PublicURL string
	// TokenTTL is how long a verification link is valid (EMAIL_TOKEN_TTL).
	TokenTTL time.Duration
	// RatePerHour bounds the mails per account or address (EMAIL_RATE_LIMIT_PER_HOUR).
	RatePerHour int
}

// Enabled reports whether the server sends mail.
func (m MailConfig) Enabled() bool { return m.SMTPURL != "" }

// UseMockProvider reports whether the development mock answers every tier:
// only in development, and only when no provider has a key.
func (c Config) UseMockProvider() bool {
	return !c.Production() && !c.Groq.Configured() && !c.OpenRouter.Configured() && !c.HuggingFace.Configured()
}

// Production reports whether the server runs in production.
func (c Config) Production() bool { return c.Env == EnvProduction }

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("addr", fmt.Sprintf("%s:%d", c.Host, c.Port)),
		slog.String("database", c.DatabaseLocation()),
		slog.Int("database_pool_size", c.DatabasePoolSize),
		slog.Int("database_pool_max_overflow", c.DatabasePoolMaxOverflow),
		slog.Int("database_pool_idle_seconds", int(c.DatabasePoolIdle/time.Second)),
		slog.Int("database_instances", c.DatabaseInstances),
		slog.Int("database_wait_seconds", int(c.DatabaseWait/time.Second)),
		slog.Int("jwt_expiration_hours", int(c.JWTExpiration/time.Hour)),
		slog.Int("admin_emails", len(c.AdminEmails)),
		slog.Int("user_daily_quota", c.UserDailyQuota),
		slog.Bool("auth_allow_email_login", c.AuthAllowEmailLogin),
		slog.String("smtp_url", redactedOrEmpty(string(c.Mail.SMTPURL))),
		slog.String("public_url", c.Mail.PublicURL),
		slog.Int("groq_keys", len(c.Groq.Keys)),
		slog.Int("openrouter_keys", len(c.OpenRouter.Keys)),
		slog.Int("huggingface_keys", len(c.HuggingFace.Keys)),
		slog.String("groq_base_url", redactedOrEmpty(c.Groq.BaseURL)),
		slog.String("openrouter_base_url", redactedOrEmpty(c.OpenRouter.BaseURL)),
		slog.String("huggingface_base_url", redactedOrEmpty(c.HuggingFace.BaseURL)),
		slog.Bool("image_generation", c.Images.Enabled),
		slog.String("huggingface_inference_url", redactedOrEmpty(c.Images.HuggingFaceInferenceURL)),
		slog.Bool("voice", c.Voice.Enabled),
		slog.Int("request_timeout_seconds", int(c.RequestTimeout/time.Second)),
		slog.Bool("http2_cleartext", c.HTTP2Cleartext),
		slog.Bool("metrics_token", c.MetricsToken != ""),
		slog.Bool("log_prompts", c.LogPrompts),
		slog.String("otlp_traces_endpoint", redactedOrEmpty(c.Tracing.Endpoint)),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Bool("docs_enabled", c.DocsEnabled),
		slog.Bool("web_ui_enabled", c.WebUIEnabled),
	)
}

// DatabaseLocation names the database for people, without secrets:
// "sqlite data/genzai.db" or the PostgreSQL URL with its password hidden.
func (c Config) DatabaseLocation() string {
	if c.DatabaseEngine == EngineSQLite {
		return "sqlite " + c.DatabasePath
	}
	return RedactURL(c.DatabaseURL.Reveal())
}

// redactedOrEmpty is RedactURL of a URL that may be unset.
func redactedOrEmpty(raw string) string {
	if raw == "" {
		return ""
	}
	return RedactURL(raw)
}

// isSQLiteURL reports whether raw selects SQLite: sqlite: or a SQLAlchemy
// driver variant such as sqlite+aiosqlite:.
func isSQLiteURL(raw string) bool {
	scheme, _, ok := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	return ok && (scheme == "sqlite" || strings.HasPrefix(scheme, "sqlite+"))
}

// RedactURL hides the password of a connection URL, in the user info and
// in a password= query parameter (both are accepted by pgx); a URL with an
// @ but no host is not shown at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable]"
	}
	if u.Host == "" && strings.Contains(raw, "@") {
		// No host, so no user info was read: "a/b://u:pw@h" parses as a
		// relative path and "x:u:pw@h" as opaque, the password in plain view.
		return "[unparseable]"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// ConfigError lists every problem found in the configuration, one line each.
type ConfigError struct {
	Problems []string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// configReader reads variables and collects problems instead of stopping at
// the first, so that an operator sees all of them at once.
type configReader struct {
	getenv   func(string) string
	problems []string
}

func (r *configReader) problem(name, format string, args ...any) {
	r.problems = append(r.problems, name+": "+fmt.Sprintf(format, args...))
}

func (r *configReader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *configReader) intRange(name string, def, lo, hi int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.problem(name, "%q is not a whole number from %d to %d", v, lo, hi)
		return def
	}
	return n
}

func (r *configReader) boolean(name string, def bool) (value, set bool) {
	v := strings.ToLower(strings.TrimSpace(r.getenv(name)))
	switch v {
	case "":
		return def, false
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	r.problem(name, "%q is not a boolean (expected true or false)", v)
	return def, false
}

// LoadConfig reads the configuration through getenv and validates it.
// It returns a *ConfigError naming every invalid variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := &configReader{getenv: getenv}
	var c Config

	switch env := strings.ToLower(r.str("ENV", EnvDevelopment)); env {
	case EnvDevelopment, EnvProduction:
		c.Env = env
	default:
		r.problem("ENV", "%q is not development or production", env)
		c.Env = EnvProduction // validate the rest by the stricter rules
	}

	switch lvl := strings.ToUpper(r.str("LOG_LEVEL", "INFO")); lvl {
	case "DEBUG":
		c.LogLevel = slog.LevelDebug
	case "INFO":
		c.LogLevel = slog.LevelInfo
	case "WARNING", "WARN":
		c.LogLevel = slog.LevelWarn
	case "ERROR", "CRITICAL":
		c.LogLevel = slog.LevelError
	default:
		r.problem("LOG_LEVEL", "%q is not DEBUG, INFO, WARNING or ERROR", lvl)
	}

	c.Host = r.str("HOST", "0.0.0.0")
	c.Port = r.intRange("PORT", 8000, 1, 65535)

	dbURL := r.str("DATABASE_URL", "")
	c.DatabaseURL = Secret(dbURL)
	switch {
	case dbURL == "" && c.Production():
		// Production names its database: an unset variable is a deployment
		// mistake, not a request for a local file.
		r.problem("DATABASE_URL", "is required in production (postgres://user:password@host:5432/db)")
	case dbURL == "":
		c.DatabaseEngine, c.DatabasePath = EngineSQLite, DefaultSQLitePath
	case isSQLiteURL(dbURL):
		c.DatabaseEngine = EngineSQLite
		path, err := sqlite.ParseURL(dbURL)
		if err != nil {
			r.problem("DATABASE_URL", "%v (expected sqlite:///path/to/file.db)", err)
		}
		c.DatabasePath = path
	default:
		c.DatabaseEngine = EnginePostgres
		if _, err := postgres.NormalizeURL(dbURL); err != nil {
			r.problem("DATABASE_URL", "%v (expected postgres://user:password@host:5432/db or sqlite:///path/to/file.db)", err)
		}
	}
	c.DatabasePoolSize = r.intRange("DATABASE_POOL_SIZE", 20, 1, 1000)
	c.DatabasePoolMaxOverflow = r.intRange("DATABASE_POOL_MAX_OVERFLOW", 40, 0, 1000)
	c.DatabasePoolRecycle = time.Duration(r.intRange("DATABASE_POOL_RECYCLE_SECONDS", 3600, 1, 7*24*3600)) * time.Second
	c.DatabasePoolIdle = time.Duration(r.intRange("DATABASE_POOL_IDLE_SECONDS", 30, 1, 24*3600)) * time.Second
	c.DatabaseInstances = r.intRange("DATABASE_INSTANCES", 1, 1, 1000)
	c.DatabaseWait = time.Duration(r.intRange("DATABASE_WAIT_SECONDS", 30, 0, 3600)) * time.Second

	secret := r.getenv("JWT_SECRET")
	switch {
	case c.Production() && len(secret) < minProductionSecretLen:
		r.problem("JWT_SECRET", "must be at least %d characters in production (got %d)", minProductionSecretLen, len(secret))
	case secret == "":
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		secret, c.JWTSecretGenerated = hex.EncodeToString(b), true
	}
	c.JWTSecret = Secret(secret)
	c.JWTAlgorithm = strings.ToUpper(r.str("JWT_ALGORITHM", "HS256"))
	if c.JWTAlgorithm != "HS256" {
		r.problem("JWT_ALGORITHM", "%q is not supported (only HS256)", c.JWTAlgorithm)
	}
	c.JWTExpiration = time.Duration(r.intRange("JWT_EXPIRATION_HOURS", 24, 1, 24*366)) * time.Hour

	for _, e := range strings.Split(r.getenv("ADMIN_EMAILS"), ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		email, err := emails().Normalize(e)
		if err != nil {
			r.problem("ADMIN_EMAILS", "%q is not a valid email address", strings.TrimSpace(e))
			continue
		}
		c.AdminEmails = append(c.AdminEmails, email)
	}
	c.UserDailyQuota = r.intRange("USER_DAILY_QUOTA", 50, 0, 1_000_000)
	c.MaxAPIKeysPerUser = r.intRange("MAX_API_KEYS_PER_USER", 10, 1, 1000)
	c.MaxConversationsPerUser = r.intRange("MAX_CONVERSATIONS_PER_USER", 1000, 1, 1_000_000)
	c.ChatHistoryMaxChars = r.intRange("CHAT_HISTORY_MAX_CHARS", 32000, 1000, 10_000_000)
	c.ConversationRetention = time.Duration(r.intRange("CONVERSATION_RETENTION_DAYS", 0, 0, 36500)) * 24 * time.Hour

	allow, set := r.boolean("AUTH_ALLOW_EMAIL_LOGIN", !c.Production())
	if c.Production() && allow && set {
		r.problem("AUTH_ALLOW_EMAIL_LOGIN", "email-only login cannot be enabled in production (set it to false or remove it)")
		allow = false
	}
	c.AuthAllowEmailLogin, c.AuthAllowEmailLoginSet = allow, set
	c.PasswordHashMemoryMiB = r.intRange("PASSWORD_HASH_MEMORY_MIB", 0, 0, 1<<20)
	c.PasswordHashWait = time.Duration(r.intRange("PASSWORD_HASH_WAIT_MS", 2000, 1, 60_000)) * time.Millisecond
	c.LoginMaxFailures = r.intRange("LOGIN_MAX_FAILURES", 5, 0, 1000)
	c.LoginFailureWindow = time.Duration(r.intRange("LOGIN_FAILURE_WINDOW_SECONDS", 900, 1, 7*24*3600)) * time.Second

	c.MaxRequestSizeBytes = int64(r.intRange("MAX_REQUEST_SIZE_BYTES", 50_000, 1024, 64<<20))
	c.ShutdownTimeout = time.Duration(r.shutdownSeconds()) * time.Second
	c.HTTP2Cleartext, _ = r.boolean("HTTP2_CLEARTEXT", true)
	c.HTTP2MaxStreams = r.intRange("HTTP2_MAX_CONCURRENT_STREAMS", 250, 1, 10_000)

	c.Groq = r.provider("GROQ", "GROQ_API_KEYS", DefaultGroqBaseURL, 49)
	c.OpenRouter = r.provider("OPENROUTER", "OPENROUTER_API_KEYS", DefaultOpenRouterBaseURL, 60)
	c.HuggingFace = r.provider("HUGGINGFACE", "HUGGINGFACE_API_KEY", DefaultHuggingFaceBaseURL, 25)
	if c.RenderExternalURL = r.str("RENDER_EXTERNAL_URL", ""); c.RenderExternalURL != "" {
		r.httpURL("RENDER_EXTERNAL_URL", c.RenderExternalURL)
	}
	c.GroqFastModel = r.str("GROQ_FAST_MODEL", "llama-3.1-8b-instant")
	c.GroqBalancedModel = r.str("GROQ_BALANCED_MODEL", "llama-3.3-70b-versatile")
	c.OpenRouterBalancedModel = r.str("OPENROUTER_BALANCED_MODEL", "meta-llama/llama-3.3-70b-instruct")
	c.OpenRouterSmartModel = r.str("OPENROUTER_SMART_MODEL", "openai/gpt-4o-mini")
	c.HuggingFaceModel = r.str("HUGGINGFACE_MODEL", "meta-llama/Llama-3.1-8B-Instruct")

	c.RequestTimeout = time.Duration(r.intRange("REQUEST_TIMEOUT_SECONDS", 30, 1, 3600)) * time.Second
	c.FirstTokenTimeout = time.Duration(r.intRange("PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS", 10, 1, 600)) * time.Second
	c.ProviderCooldown = time.Duration(r.intRange("PROVIDER_COOLDOWN_SECONDS", 30, 1, 3600)) * time.Second
	c.ProviderKeyRejectCoolOff = time.Duration(r.intRange("PROVIDER_KEY_REJECT_COOLOFF_SECONDS", 600, 1, 86400)) * time.Second
	c.CircuitBreakerFailures = r.intRange("CIRCUIT_BREAKER_FAILURES", 5, 1, 1000)
	c.CircuitBreakerCoolOff = time.Duration(r.intRange("CIRCUIT_BREAKER_COOLDOWN_SECONDS", 30, 1, 3600)) * time.Second
	c.MaxPromptChars = r.intRange("MAX_PROMPT_CHARS", 32000, 1, 1_000_000)
	c.SSEKeepAlive = time.Duration(r.intRange("SSE_KEEPALIVE_SECONDS", 15, 1, 300)) * time.Second
	c.MockProviderDelay = time.Duration(r.intRange("MOCK_PROVIDER_DELAY_MS", 40, 0, 10_000)) * time.Millisecond

	r.edge(&c)
	r.observability(&c)
	r.pprof(&c)
	r.mail(&c)
	r.developmentDeployment(&c)
	c.DocsEnabled, _ = r.boolean("DOCS_ENABLED", true)
	c.WebUIEnabled, _ = r.boolean("WEB_UI_ENABLED", true)

	r.cache(&c)
	r.images(&c)
	r.voice(&c)
	c.EnableWebSearch, _ = r.boolean("ENABLE_WEB_SEARCH", true)
	c.WebSearchMax = r.intRange("WEB_SEARCH_MAX_RESULTS", 10, 1, 30)
	c.WebSearchCacheTTL = time.Duration(r.intRange("WEB_SEARCH_CACHE_TTL_SECONDS", 600, 0, 86400)) * time.Second
	c.WebSearchNegativeTTL = time.Duration(r.intRange("WEB_SEARCH_NEGATIVE_TTL_SECONDS", 60, 0, 3600)) * time.Second
	c.DuckDuckGoBaseURL = r.str("DUCKDUCKGO_BASE_URL", "https://html.duckduckgo.com/html/")
	r.httpURL("DUCKDUCKGO_BASE_URL", c.DuckDuckGoBaseURL)
	c.DuckDuckGoLiteURL = r.str("DUCKDUCKGO_LITE_URL", "https://lite.duckduckgo.com/lite/")
	r.httpURL("DUCKDUCKGO_LITE_URL", c.DuckDuckGoLiteURL)

	c.ProviderCheckInterval = time.Duration(r.intRange("PROVIDER_CHECK_INTERVAL_SECONDS", 60, 0, 24*3600)) * time.Second
	c.ProviderCheckTimeout = time.Duration(r.intRange("PROVIDER_CHECK_TIMEOUT_SECONDS", 5, 1, 300)) * time.Second
	c.ProviderDegradedLatency = time.Duration(r.intRange("PROVIDER_DEGRADED_LATENCY_MS", 3000, 1, 600_000)) * time.Millisecond
	c.ProviderDegradedErrRate = r.fraction("PROVIDER_DEGRADED_ERROR_RATE", 0.25)
	c.ProviderCheckRetention = time.Duration(r.intRange("PROVIDER_CHECK_RETENTION_DAYS", 30, 1, 3650)) * 24 * time.Hour
	c.StatusCacheTTL = time.Duration(r.intRange("STATUS_CACHE_SECONDS", 30, 0, 3600)) * time.Second

	if len(r.problems) > 0 {
		return c, &ConfigError{Problems: r.problems}
	}
	return c, nil
}

// cache reads the response cache's settings.
func (r *configReader) cache(c *Config) {
	c.CacheEnabled, _ = r.boolean("CACHE_ENABLED", false)
	c.CacheTTL = time.Duration(r.intRange("CACHE_TTL_SECONDS", 3600, 1, 30*86400)) * time.Second
	c.CacheMaxBytes = int64(r.intRange("CACHE_MAX_BYTES", 64<<20, 1, 1<<40))
	switch scope := chat.CacheScope(strings.ToLower(r.str("CACHE_SCOPE", string(chat.CacheScopeUser)))); {
	case scope.Valid():
		c.CacheScope = scope
	default:
		r.problem("CACHE_SCOPE", "%q is not user or global", scope)
		c.CacheScope = chat.CacheScopeUser
	}
}

// ImagesConfig configures image generation.
type ImagesConfig struct {
	// Enabled turns the image routes on (ENABLE_IMAGE_GENERATION, default
	// false).
	Enabled bool
	// Providers is the fallback chain (IMAGE_PROVIDERS, default
	// huggingface,openrouter).
	Providers []domain.Provider
	// QuotaCost is the units of the daily quota one request takes
	// (IMAGE_QUOTA_COST, default 5).
	QuotaCost int
	// HuggingFaceModel and OpenRouterModel are the image models
	// (HUGGINGFACE_IMAGE_MODEL, OPENROUTER_IMAGE_MODEL).
	HuggingFaceModel string
	OpenRouterModel  string
	// HuggingFaceInferenceURL is the root of Hugging Face's inference
	// router for task models (HUGGINGFACE_INFERENCE_URL).
	HuggingFaceInferenceURL string
}

// Default image models.
const (
	DefaultHuggingFaceImageModel = "black-forest-labs/FLUX.1-schnell"
	DefaultOpenRouterImageModel  = "google/gemini-2.5-flash-image"
)

// imageProviders are the providers that can generate images.
var imageProviders = []domain.Provider{domain.ProviderHuggingFace, domain.ProviderOpenRouter}

// images reads the image generation keys.
func (r *configReader) images(c *Config) {
	c.Images.Enabled, _ = r.boolean("ENABLE_IMAGE_GENERATION", false)
	c.Images.QuotaCost = r.intRange("IMAGE_QUOTA_COST", 5, 1, 1000)
	c.Images.HuggingFaceModel = r.str("HUGGINGFACE_IMAGE_MODEL", DefaultHuggingFaceImageModel)
	c.Images.OpenRouterModel = r.str("OPENROUTER_IMAGE_MODEL", DefaultOpenRouterImageModel)
	c.Images.HuggingFaceInferenceURL = r.str("HUGGINGFACE_INFERENCE_URL", huggingface.DefaultInferenceURL)
	r.httpURL("HUGGINGFACE_INFERENCE_URL", c.Images.HuggingFaceInferenceURL)
	c.Images.Providers = nil
	seen, named := map[domain.Provider]bool{}, false
	for _, name := range strings.Split(r.str("IMAGE_PROVIDERS", "huggingface,openrouter"), ",") {
		p := domain.Provider(strings.ToLower(strings.TrimSpace(name)))
		named = named || p != ""
		switch {
		case p == "":
		case !slices.Contains(imageProviders, p):
			r.problem("IMAGE_PROVIDERS", "%q cannot generate images (huggingface or openrouter)", p)
		case seen[p]:
			r.problem("IMAGE_PROVIDERS", "%q is listed twice", p)
		default:
			seen[p] = true
			c.Images.Providers = append(c.Images.Providers, p)
		}
	}
	if !named {
		r.problem("IMAGE_PROVIDERS", "names no provider (huggingface, openrouter)")
	}
}

// VoiceConfig configures transcription and speech.
type VoiceConfig struct {
	// Enabled turns the voice routes on (ENABLE_VOICE, default false).
	Enabled bool
	// Providers is the fallback chain (VOICE_PROVIDERS, default groq).
	Providers []domain.Provider
	// GroqTranscriptionModel and GroqSpeechModel are Groq's voice models
	// (GROQ_TRANSCRIPTION_MODEL, GROQ_SPEECH_MODEL).
	GroqTranscriptionModel string
	GroqSpeechModel        string
	// GroqSpeechVoices are the speech model's voices, the default
	// (GROQ_SPEECH_VOICE) first, then the others of GROQ_SPEECH_VOICES.
	GroqSpeechVoices []string
	// MaxAudioBytes bounds an upload to transcribe (MAX_AUDIO_BYTES,
	// default 25 MiB, Groq's own limit).
	MaxAudioBytes int64
	// MaxSpeechChars bounds the text read aloud (MAX_SPEECH_CHARS, default
	// 4096).
	MaxSpeechChars int
}

// Defaults of the voice keys.
const (
	DefaultGroqTranscriptionModel = "whisper-large-v3-turbo"
	DefaultGroqSpeechModel        = "playai-tts"
	DefaultGroqSpeechVoice        = "Fritz-PlayAI"
	// DefaultGroqSpeechVoices are playai-tts's English voices.
	DefaultGroqSpeechVoices = "Fritz-PlayAI,Arista-PlayAI,Atlas-PlayAI,Basil-PlayAI,Briggs-PlayAI,Calum-PlayAI,Celeste-PlayAI," +
		"Cheyenne-PlayAI,Chip-PlayAI,Cillian-PlayAI,Deedee-PlayAI,Gail-PlayAI,Indigo-PlayAI,Mamaw-PlayAI,Mason-PlayAI," +
		"Mikail-PlayAI,Mitch-PlayAI,Quinn-PlayAI,Thunder-PlayAI"
	// MaxAudioBytesLimit bounds MAX_AUDIO_BYTES: an upload is held in
	// memory while it is transcribed.
	MaxAudioBytesLimit = 100 << 20
)

// voiceProviders are the providers that can transcribe and speak.
var voiceProviders = []domain.Provider{domain.ProviderGroq}

// voice reads the voice keys.
func (r *configReader) voice(c *Config) {
	c.Voice.Enabled, _ = r.boolean("ENABLE_VOICE", false)
	c.Voice.Providers = nil
	seen, named := map[domain.Provider]bool{}, false
	for _, name := range strings.Split(r.str("VOICE_PROVIDERS", "groq"), ",") {
		p := domain.Provider(strings.ToLower(strings.TrimSpace(name)))
		named = named || p != ""
		switch {
		case p == "":
		case !slices.Contains(voiceProviders, p):
			r.problem("VOICE_PROVIDERS", "%q cannot transcribe or speak (groq)", p)
		case seen[p]:
			r.problem("VOICE_PROVIDERS", "%q is listed twice", p)
		default:
			seen[p] = true
			c.Voice.Providers = append(c.Voice.Providers, p)
		}
	}
	if !named {
		r.problem("VOICE_PROVIDERS", "names no provider (groq)")
	}
	c.Voice.GroqTranscriptionModel = r.str("GROQ_TRANSCRIPTION_MODEL", DefaultGroqTranscriptionModel)
	c.Voice.GroqSpeechModel = r.str("GROQ_SPEECH_MODEL", DefaultGroqSpeechModel)
	c.Voice.MaxAudioBytes = int64(r.intRange("MAX_AUDIO_BYTES", 25<<20, 1024, MaxAudioBytesLimit))
	c.Voice.MaxSpeechChars = r.intRange("MAX_SPEECH_CHARS", 4096, 1, 100_000)
	c.Voice.GroqSpeechVoices = r.speechVoices()
}

// speechVoices reads GROQ_SPEECH_VOICE and GROQ_SPEECH_VOICES: the default
// first, then the others in their order. The default must be one of them.
func (r *configReader) speechVoices() []string {
	def := r.str("GROQ_SPEECH_VOICE", DefaultGroqSpeechVoice)
	voices := []string{def}
	listed := false
	for _, name := range strings.Split(r.str("GROQ_SPEECH_VOICES", DefaultGroqSpeechVoices), ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case len(name) > 100 || strings.IndexFunc(name, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0:
			r.problem("GROQ_SPEECH_VOICES", "%q is not a voice name (no spaces, at most 100 characters)", name)
		case name == def:
			listed = true
		case !slices.Contains(voices, name):
			voices = append(voices, name)
		}
	}
	if !listed {
		r.problem("GROQ_SPEECH_VOICE", "%q is not one of GROQ_SPEECH_VOICES (add it there)", def)
	}
	return voices
}

// shutdownSeconds reads SHUTDOWN_TIMEOUT_SECONDS or its alias
// SHUTDOWN_GRACE_SECONDS; both set to different values is a problem rather
// than a silent choice of one.
func (r *configReader) shutdownSeconds() int {
	before := len(r.problems)
	timeout := r.intRange("SHUTDOWN_TIMEOUT_SECONDS", 15, 1, 3600)
	timeoutSet := strings.TrimSpace(r.getenv("SHUTDOWN_TIMEOUT_SECONDS")) != "" && len(r.problems) == before
	if strings.TrimSpace(r.getenv("SHUTDOWN_GRACE_SECONDS")) == "" {
		return timeout
	}
	before = len(r.problems)
	grace := r.intRange("SHUTDOWN_GRACE_SECONDS", 15, 1, 3600)
	if len(r.problems) > before {
		return timeout // already reported
	}
	if timeoutSet && grace != timeout {
		r.problem("SHUTDOWN_GRACE_SECONDS", "%d differs from SHUTDOWN_TIMEOUT_SECONDS=%d; it is another name for it, set only one", grace, timeout)
	}
	return grace
}

// edge reads the hosts, origins, proxies and rate limits.
func (r *configReader) edge(c *Config) {
	renderHost := ""
	if u, err := url.Parse(c.RenderExternalURL); err == nil && c.RenderExternalURL != "" {
		renderHost = strings.ToLower(u.Hostname())
	}
	c.AllowedHosts = list(r.getenv("ALLOWED_HOSTS"))
	if len(c.AllowedHosts) == 0 {
		c.AllowedHosts = []string{"localhost", "127.0.0.1", "::1"}
		if renderHost != "" {
			c.AllowedHosts = append(c.AllowedHosts, renderHost)
		}
	}
	for i, h := range c.AllowedHosts {
		c.AllowedHosts[i] = strings.ToLower(h)
		if h == "*" && c.Production() {
			r.problem("ALLOWED_HOSTS", `"*" is allowed only in development; list the hosts that serve the API`)
		}
	}

	c.AllowedOrigins = list(r.getenv("ALLOWED_ORIGINS"))
	if len(c.AllowedOrigins) == 0 && !c.Production() {
		c.AllowedOrigins = []string{"http://localhost:3000", "http://localhost:5173", "http://127.0.0.1:3000", "http://127.0.0.1:5173"}
	}
	if len(c.AllowedOrigins) == 0 && c.RenderExternalURL != "" {
		if u, err := url.Parse(c.RenderExternalURL); err == nil {
			c.AllowedOrigins = []string{u.Scheme + "://" + u.Host}
		}
	}
	for i, o := range c.AllowedOrigins {
		o = strings.TrimRight(o, "/")
		c.AllowedOrigins[i] = o
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			r.problem("ALLOWED_ORIGINS", "%q is not an origin like https://app.example.com", o)
		}
	}

	for _, p := range list(r.getenv("TRUSTED_PROXIES")) {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			r.problem("TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}

	window := time.Duration(r.intRange("RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86400)) * time.Second
	c.RateLimit = domain.Rate{Limit: r.intRange("RATE_LIMIT_PER_MINUTE", 60, 0, 10_000_000), Period: window}
	c.AuthRateLimit = domain.Rate{Limit: r.intRange("AUTH_RATE_LIMIT_PER_MINUTE", 10, 0, 10_000_000), Period: time.Minute}
	if redisURL := r.str("REDIS_URL", ""); redisURL != "" {
		if u, err := url.Parse(redisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			r.problem("REDIS_URL", "%s is not a redis:// or rediss:// URL", RedactURL(redisURL))
		}
		c.RedisURL = Secret(redisURL)
	}
	c.RateLimitFailOpen, _ = r.boolean("RATE_LIMIT_FAIL_OPEN", true)
	switch c.QuotaCounting = strings.ToLower(r.str("QUOTA_COUNTING", QuotaCountingAuto)); c.QuotaCounting {
	case QuotaCountingAuto, QuotaCountingDatabase:
	default:
		r.problem("QUOTA_COUNTING", "%q is not auto or database", c.QuotaCounting)
	}
	c.MaxConcurrentPerUser = r.intRange("MAX_CONCURRENT_REQUESTS_PER_USER", 10, 0, 100_000)
}

// Values of QUOTA_COUNTING (see "Quota counting" in the README).
const (
	QuotaCountingAuto     = "auto"
	QuotaCountingDatabase = "database"
)

// minProductionMetricsTokenLen is the shortest METRICS_TOKEN accepted in production.
const minProductionMetricsTokenLen = 16

// observability reads the metrics token, LOG_PROMPTS and the OpenTelemetry
// variables. Tracing is on when an OTLP endpoint is set (and
// OTEL_SDK_DISABLED is not true); only OTLP over HTTP with protobuf is
// spoken.
func (r *configReader) observability(c *Config) {
	token := strings.TrimSpace(r.getenv("METRICS_TOKEN"))
	switch {
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		r.problem("METRICS_TOKEN", "must not contain spaces or control characters")
	case c.Production() && token != "" && len(token) < minProductionMetricsTokenLen:
		r.problem("METRICS_TOKEN", "must be at least %d characters in production (got %d)", minProductionMetricsTokenLen, len(token))
	}
	c.MetricsToken = Secret(token)
	c.MetricsAddr = r.str("METRICS_ADDR", "")
	if c.MetricsAddr != "" {
		r.hostPort("METRICS_ADDR", c.MetricsAddr, "127.0.0.1:9090")
	}
	if c.Production() && token == "" && c.MetricsAddr == "" {
		// The scrape shows traffic, users' request counts and the
		// providers' state to anyone who asks.
		r.problem("METRICS_TOKEN", "is required in production to protect /metrics on the API port; set it, or set METRICS_ADDR (such as 127.0.0.1:9090) to serve /metrics on a separate private listener")
	}
	c.LogPrompts, _ = r.boolean("LOG_PROMPTS", false)

	t := &c.Tracing
	t.ServiceName = r.str("OTEL_SERVICE_NAME", tracing.DefaultServiceName)
	t.Sampler = strings.ToLower(r.str("OTEL_TRACES_SAMPLER", "parentbased_always_on"))
	t.SamplerArg = r.fraction("OTEL_TRACES_SAMPLER_ARG", 1)
	if _, err := tracing.NewSampler(t.Sampler, t.SamplerArg); err != nil {
		r.problem("OTEL_TRACES_SAMPLER", "%q is not one of %s", t.Sampler, strings.Join(tracing.Samplers, ", "))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := r.str(name, ""); p != "" && p != "http/protobuf" {
			r.problem(name, "%q is not supported (only http/protobuf)", p)
		}
	}
	headersVar := "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	headers := r.str(headersVar, "")
	if headers == "" {
		headersVar, headers = "OTEL_EXPORTER_OTLP_HEADERS", r.str("OTEL_EXPORTER_OTLP_HEADERS", "")
	}
	if _, err := tracing.ParseHeaders(headers); err != nil {
		r.problem(headersVar, "%v (expected key=value,key2=value2 with URL-encoded values)", err)
	}
	t.Headers = Secret(headers)
	if base := r.str("OTEL_EXPORTER_OTLP_ENDPOINT", ""); base != "" {
		r.httpURL("OTEL_EXPORTER_OTLP_ENDPOINT", base)
		// The base URL of every signal: traces go to its /v1/traces.
		t.Endpoint = strings.TrimRight(base, "/") + "/v1/traces"
	}
	if traces := r.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""); traces != "" {
		r.httpURL("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces)
		t.Endpoint = traces // used as given
	}
	if disabled, _ := r.boolean("OTEL_SDK_DISABLED", false); disabled {
		t.Endpoint = ""
	}
}

// developmentDeployment refuses development settings on what looks like a
// deployment: ENV defaults to development, which allows passwordless
// email-only login (admins included) and a random JWT secret, so an
// operator who forgets ENV but sets a PostgreSQL URL or provider keys would
// serve passwordless login to the world. AUTH_ALLOW_EMAIL_LOGIN given
// explicitly (true or false) says the choice was made on purpose. Keys for
// a provider at a loopback base URL (a local fake or test double) do not
// count: they reach nothing real.
func (r *configReader) developmentDeployment(c *Config) {
	if c.Production() || c.AuthAllowEmailLoginSet {
		return
	}
	var why []string
	if c.DatabaseEngine == EnginePostgres {
		// An invalid URL has its own problem line already.
		if _, err := postgres.NormalizeURL(c.DatabaseURL.Reveal()); err == nil {
			why = append(why, "DATABASE_URL is PostgreSQL")
		}
	}
	for _, p := range []struct {
		name string
		cfg  ProviderConfig
	}{{"GROQ_API_KEYS", c.Groq}, {"OPENROUTER_API_KEYS", c.OpenRouter}, {"HUGGINGFACE_API_KEY", c.HuggingFace}} {
		if p.cfg.Configured() && !loopbackURL(p.cfg.BaseURL) {
			why = append(why, p.name+" is set")
		}
	}
	if len(why) == 0 {
		return
	}
	r.problem("ENV", "is development (the default) but %s, and development allows passwordless email-only login: "+
		"set ENV=production, or AUTH_ALLOW_EMAIL_LOGIN=true to keep passwordless development login on purpose (false to turn it off)",
		strings.Join(why, " and "))
}

// loopbackURL reports whether raw is a URL whose host is a loopback address.
func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopbackHost(u.Hostname())
}

// pprof reads the profiling listener's address. pprof serves heap profiles
// and goroutine stacks, which hold memory contents (tokens, prompts, keys),
// so an address anyone else could reach needs PPROF_ALLOW_REMOTE=true.
func (r *configReader) pprof(c *Config) {
	c.PprofAllowRemote, _ = r.boolean("PPROF_ALLOW_REMOTE", false)
	c.PprofAddr = r.str("PPROF_ADDR", "")
	if c.PprofAddr == "" {
		return
	}
	host, ok := r.hostPort("PPROF_ADDR", c.PprofAddr, "127.0.0.1:6060")
	if ok && !c.PprofAllowRemote && !isLoopbackHost(host) {
		r.problem("PPROF_ADDR", "%q is not a loopback address (127.0.0.1, ::1 or localhost); pprof exposes memory contents, so set PPROF_ALLOW_REMOTE=true to listen there anyway", c.PprofAddr)
	}
}

// hostPort checks that v is host:port with a port from 0 to 65535 and
// returns the host.
func (r *configReader) hostPort(name, v, example string) (string, bool) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		r.problem(name, "%q is not host:port (such as %s)", v, example)
		return "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		r.problem(name, "%q does not end in a port number from 0 to 65535", v)
		return "", false
	}
	return host, true
}

// isLoopbackHost reports whether host is localhost or an IP address of
// 127.0.0.0/8 or ::1. An empty host (all interfaces) is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// list splits a comma-separated variable, dropping blanks.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fraction reads a number from 0 to 1.
func (r *configReader) fraction(name string, def float64) float64 {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		r.problem(name, "%q is not a number from 0 to 1", v)
		return def
	}
	return f
}

// Default provider base URLs.
const (
	DefaultGroqBaseURL        = groq.DefaultBaseURL
	DefaultOpenRouterBaseURL  = openrouter.DefaultBaseURL
	DefaultHuggingFaceBaseURL = huggingface.DefaultBaseURL
)

// provider reads PREFIX_BASE_URL, the keys variable and PREFIX_RPM_PER_KEY.
func (r *configReader) provider(prefix, keysVar, defaultURL string, defaultRPM int) ProviderConfig {
	p := ProviderConfig{
		BaseURL:   strings.TrimRight(r.str(prefix+"_BASE_URL", defaultURL), "/"),
		RPMPerKey: r.intRange(prefix+"_RPM_PER_KEY", defaultRPM, 0, 1_000_000),
	}
	r.httpURL(prefix+"_BASE_URL", p.BaseURL)
	seen := map[string]bool{}
	for _, k := range strings.Split(r.getenv(keysVar), ",") {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue // a repeated key would only count its budget twice
		}
		seen[k] = true
		p.Keys = append(p.Keys, Secret(k))
	}
	return p
}

// mail reads SMTP_URL and what mail needs with it.
func (r *configReader) mail(c *Config) {
	m := &c.Mail
	m.SMTPURL = Secret(r.str("SMTP_URL", ""))
	m.From = r.str("SMTP_FROM", "")
	m.PublicURL = strings.TrimRight(r.str("PUBLIC_URL", ""), "/")
	m.RatePerHour = r.intRange("EMAIL_RATE_LIMIT_PER_HOUR", 3, 1, 1000)
	m.TokenTTL = 24 * time.Hour
	if v := r.str("EMAIL_TOKEN_TTL", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Minute || d > 30*24*time.Hour {
			r.problem("EMAIL_TOKEN_TTL", "%q is not a duration from 5m to 720h (such as 24h)", v)
		} else {
			m.TokenTTL = d
		}
	}
	if !m.Enabled() {
		return
	}
	// The sender is checked here, so that the URL check below blames only the URL.
	from := m.From
	if _, err := emails().Normalize(from); err != nil {
		if from == "" {
			r.problem("SMTP_FROM", "is required with SMTP_URL (the sender address of the mails, such as noreply@example.com)")
		} else {
			r.problem("SMTP_FROM", "%q is not a valid email address", from)
		}
		from = "noreply@example.com"
	}
	if _, err := smtpmail.New(smtpmail.Config{URL: m.SMTPURL.Reveal(), From: from}); err != nil {
		r.problem("SMTP_URL", "%v (expected smtp://user:password@host:587 or smtps://user:password@host:465)", err)
	}
	if m.PublicURL == "" {
		r.problem("PUBLIC_URL", "is required with SMTP_URL (the address mailed links point to, such as https://chat.example.com)")
	} else {
		r.httpURL("PUBLIC_URL", m.PublicURL)
	}
}

// httpURL checks that v is an absolute http(s) URL.
func (r *configReader) httpURL(name, v string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.problem(name, "%q is not an http:// or https:// URL", RedactURL(v))
	}
}
