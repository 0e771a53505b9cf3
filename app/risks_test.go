package app_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
)

// TestLoadConfigRefusesDevelopmentDeployment performs the attack of issue
// 19: an operator forgets ENV but points the server at PostgreSQL or gives
// it real provider keys, and development would serve passwordless login.
func TestLoadConfigRefusesDevelopmentDeployment(t *testing.T) {
	t.Parallel()
	const pg = "postgres://genzai:pw@db.example.com:5432/genzai"
	tests := []struct {
		name    string
		env     map[string]string
		refused []string // what the one ENV line names; nil: accepted
		email   bool     // email-only login when accepted
	}{
		{name: "nothing set: SQLite, mock provider", env: map[string]string{}, email: true},
		{name: "SQLite file", env: map[string]string{"DATABASE_URL": "sqlite:///tmp/x.db"}, email: true},
		{name: "PostgreSQL, ENV unset", env: map[string]string{"DATABASE_URL": pg}, refused: []string{"DATABASE_URL is PostgreSQL"}},
		{name: "PostgreSQL, ENV=development", env: map[string]string{"ENV": "development", "DATABASE_URL": pg}, refused: []string{"DATABASE_URL is PostgreSQL"}},
		{name: "Groq keys", env: map[string]string{"GROQ_API_KEYS": "gsk_live"}, refused: []string{"GROQ_API_KEYS is set"}},
		{name: "OpenRouter keys", env: map[string]string{"OPENROUTER_API_KEYS": "sk-or"}, refused: []string{"OPENROUTER_API_KEYS is set"}},
		{name: "Hugging Face key", env: map[string]string{"HUGGINGFACE_API_KEY": "hf_x"}, refused: []string{"HUGGINGFACE_API_KEY is set"}},
		{name: "PostgreSQL and keys: both named", env: map[string]string{"DATABASE_URL": pg, "GROQ_API_KEYS": "gsk_live"},
			refused: []string{"DATABASE_URL is PostgreSQL", "GROQ_API_KEYS is set"}},
		{name: "keys for a provider on loopback (a local fake)", env: map[string]string{"GROQ_API_KEYS": "k", "GROQ_BASE_URL": "http://127.0.0.1:9999/v1"}, email: true},
		{name: "keys for a provider on localhost", env: map[string]string{"GROQ_API_KEYS": "k", "GROQ_BASE_URL": "http://localhost:9999/v1"}, email: true},
		{name: "keys for a remote provider base URL", env: map[string]string{"GROQ_API_KEYS": "k", "GROQ_BASE_URL": "https://proxy.example.com/v1"}, refused: []string{"GROQ_API_KEYS is set"}},
		{name: "explicit true keeps passwordless login", env: map[string]string{"DATABASE_URL": pg, "GROQ_API_KEYS": "k", "AUTH_ALLOW_EMAIL_LOGIN": "true"}, email: true},
		{name: "explicit false turns it off", env: map[string]string{"DATABASE_URL": pg, "AUTH_ALLOW_EMAIL_LOGIN": "false"}, email: false},
		{name: "blank counts as unset", env: map[string]string{"DATABASE_URL": pg, "AUTH_ALLOW_EMAIL_LOGIN": " "}, refused: []string{"DATABASE_URL is PostgreSQL"}},
		{name: "production is not affected", env: prod(nil), email: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			if tc.refused == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.email, cfg.AuthAllowEmailLogin)
				return
			}
			var ce *app.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Problems, 1, "one line")
			line := ce.Problems[0]
			assert.True(t, strings.HasPrefix(line, "ENV: is development"), line)
			assert.NotContains(t, line, "\n")
			for _, why := range tc.refused {
				assert.Contains(t, line, why)
			}
			assert.Contains(t, line, "set ENV=production, or AUTH_ALLOW_EMAIL_LOGIN=true")
			assert.NotContains(t, line, "pw@", "no secret in the line")
		})
	}
}

func TestLoadConfigDocsEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{prod(nil), true},
		{map[string]string{"DOCS_ENABLED": "false"}, false},
		{prod(map[string]string{"DOCS_ENABLED": "0"}), false},
	} {
		cfg, err := app.LoadConfig(getenv(tc.env))
		require.NoError(t, err)
		assert.Equal(t, tc.want, cfg.DocsEnabled, "%v", tc.env)
	}
	_, err := app.LoadConfig(getenv(map[string]string{"DOCS_ENABLED": "maybe"}))
	assert.Equal(t, []string{"DOCS_ENABLED"}, problemVars(t, err))
}

// TestConfigRisks lists what genzai doctor warns about: each setting alone
// adds its line, and a hardened production configuration has none.
func TestConfigRisks(t *testing.T) {
	t.Parallel()
	hardened := prod(map[string]string{"DOCS_ENABLED": "false", "REDIS_URL": "redis://redis.internal:6379/0",
		"SMTP_URL": "smtp://mail.internal:25", "SMTP_FROM": "genzai@example.com", "PUBLIC_URL": "https://chat.example.com"})
	tests := []struct {
		name string
		env  map[string]string
		want string // the start of the one risk; "" for none
	}{
		{name: "hardened production", env: hardened},
		{name: "ENV unset", env: map[string]string{"METRICS_TOKEN": "t", "AUTH_ALLOW_EMAIL_LOGIN": "false"}, want: "ENV is development"},
		{name: "no mail in production", env: with(hardened, "SMTP_URL", ""), want: "SMTP_URL is not set in production"},
		{name: "no Redis for PostgreSQL in production", env: with(hardened, "REDIS_URL", ""), want: "REDIS_URL is not set"},
		{name: "login guard off", env: with(hardened, "LOGIN_MAX_FAILURES", "0"), want: "LOGIN_MAX_FAILURES is 0"},
		{name: "no concurrency bound", env: with(hardened, "MAX_CONCURRENT_REQUESTS_PER_USER", "0"), want: "MAX_CONCURRENT_REQUESTS_PER_USER is 0"},
		{name: "METRICS_ADDR on every interface without a token", env: with(hardened, "METRICS_TOKEN", "", "METRICS_ADDR", ":9090"), want: "METRICS_TOKEN is not set and METRICS_ADDR :9090"},
		{name: "METRICS_ADDR on loopback without a token", env: with(hardened, "METRICS_TOKEN", "", "METRICS_ADDR", "127.0.0.1:9090")},
		{name: "docs in production", env: with(hardened, "DOCS_ENABLED", "true"), want: "DOCS_ENABLED is on in production"},
		{name: "SQLite in production", env: with(hardened, "DATABASE_URL", "sqlite:///var/lib/genzai.db"), want: "DATABASE_URL is SQLite in production"},
		{name: "rate limit off", env: with(hardened, "RATE_LIMIT_PER_MINUTE", "0"), want: "RATE_LIMIT_PER_MINUTE is 0"},
		{name: "auth rate limit off", env: with(hardened, "AUTH_RATE_LIMIT_PER_MINUTE", "0"), want: "AUTH_RATE_LIMIT_PER_MINUTE is 0"},
		{name: "any CORS origin", env: with(hardened, "ALLOWED_ORIGINS", "*"), want: `ALLOWED_ORIGINS contains "*"`},
		{name: "remote pprof", env: with(hardened, "PPROF_ADDR", "0.0.0.0:6060", "PPROF_ALLOW_REMOTE", "true"), want: "PPROF_ADDR 0.0.0.0:6060 is not a loopback address"},
		{name: "loopback pprof", env: with(hardened, "PPROF_ADDR", "127.0.0.1:6060")},
		{name: "prompts logged", env: with(hardened, "LOG_PROMPTS", "true"), want: "LOG_PROMPTS is on"},
		{name: "ADMIN_EMAILS with SMTP_URL", env: with(hardened, "ADMIN_EMAILS", "ops@example.com")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			require.NoError(t, err)
			risks := cfg.Risks()
			if tc.want == "" {
				assert.Empty(t, risks)
				return
			}
			require.Len(t, risks, 1, "%q", risks)
			assert.True(t, strings.HasPrefix(risks[0], tc.want), risks[0])
		})
	}

	t.Run("ADMIN_EMAILS without SMTP_URL", func(t *testing.T) {
		t.Parallel()
		cfg, err := app.LoadConfig(getenv(with(hardened, "ADMIN_EMAILS", "ops@example.com", "SMTP_URL", "")))
		require.NoError(t, err)
		risks := cfg.Risks()
		require.Len(t, risks, 2, "%q", risks)
		assert.True(t, strings.HasPrefix(risks[0], "ADMIN_EMAILS is set without SMTP_URL"), risks[0])
		assert.True(t, strings.HasPrefix(risks[1], "SMTP_URL is not set in production"), risks[1])
	})

	t.Run("METRICS_TOKEN unset on the API port", func(t *testing.T) {
		t.Parallel()
		// Production refuses it outright; development warns.
		_, err := app.LoadConfig(getenv(with(hardened, "METRICS_TOKEN", "")))
		assert.Equal(t, []string{"METRICS_TOKEN"}, problemVars(t, err))
		cfg, err := app.LoadConfig(getenv(map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "false"}))
		require.NoError(t, err)
		assert.Contains(t, cfg.Risks(), "METRICS_TOKEN is not set: /metrics on the API port is open to anyone who reaches it")
	})

	t.Run("development with email login names both", func(t *testing.T) {
		t.Parallel()
		cfg, err := app.LoadConfig(getenv(map[string]string{"METRICS_TOKEN": "t"}))
		require.NoError(t, err)
		risks := cfg.Risks()
		require.Len(t, risks, 2, "%q", risks)
		assert.Contains(t, risks[0], "ENV is development")
		assert.Contains(t, risks[1], "AUTH_ALLOW_EMAIL_LOGIN is on")
	})
}

// with returns a copy of env with the given name, value pairs set.
func with(env map[string]string, kv ...string) map[string]string {
	out := maps.Clone(env)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestConfigFeatureGaps: a feature turned on warns when none of its chain's
// providers has keys (it serves nothing), or some of them have none.
func TestConfigFeatureGaps(t *testing.T) {
	t.Parallel()
	base := prod(map[string]string{"GROQ_API_KEYS": "", "OPENROUTER_API_KEYS": "", "HUGGINGFACE_API_KEY": ""})
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "off", env: with(base, "GROQ_API_KEYS", "gsk-a")},
		{name: "voice with Groq keys", env: with(base, "ENABLE_VOICE", "true", "GROQ_API_KEYS", "gsk-a")},
		{name: "voice without Groq keys", env: with(base, "ENABLE_VOICE", "true", "OPENROUTER_API_KEYS", "sk-or-a"),
			want: []string{"ENABLE_VOICE=true but no provider of VOICE_PROVIDERS has API keys: voice stays off until one of groq (GROQ_API_KEYS) is set"}},
		{name: "images with every key", env: with(base, "ENABLE_IMAGE_GENERATION", "true", "OPENROUTER_API_KEYS", "sk-or-a", "HUGGINGFACE_API_KEY", "hf_a")},
		{name: "images with OpenRouter's only", env: with(base, "ENABLE_IMAGE_GENERATION", "true", "OPENROUTER_API_KEYS", "sk-or-a"),
			want: []string{"ENABLE_IMAGE_GENERATION=true but huggingface (HUGGINGFACE_API_KEY) of IMAGE_PROVIDERS has no API keys: skipped in the image generation chain"}},
		{name: "both without keys", env: with(base, "ENABLE_IMAGE_GENERATION", "true", "ENABLE_VOICE", "true", "GROQ_API_KEYS", "gsk-a", "VOICE_PROVIDERS", "groq",
			"IMAGE_PROVIDERS", "openrouter,huggingface"),
			want: []string{"ENABLE_IMAGE_GENERATION=true but no provider of IMAGE_PROVIDERS has API keys: image generation stays off until one of " +
				"openrouter (OPENROUTER_API_KEYS), huggingface (HUGGINGFACE_API_KEY) is set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.FeatureGaps())
		})
	}
}
