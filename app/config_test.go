package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// getenv returns a getenv func backed by m.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// prod is a valid production environment plus overrides.
func prod(overrides map[string]string) map[string]string {
	m := map[string]string{
		"ENV":          "production",
		"DATABASE_URL": "postgres://genzai:pw@db.example.com:5432/genzai",
		"JWT_SECRET":   strings.Repeat("s", 32),
		// Required in production (or METRICS_ADDR): an override of "" removes it.
		"METRICS_TOKEN": strings.Repeat("m", 16),
	}
	maps.Copy(m, overrides)
	return m
}

// problemVars returns the variable named by each problem line of a
// *app.ConfigError, in order; nil for a nil error.
func problemVars(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ce *app.ConfigError
	require.ErrorAs(t, err, &ce)
	vars := make([]string, 0, len(ce.Problems))
	for _, p := range ce.Problems {
		name, _, ok := strings.Cut(p, ": ")
		require.True(t, ok, "problem %q does not start with a variable name", p)
		vars = append(vars, name)
	}
	return vars
}

func TestLoadConfigDevelopmentDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{name: "nothing set", env: map[string]string{}},
		{name: "ENV=development", env: map[string]string{"ENV": "development"}},
		{name: "ENV spelled loosely", env: map[string]string{"ENV": "  Development "}},
		{name: "blank values count as unset", env: map[string]string{"LOG_LEVEL": " ", "PORT": "", "DATABASE_URL": "  ", "JWT_ALGORITHM": " "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			require.NoError(t, err)

			assert.Equal(t, app.EnvDevelopment, cfg.Env)
			assert.False(t, cfg.Production())
			assert.Equal(t, slog.LevelInfo, cfg.LogLevel)
			assert.Equal(t, "0.0.0.0", cfg.Host)
			assert.Equal(t, 8000, cfg.Port)
			assert.Empty(t, cfg.DatabaseURL.Reveal())
			assert.Equal(t, app.EngineSQLite, cfg.DatabaseEngine)
			assert.Equal(t, app.DefaultSQLitePath, cfg.DatabasePath)
			assert.Equal(t, "sqlite data/genzai.db", cfg.DatabaseLocation())
			assert.Equal(t, 20, cfg.DatabasePoolSize)
			assert.Equal(t, 40, cfg.DatabasePoolMaxOverflow)
			assert.Equal(t, 3600*time.Second, cfg.DatabasePoolRecycle)
			assert.Regexp(t, `^[0-9a-f]{64}$`, cfg.JWTSecret.Reveal())
			assert.True(t, cfg.JWTSecretGenerated)
			assert.Equal(t, "HS256", cfg.JWTAlgorithm)
			assert.Equal(t, 24*time.Hour, cfg.JWTExpiration)
			assert.Empty(t, cfg.AdminEmails)
			assert.Equal(t, 50, cfg.UserDailyQuota)
			assert.Equal(t, 10, cfg.MaxAPIKeysPerUser)
			assert.Equal(t, 1000, cfg.MaxConversationsPerUser)
			assert.Equal(t, 32000, cfg.ChatHistoryMaxChars)
			assert.Zero(t, cfg.ConversationRetention, "kept forever")
			assert.True(t, cfg.AuthAllowEmailLogin)
			assert.Equal(t, int64(50_000), cfg.MaxRequestSizeBytes)
			assert.Equal(t, 15*time.Second, cfg.ShutdownTimeout)
			assert.True(t, cfg.HTTP2Cleartext)
			assert.Equal(t, 250, cfg.HTTP2MaxStreams)
			assert.Zero(t, cfg.PasswordHashMemoryMiB, "derived from the memory limit")
			assert.Equal(t, 2*time.Second, cfg.PasswordHashWait)
			assert.Equal(t, 5, cfg.LoginMaxFailures)
			assert.Equal(t, 15*time.Minute, cfg.LoginFailureWindow)
			assert.Empty(t, cfg.Version)
		})
	}
}

func TestLoadConfigGeneratedSecretIsRandom(t *testing.T) {
	t.Parallel()
	a, err := app.LoadConfig(getenv(nil))
	require.NoError(t, err)
	b, err := app.LoadConfig(getenv(nil))
	require.NoError(t, err)
	assert.NotEqual(t, a.JWTSecret.Reveal(), b.JWTSecret.Reveal())
}

func TestLoadConfigDevelopmentKeepsGivenSecret(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(getenv(map[string]string{"JWT_SECRET": "short"}))
	require.NoError(t, err)
	assert.Equal(t, "short", cfg.JWTSecret.Reveal())
	assert.False(t, cfg.JWTSecretGenerated)
}

func TestLoadConfigLogLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    slog.Level
		wantErr bool
	}{
		{value: "DEBUG", want: slog.LevelDebug},
		{value: "debug", want: slog.LevelDebug},
		{value: "INFO", want: slog.LevelInfo},
		{value: "info", want: slog.LevelInfo},
		{value: "WARNING", want: slog.LevelWarn},
		{value: "warn", want: slog.LevelWarn},
		{value: "WARN", want: slog.LevelWarn},
		{value: "ERROR", want: slog.LevelError},
		{value: " error ", want: slog.LevelError},
		{value: "CRITICAL", want: slog.LevelError},
		{value: "verbose", wantErr: true},
		{value: "trace", wantErr: true},
		{value: "-4", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(map[string]string{"LOG_LEVEL": tc.value}))
			if tc.wantErr {
				assert.Equal(t, []string{"LOG_LEVEL"}, problemVars(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.LogLevel)
		})
	}
}

func TestLoadConfigProductionRequiresDatabaseAndSecret(t *testing.T) {
	t.Parallel()
	_, err := app.LoadConfig(getenv(map[string]string{"ENV": "production"}))
	require.Error(t, err)
	var ce *app.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 3)
	assert.True(t, strings.HasPrefix(ce.Problems[0], "DATABASE_URL: "), ce.Problems[0])
	assert.Contains(t, ce.Problems[0], "required in production")
	assert.True(t, strings.HasPrefix(ce.Problems[1], "JWT_SECRET: "), ce.Problems[1])
	assert.Contains(t, ce.Problems[1], "at least 32 characters")
	assert.True(t, strings.HasPrefix(ce.Problems[2], "METRICS_TOKEN: "), ce.Problems[2])
	assert.Contains(t, ce.Problems[2], "set METRICS_ADDR")

	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "invalid configuration:\n"), msg)
	for _, p := range ce.Problems {
		assert.Contains(t, msg, "\n  "+p)
	}
}

func TestLoadConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		wantProblems []string // variables named by the problem lines, in order
		check        func(t *testing.T, cfg app.Config)
	}{
		// ENV
		{name: "ENV=production valid", env: prod(nil), check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EnvProduction, cfg.Env)
			assert.True(t, cfg.Production())
			assert.False(t, cfg.JWTSecretGenerated)
			assert.Equal(t, strings.Repeat("s", 32), cfg.JWTSecret.Reveal())
			assert.Equal(t, "postgres://genzai:pw@db.example.com:5432/genzai", cfg.DatabaseURL.Reveal())
		}},
		{name: "ENV=PRODUCTION", env: prod(map[string]string{"ENV": "PRODUCTION"}), check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EnvProduction, cfg.Env)
		}},
		{name: "ENV=staging is checked as production", env: map[string]string{"ENV": "staging"}, wantProblems: []string{"ENV", "DATABASE_URL", "JWT_SECRET", "METRICS_TOKEN"}},

		// JWT_SECRET in production
		{name: "production 31-char secret", env: prod(map[string]string{"JWT_SECRET": strings.Repeat("x", 31)}), wantProblems: []string{"JWT_SECRET"}},
		{name: "production 32-char secret", env: prod(map[string]string{"JWT_SECRET": strings.Repeat("x", 32)}), check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, strings.Repeat("x", 32), cfg.JWTSecret.Reveal())
		}},

		// Password hashing and the per-account login guard
		{name: "hashing and login guard set", env: map[string]string{"PASSWORD_HASH_MEMORY_MIB": "256", "PASSWORD_HASH_WAIT_MS": "500", "LOGIN_MAX_FAILURES": "0", "LOGIN_FAILURE_WINDOW_SECONDS": "60"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 256, cfg.PasswordHashMemoryMiB)
			assert.Equal(t, 500*time.Millisecond, cfg.PasswordHashWait)
			assert.Zero(t, cfg.LoginMaxFailures, "0 turns the guard off")
			assert.Equal(t, time.Minute, cfg.LoginFailureWindow)
		}},
		{name: "hashing and login guard out of range", env: map[string]string{"PASSWORD_HASH_MEMORY_MIB": "-1", "PASSWORD_HASH_WAIT_MS": "0", "LOGIN_MAX_FAILURES": "many", "LOGIN_FAILURE_WINDOW_SECONDS": "0"},
			wantProblems: []string{"PASSWORD_HASH_MEMORY_MIB", "PASSWORD_HASH_WAIT_MS", "LOGIN_MAX_FAILURES", "LOGIN_FAILURE_WINDOW_SECONDS"}},

		// AUTH_ALLOW_EMAIL_LOGIN
		{name: "production defaults email login off", env: prod(nil), check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.AuthAllowEmailLogin)
		}},
		{name: "production email login false", env: prod(map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "false"}), check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.AuthAllowEmailLogin)
		}},
		{name: "production email login true", env: prod(map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "true"}), wantProblems: []string{"AUTH_ALLOW_EMAIL_LOGIN"}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.AuthAllowEmailLogin)
		}},
		{name: "production email login yes", env: prod(map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "yes"}), wantProblems: []string{"AUTH_ALLOW_EMAIL_LOGIN"}},
		{name: "development email login off", env: map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "off"}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.AuthAllowEmailLogin)
		}},
		{name: "development email login on", env: map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "1"}, check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.AuthAllowEmailLogin)
		}},
		{name: "email login not a boolean", env: map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "maybe"}, wantProblems: []string{"AUTH_ALLOW_EMAIL_LOGIN"}},

		// JWT_ALGORITHM
		{name: "JWT_ALGORITHM hs256", env: map[string]string{"JWT_ALGORITHM": "hs256"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "HS256", cfg.JWTAlgorithm)
		}},
		{name: "JWT_ALGORITHM HS256", env: map[string]string{"JWT_ALGORITHM": "HS256"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "HS256", cfg.JWTAlgorithm)
		}},
		{name: "JWT_ALGORITHM RS256", env: map[string]string{"JWT_ALGORITHM": "RS256"}, wantProblems: []string{"JWT_ALGORITHM"}},
		{name: "JWT_ALGORITHM none", env: map[string]string{"JWT_ALGORITHM": "none"}, wantProblems: []string{"JWT_ALGORITHM"}},
		{name: "JWT_ALGORITHM HS512", env: map[string]string{"JWT_ALGORITHM": "HS512"}, wantProblems: []string{"JWT_ALGORITHM"}},

		// DATABASE_URL
		{name: "DATABASE_URL postgres", env: map[string]string{"DATABASE_URL": "postgres://u:p@h:5432/db", "AUTH_ALLOW_EMAIL_LOGIN": "true"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "postgres://u:p@h:5432/db", cfg.DatabaseURL.Reveal())
			assert.Equal(t, app.EnginePostgres, cfg.DatabaseEngine)
			assert.Equal(t, "postgres://u:xxxxx@h:5432/db", cfg.DatabaseLocation())
		}},
		{name: "DATABASE_URL sqlite absolute", env: map[string]string{"DATABASE_URL": "sqlite:///var/lib/genzai/g.db"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EngineSQLite, cfg.DatabaseEngine)
			assert.Equal(t, "/var/lib/genzai/g.db", cfg.DatabasePath)
		}},
		{name: "DATABASE_URL sqlite absolute, SQLAlchemy's four slashes", env: map[string]string{"DATABASE_URL": "sqlite:////var/lib/genzai/g.db"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "/var/lib/genzai/g.db", cfg.DatabasePath)
		}},
		{name: "DATABASE_URL sqlite relative", env: map[string]string{"DATABASE_URL": "sqlite:///./data/other.db"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EngineSQLite, cfg.DatabaseEngine)
			assert.Equal(t, "data/other.db", cfg.DatabasePath)
		}},
		{name: "DATABASE_URL sqlite+aiosqlite", env: map[string]string{"DATABASE_URL": "sqlite+aiosqlite:///./data/x.db"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EngineSQLite, cfg.DatabaseEngine)
			assert.Equal(t, "data/x.db", cfg.DatabasePath)
		}},
		{name: "DATABASE_URL sqlite without a path", env: map[string]string{"DATABASE_URL": "sqlite://"}, wantProblems: []string{"DATABASE_URL"}},
		{name: "production sqlite is allowed", env: prod(map[string]string{"DATABASE_URL": "sqlite:////srv/g.db"}), check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.EngineSQLite, cfg.DatabaseEngine)
		}},
		{name: "DATABASE_URL postgresql", env: map[string]string{"DATABASE_URL": "postgresql://u:p@h:5432/db", "AUTH_ALLOW_EMAIL_LOGIN": "true"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "postgresql://u:p@h:5432/db", cfg.DatabaseURL.Reveal())
		}},
		{name: "DATABASE_URL postgresql+asyncpg", env: map[string]string{"DATABASE_URL": "postgresql+asyncpg://u:p@h:5432/db?ssl=true", "AUTH_ALLOW_EMAIL_LOGIN": "true"}, check: func(t *testing.T, cfg app.Config) {
			// Kept as given; the postgres adapter normalizes it when connecting.
			assert.Equal(t, "postgresql+asyncpg://u:p@h:5432/db?ssl=true", cfg.DatabaseURL.Reveal())
		}},
		{name: "DATABASE_URL mysql", env: map[string]string{"DATABASE_URL": "mysql://u:p@h:3306/db"}, wantProblems: []string{"DATABASE_URL"}},
		{name: "DATABASE_URL not a url", env: map[string]string{"DATABASE_URL": "not a url"}, wantProblems: []string{"DATABASE_URL"}},
		{name: "DATABASE_URL without host", env: map[string]string{"DATABASE_URL": "postgres:///db"}, wantProblems: []string{"DATABASE_URL"}},
		{name: "production bad DATABASE_URL", env: prod(map[string]string{"DATABASE_URL": "mysql://u:p@h/db"}), wantProblems: []string{"DATABASE_URL"}},

		// HOST and PORT
		{name: "HOST set", env: map[string]string{"HOST": " 127.0.0.1 "}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "127.0.0.1", cfg.Host)
		}},
		{name: "PORT 1", env: map[string]string{"PORT": "1"}, check: func(t *testing.T, cfg app.Config) { assert.Equal(t, 1, cfg.Port) }},
		{name: "PORT 65535", env: map[string]string{"PORT": "65535"}, check: func(t *testing.T, cfg app.Config) { assert.Equal(t, 65535, cfg.Port) }},
		{name: "PORT with spaces", env: map[string]string{"PORT": " 8080 "}, check: func(t *testing.T, cfg app.Config) { assert.Equal(t, 8080, cfg.Port) }},
		{name: "PORT 0", env: map[string]string{"PORT": "0"}, wantProblems: []string{"PORT"}},
		{name: "PORT 70000", env: map[string]string{"PORT": "70000"}, wantProblems: []string{"PORT"}},
		{name: "PORT 65536", env: map[string]string{"PORT": "65536"}, wantProblems: []string{"PORT"}},
		{name: "PORT abc", env: map[string]string{"PORT": "abc"}, wantProblems: []string{"PORT"}},
		{name: "PORT -1", env: map[string]string{"PORT": "-1"}, wantProblems: []string{"PORT"}},
		{name: "PORT 80.5", env: map[string]string{"PORT": "80.5"}, wantProblems: []string{"PORT"}},

		// ADMIN_EMAILS
		{name: "ADMIN_EMAILS normalized", env: map[string]string{"ADMIN_EMAILS": " Ada@Example.com , bob@example.com,,"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, []string{"ada@example.com", "bob@example.com"}, cfg.AdminEmails)
		}},
		{name: "ADMIN_EMAILS one", env: map[string]string{"ADMIN_EMAILS": "root@example.org"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, []string{"root@example.org"}, cfg.AdminEmails)
		}},
		{name: "ADMIN_EMAILS only commas", env: map[string]string{"ADMIN_EMAILS": " , ,"}, check: func(t *testing.T, cfg app.Config) {
			assert.Empty(t, cfg.AdminEmails)
		}},
		{name: "ADMIN_EMAILS not an email", env: map[string]string{"ADMIN_EMAILS": "not-an-email"}, wantProblems: []string{"ADMIN_EMAILS"}},
		{name: "ADMIN_EMAILS two bad, one good", env: map[string]string{"ADMIN_EMAILS": "ada@example.com,nope,x@y"}, wantProblems: []string{"ADMIN_EMAILS", "ADMIN_EMAILS"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, []string{"ada@example.com"}, cfg.AdminEmails)
		}},

		// Integers
		{name: "pool and quota overrides", env: map[string]string{
			"DATABASE_POOL_SIZE": "5", "DATABASE_POOL_MAX_OVERFLOW": "0", "DATABASE_POOL_RECYCLE_SECONDS": "60",
			"USER_DAILY_QUOTA": "0", "JWT_EXPIRATION_HOURS": "2", "MAX_REQUEST_SIZE_BYTES": "1024", "SHUTDOWN_TIMEOUT_SECONDS": "30",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 5, cfg.DatabasePoolSize)
			assert.Equal(t, 0, cfg.DatabasePoolMaxOverflow)
			assert.Equal(t, time.Minute, cfg.DatabasePoolRecycle)
			assert.Equal(t, 0, cfg.UserDailyQuota)
			assert.Equal(t, 2*time.Hour, cfg.JWTExpiration)
			assert.Equal(t, int64(1024), cfg.MaxRequestSizeBytes)
			assert.Equal(t, 30*time.Second, cfg.ShutdownTimeout)
		}},
		{name: "HTTP/2 off, stream limit", env: map[string]string{"HTTP2_CLEARTEXT": "false", "HTTP2_MAX_CONCURRENT_STREAMS": "1000"}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.HTTP2Cleartext)
			assert.Equal(t, 1000, cfg.HTTP2MaxStreams)
		}},
		{name: "MAX_API_KEYS_PER_USER", env: map[string]string{"MAX_API_KEYS_PER_USER": "3"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 3, cfg.MaxAPIKeysPerUser)
		}},
		{name: "MAX_API_KEYS_PER_USER 0", env: map[string]string{"MAX_API_KEYS_PER_USER": "0"}, wantProblems: []string{"MAX_API_KEYS_PER_USER"}},
		{name: "conversation limits", env: map[string]string{
			"MAX_CONVERSATIONS_PER_USER": "5", "CHAT_HISTORY_MAX_CHARS": "4000", "CONVERSATION_RETENTION_DAYS": "90",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 5, cfg.MaxConversationsPerUser)
			assert.Equal(t, 4000, cfg.ChatHistoryMaxChars)
			assert.Equal(t, 90*24*time.Hour, cfg.ConversationRetention)
		}},
		{name: "MAX_CONVERSATIONS_PER_USER 0", env: map[string]string{"MAX_CONVERSATIONS_PER_USER": "0"}, wantProblems: []string{"MAX_CONVERSATIONS_PER_USER"}},
		{name: "CHAT_HISTORY_MAX_CHARS too small", env: map[string]string{"CHAT_HISTORY_MAX_CHARS": "999"}, wantProblems: []string{"CHAT_HISTORY_MAX_CHARS"}},
		{name: "CONVERSATION_RETENTION_DAYS negative", env: map[string]string{"CONVERSATION_RETENTION_DAYS": "-1"}, wantProblems: []string{"CONVERSATION_RETENTION_DAYS"}},
		{name: "HTTP2_MAX_CONCURRENT_STREAMS 0", env: map[string]string{"HTTP2_MAX_CONCURRENT_STREAMS": "0"}, wantProblems: []string{"HTTP2_MAX_CONCURRENT_STREAMS"}},
		{name: "HTTP2_CLEARTEXT not a boolean", env: map[string]string{"HTTP2_CLEARTEXT": "maybe"}, wantProblems: []string{"HTTP2_CLEARTEXT"}},
		{name: "DATABASE_POOL_SIZE not a number", env: map[string]string{"DATABASE_POOL_SIZE": "twenty"}, wantProblems: []string{"DATABASE_POOL_SIZE"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 20, cfg.DatabasePoolSize)
		}},
		{name: "DATABASE_POOL_SIZE 0", env: map[string]string{"DATABASE_POOL_SIZE": "0"}, wantProblems: []string{"DATABASE_POOL_SIZE"}},
		{name: "DATABASE_POOL_SIZE 1001", env: map[string]string{"DATABASE_POOL_SIZE": "1001"}, wantProblems: []string{"DATABASE_POOL_SIZE"}},
		{name: "DATABASE_POOL_MAX_OVERFLOW -1", env: map[string]string{"DATABASE_POOL_MAX_OVERFLOW": "-1"}, wantProblems: []string{"DATABASE_POOL_MAX_OVERFLOW"}},
		{name: "DATABASE_POOL_MAX_OVERFLOW x", env: map[string]string{"DATABASE_POOL_MAX_OVERFLOW": "x"}, wantProblems: []string{"DATABASE_POOL_MAX_OVERFLOW"}},
		{name: "DATABASE_POOL_RECYCLE_SECONDS 1.5", env: map[string]string{"DATABASE_POOL_RECYCLE_SECONDS": "1.5"}, wantProblems: []string{"DATABASE_POOL_RECYCLE_SECONDS"}},
		{name: "DATABASE_POOL_RECYCLE_SECONDS 0", env: map[string]string{"DATABASE_POOL_RECYCLE_SECONDS": "0"}, wantProblems: []string{"DATABASE_POOL_RECYCLE_SECONDS"}},
		{name: "pool idle time and instances", env: map[string]string{"DATABASE_POOL_IDLE_SECONDS": "5", "DATABASE_INSTANCES": "3"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 5*time.Second, cfg.DatabasePoolIdle)
			assert.Equal(t, 3, cfg.DatabaseInstances)
		}},
		{name: "pool idle time and instances default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 30*time.Second, cfg.DatabasePoolIdle)
			assert.Equal(t, 1, cfg.DatabaseInstances)
		}},
		{name: "DATABASE_POOL_IDLE_SECONDS 0", env: map[string]string{"DATABASE_POOL_IDLE_SECONDS": "0"}, wantProblems: []string{"DATABASE_POOL_IDLE_SECONDS"}},
		{name: "DATABASE_INSTANCES 0", env: map[string]string{"DATABASE_INSTANCES": "0"}, wantProblems: []string{"DATABASE_INSTANCES"}},
		{name: "USER_DAILY_QUOTA -1", env: map[string]string{"USER_DAILY_QUOTA": "-1"}, wantProblems: []string{"USER_DAILY_QUOTA"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 50, cfg.UserDailyQuota)
		}},
		{name: "USER_DAILY_QUOTA lots", env: map[string]string{"USER_DAILY_QUOTA": "lots"}, wantProblems: []string{"USER_DAILY_QUOTA"}},
		{name: "JWT_EXPIRATION_HOURS 0", env: map[string]string{"JWT_EXPIRATION_HOURS": "0"}, wantProblems: []string{"JWT_EXPIRATION_HOURS"}},
		{name: "MAX_REQUEST_SIZE_BYTES 100", env: map[string]string{"MAX_REQUEST_SIZE_BYTES": "100"}, wantProblems: []string{"MAX_REQUEST_SIZE_BYTES"}},
		{name: "SHUTDOWN_TIMEOUT_SECONDS 0", env: map[string]string{"SHUTDOWN_TIMEOUT_SECONDS": "0"}, wantProblems: []string{"SHUTDOWN_TIMEOUT_SECONDS"}},
		// SHUTDOWN_GRACE_SECONDS is an alias; set both, they must agree.
		{name: "SHUTDOWN_GRACE_SECONDS alone", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "7"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 7*time.Second, cfg.ShutdownTimeout)
		}},
		{name: "SHUTDOWN_GRACE_SECONDS equal to SHUTDOWN_TIMEOUT_SECONDS", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "07", "SHUTDOWN_TIMEOUT_SECONDS": "7"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, 7*time.Second, cfg.ShutdownTimeout)
		}},
		{name: "SHUTDOWN_GRACE_SECONDS differs from SHUTDOWN_TIMEOUT_SECONDS", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "7", "SHUTDOWN_TIMEOUT_SECONDS": "30"}, wantProblems: []string{"SHUTDOWN_GRACE_SECONDS"}},
		{name: "SHUTDOWN_GRACE_SECONDS 0", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "0", "SHUTDOWN_TIMEOUT_SECONDS": "30"}, wantProblems: []string{"SHUTDOWN_GRACE_SECONDS"}},
		{name: "SHUTDOWN_TIMEOUT_SECONDS invalid beside a valid alias", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "7", "SHUTDOWN_TIMEOUT_SECONDS": "soon"}, wantProblems: []string{"SHUTDOWN_TIMEOUT_SECONDS"}},

		// QUOTA_COUNTING
		{name: "QUOTA_COUNTING auto by default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.QuotaCountingAuto, cfg.QuotaCounting)
		}},
		{name: "QUOTA_COUNTING=Database", env: map[string]string{"QUOTA_COUNTING": "Database"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, app.QuotaCountingDatabase, cfg.QuotaCounting)
		}},
		{name: "QUOTA_COUNTING=redis", env: map[string]string{"QUOTA_COUNTING": "redis"}, wantProblems: []string{"QUOTA_COUNTING"}},

		// Several at once: one error lists every problem.
		{name: "several bad variables", env: map[string]string{
			"LOG_LEVEL": "verbose", "PORT": "abc", "DATABASE_URL": "mysql://u:p@h/db", "DATABASE_POOL_SIZE": "x",
			"JWT_ALGORITHM": "none", "ADMIN_EMAILS": "not-an-email", "USER_DAILY_QUOTA": "-1", "AUTH_ALLOW_EMAIL_LOGIN": "maybe",
		}, wantProblems: []string{
			"LOG_LEVEL", "PORT", "DATABASE_URL", "DATABASE_POOL_SIZE", "JWT_ALGORITHM", "ADMIN_EMAILS", "USER_DAILY_QUOTA", "AUTH_ALLOW_EMAIL_LOGIN",
		}},
		// The response cache
		{name: "cache off by default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.CacheEnabled)
			assert.Equal(t, time.Hour, cfg.CacheTTL)
			assert.Equal(t, int64(64<<20), cfg.CacheMaxBytes)
			assert.Equal(t, chat.CacheScopeUser, cfg.CacheScope)
		}},
		{name: "cache set", env: map[string]string{"CACHE_ENABLED": "true", "CACHE_TTL_SECONDS": "60", "CACHE_MAX_BYTES": "1048576", "CACHE_SCOPE": " Global "},
			check: func(t *testing.T, cfg app.Config) {
				assert.True(t, cfg.CacheEnabled)
				assert.Equal(t, time.Minute, cfg.CacheTTL)
				assert.Equal(t, int64(1<<20), cfg.CacheMaxBytes)
				assert.Equal(t, chat.CacheScopeGlobal, cfg.CacheScope)
			}},
		{name: "bad cache settings", env: map[string]string{"CACHE_ENABLED": "sometimes", "CACHE_TTL_SECONDS": "0", "CACHE_MAX_BYTES": "-1", "CACHE_SCOPE": "team"},
			wantProblems: []string{"CACHE_ENABLED", "CACHE_TTL_SECONDS", "CACHE_MAX_BYTES", "CACHE_SCOPE"}},
		// Image generation
		{name: "images off by default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.Images.Enabled)
			assert.Equal(t, []domain.Provider{domain.ProviderHuggingFace, domain.ProviderOpenRouter}, cfg.Images.Providers)
			assert.Equal(t, 5, cfg.Images.QuotaCost)
			assert.Equal(t, app.DefaultHuggingFaceImageModel, cfg.Images.HuggingFaceModel)
			assert.Equal(t, app.DefaultOpenRouterImageModel, cfg.Images.OpenRouterModel)
			assert.Equal(t, "https://router.huggingface.co/hf-inference", cfg.Images.HuggingFaceInferenceURL)
		}},
		{name: "images set", env: map[string]string{
			"ENABLE_IMAGE_GENERATION": "true", "IMAGE_PROVIDERS": " OpenRouter , huggingface", "IMAGE_QUOTA_COST": "3",
			"HUGGINGFACE_IMAGE_MODEL": "stabilityai/sdxl", "OPENROUTER_IMAGE_MODEL": "img/x", "HUGGINGFACE_INFERENCE_URL": "http://hf.internal:8080/",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.Images.Enabled)
			assert.Equal(t, []domain.Provider{domain.ProviderOpenRouter, domain.ProviderHuggingFace}, cfg.Images.Providers)
			assert.Equal(t, 3, cfg.Images.QuotaCost)
			assert.Equal(t, "stabilityai/sdxl", cfg.Images.HuggingFaceModel)
			assert.Equal(t, "img/x", cfg.Images.OpenRouterModel)
		}},
		{name: "bad image settings", env: map[string]string{
			"ENABLE_IMAGE_GENERATION": "maybe", "IMAGE_QUOTA_COST": "0", "HUGGINGFACE_INFERENCE_URL": "ftp://hf", "IMAGE_PROVIDERS": "groq",
		}, wantProblems: []string{"ENABLE_IMAGE_GENERATION", "IMAGE_QUOTA_COST", "HUGGINGFACE_INFERENCE_URL", "IMAGE_PROVIDERS"}},
		{name: "an image provider twice", env: map[string]string{"IMAGE_PROVIDERS": "huggingface,huggingface"},
			wantProblems: []string{"IMAGE_PROVIDERS"}},
		// Voice
		{name: "voice off by default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.Voice.Enabled)
			assert.Equal(t, []domain.Provider{domain.ProviderGroq}, cfg.Voice.Providers)
			assert.Equal(t, "whisper-large-v3-turbo", cfg.Voice.GroqTranscriptionModel)
			assert.Equal(t, "playai-tts", cfg.Voice.GroqSpeechModel)
			require.Len(t, cfg.Voice.GroqSpeechVoices, 19)
			assert.Equal(t, "Fritz-PlayAI", cfg.Voice.GroqSpeechVoices[0], "the default first")
			assert.Equal(t, "Arista-PlayAI", cfg.Voice.GroqSpeechVoices[1])
			assert.Equal(t, int64(26214400), cfg.Voice.MaxAudioBytes)
			assert.Equal(t, 4096, cfg.Voice.MaxSpeechChars)
		}},
		{name: "voice set", env: map[string]string{
			"ENABLE_VOICE": "true", "VOICE_PROVIDERS": " Groq ", "GROQ_TRANSCRIPTION_MODEL": "whisper-large-v3",
			"GROQ_SPEECH_MODEL": "canopylabs/orpheus-v1-english", "GROQ_SPEECH_VOICE": "tara", "GROQ_SPEECH_VOICES": "autumn, tara ,diana,autumn",
			"MAX_AUDIO_BYTES": "1048576", "MAX_SPEECH_CHARS": "200",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.Voice.Enabled)
			assert.Equal(t, []domain.Provider{domain.ProviderGroq}, cfg.Voice.Providers)
			assert.Equal(t, "whisper-large-v3", cfg.Voice.GroqTranscriptionModel)
			assert.Equal(t, "canopylabs/orpheus-v1-english", cfg.Voice.GroqSpeechModel)
			assert.Equal(t, []string{"tara", "autumn", "diana"}, cfg.Voice.GroqSpeechVoices)
			assert.Equal(t, int64(1<<20), cfg.Voice.MaxAudioBytes)
			assert.Equal(t, 200, cfg.Voice.MaxSpeechChars)
		}},
		{name: "bad voice settings", env: map[string]string{
			"ENABLE_VOICE": "perhaps", "VOICE_PROVIDERS": "openrouter", "MAX_AUDIO_BYTES": "1000000000", "MAX_SPEECH_CHARS": "0",
			"GROQ_SPEECH_VOICE": "Nobody-PlayAI",
		}, wantProblems: []string{"ENABLE_VOICE", "VOICE_PROVIDERS", "MAX_AUDIO_BYTES", "MAX_SPEECH_CHARS", "GROQ_SPEECH_VOICE"}},
		{name: "voice names", env: map[string]string{"VOICE_PROVIDERS": "groq,groq", "GROQ_SPEECH_VOICES": "Fritz-PlayAI,two words"},
			wantProblems: []string{"VOICE_PROVIDERS", "GROQ_SPEECH_VOICES"}},
		{name: "no voice provider", env: map[string]string{"VOICE_PROVIDERS": " , "}, wantProblems: []string{"VOICE_PROVIDERS"}},
		{name: "mail off by default", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.False(t, cfg.Mail.Enabled())
			assert.Equal(t, 24*time.Hour, cfg.Mail.TokenTTL)
			assert.Equal(t, 3, cfg.Mail.RatePerHour)
		}},
		{name: "mail", env: map[string]string{
			"SMTP_URL": "smtps://u:p@mail.example.com", "SMTP_FROM": "noreply@example.com", "PUBLIC_URL": "https://chat.example.com/",
			"EMAIL_TOKEN_TTL": "2h", "EMAIL_RATE_LIMIT_PER_HOUR": "5",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.Mail.Enabled())
			assert.Equal(t, "https://chat.example.com", cfg.Mail.PublicURL, "without the trailing slash")
			assert.Equal(t, 2*time.Hour, cfg.Mail.TokenTTL)
			assert.Equal(t, 5, cfg.Mail.RatePerHour)
		}},
		{name: "mail needs a sender and a public URL", env: map[string]string{"SMTP_URL": "smtp://mail.example.com"},
			wantProblems: []string{"SMTP_FROM", "PUBLIC_URL"}},
		{name: "bad mail settings", env: map[string]string{
			"SMTP_URL": "http://mail.example.com", "SMTP_FROM": "noreply", "PUBLIC_URL": "chat.example.com", "EMAIL_TOKEN_TTL": "forever",
		}, wantProblems: []string{"EMAIL_TOKEN_TTL", "SMTP_FROM", "SMTP_URL", "PUBLIC_URL"}},
		{name: "several bad variables in production", env: map[string]string{
			"ENV": "production", "PORT": "70000", "AUTH_ALLOW_EMAIL_LOGIN": "true", "JWT_SECRET": "short",
		}, wantProblems: []string{"PORT", "DATABASE_URL", "JWT_SECRET", "AUTH_ALLOW_EMAIL_LOGIN", "METRICS_TOKEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			if len(tc.wantProblems) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			assert.Equal(t, tc.wantProblems, problemVars(t, err))
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

func TestLoadConfigProblemHidesDatabasePassword(t *testing.T) {
	t.Parallel()
	const password = "hunter2pass"
	tests := []struct {
		name string
		url  string
	}{
		{name: "wrong scheme", url: "mysql://u:" + password + "@h:3306/db"},
		{name: "no host", url: "postgres://u:" + password + "@/db"},
		{name: "unparseable port", url: "postgres://u:" + password + "@h:port/db"},
		{name: "bad escape", url: "postgres://u:" + password + "@h/db%zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := app.LoadConfig(getenv(map[string]string{"DATABASE_URL": tc.url}))
			require.Error(t, err)
			assert.Equal(t, []string{"DATABASE_URL"}, problemVars(t, err))
			assert.NotContains(t, err.Error(), password)
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	t.Parallel()
	const (
		dbPassword = "sup3rs3cret"
		jwtSecret  = "jwt-secret-0123456789-abcdefghijklmnopqr" // 40 characters
	)
	require.Len(t, jwtSecret, 40)
	cfg, err := app.LoadConfig(getenv(prod(map[string]string{
		"DATABASE_URL": "postgres://u:" + dbPassword + "@db.example.com:5432/genzai",
		"JWT_SECRET":   jwtSecret,
	})))
	require.NoError(t, err)
	// Control: the secrets are really in cfg, so their absence below means redaction.
	require.Equal(t, jwtSecret, cfg.JWTSecret.Reveal())
	require.Contains(t, cfg.DatabaseURL.Reveal(), dbPassword)

	slogJSON := func(t *testing.T) string {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "config", cfg)
		return buf.String()
	}
	tests := []struct {
		name   string
		render func(t *testing.T) string
		want   []string // must appear, to show the value was rendered at all
	}{
		{name: "%v", render: func(*testing.T) string { return fmt.Sprintf("%v", cfg) }, want: []string{"production", "[redacted]"}},
		{name: "%+v", render: func(*testing.T) string { return fmt.Sprintf("%+v", cfg) }, want: []string{"JWTSecret:[redacted]", "DatabaseURL:[redacted]"}},
		{name: "%#v", render: func(*testing.T) string { return fmt.Sprintf("%#v", cfg) }, want: []string{"production", `JWTSecret:app.Secret("[redacted]")`}},
		{name: "%v of a pointer", render: func(*testing.T) string { return fmt.Sprintf("%+v", &cfg) }, want: []string{"production"}},
		{name: "secret alone with %q", render: func(*testing.T) string { return fmt.Sprintf("%q", cfg.JWTSecret) }, want: []string{`"[redacted]"`}},
		{name: "secret alone with %x", render: func(*testing.T) string { return fmt.Sprintf("%x %X", cfg.JWTSecret, cfg.DatabaseURL) }, want: []string{fmt.Sprintf("%x", "[redacted]")}},
		{name: "JSON of a struct holding the Secret", render: func(t *testing.T) string {
			b, err := json.Marshal(struct {
				Secret   app.Secret
				Database app.Secret `json:"database"`
			}{cfg.JWTSecret, cfg.DatabaseURL})
			require.NoError(t, err)
			return string(b)
		}, want: []string{`"Secret":"[redacted]"`, `"database":"[redacted]"`}},
		{name: "JSON of the config", render: func(t *testing.T) string {
			b, err := json.Marshal(cfg)
			require.NoError(t, err)
			return string(b)
		}, want: []string{`"JWTSecret":"[redacted]"`}},
		{name: "slog JSON", render: slogJSON, want: []string{`"env":"production"`, "db.example.com", "xxxxx"}},
		{name: "slog text", render: func(*testing.T) string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "config", cfg, "secret", cfg.JWTSecret)
			return buf.String()
		}, want: []string{"config.env=production", "secret=[redacted]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := tc.render(t)
			assert.NotContains(t, out, jwtSecret)
			assert.NotContains(t, out, dbPassword)
			assert.NotContains(t, out, fmt.Sprintf("%x", jwtSecret))
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret app.Secret
		want   string
	}{
		{name: "empty shows empty", secret: "", want: ""},
		{name: "one character", secret: "x", want: "[redacted]"},
		{name: "long", secret: app.Secret(strings.Repeat("k", 64)), want: "[redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.secret.String())
			assert.Equal(t, tc.want, tc.secret.LogValue().String())
			text, err := tc.secret.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(text))
			assert.Equal(t, fmt.Sprintf("app.Secret(%q)", tc.want), fmt.Sprintf("%#v", tc.secret))
			assert.Equal(t, string(tc.secret), tc.secret.Reveal())
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "password hidden", in: "postgres://u:sup3rs3cret@db.example.com:5432/genzai", want: "postgres://u:xxxxx@db.example.com:5432/genzai"},
		{name: "query kept", in: "postgresql+asyncpg://u:sup3rs3cret@h/db?ssl=true", want: "postgresql+asyncpg://u:xxxxx@h/db?ssl=true"},
		{name: "no password", in: "postgres://postgres@127.0.0.1:5432/genzai?sslmode=disable", want: "postgres://postgres@127.0.0.1:5432/genzai?sslmode=disable"},
		{name: "password in the query", in: "postgres://h/db?user=u&password=sup3rs3cret", want: "postgres://h/db?password=xxxxx&user=u"},
		{name: "unparseable", in: "postgres://u:sup3rs3cret@h:port/db", want: "[unparseable]"},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := app.RedactURL(tc.in)
			assert.Equal(t, tc.want, got)
			assert.NotContains(t, got, "sup3rs3cret")
		})
	}
}

func TestConfigErrorListsEveryProblem(t *testing.T) {
	t.Parallel()
	ce := &app.ConfigError{Problems: []string{"PORT: bad", "LOG_LEVEL: bad"}}
	var err error = ce
	assert.Equal(t, "invalid configuration:\n  PORT: bad\n  LOG_LEVEL: bad", err.Error())

	var got *app.ConfigError
	require.True(t, errors.As(fmt.Errorf("load config: %w", err), &got))
	assert.Same(t, ce, got)
}

func TestLoadConfigObservability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		wantProblems []string
		check        func(t *testing.T, cfg app.Config)
	}{
		{name: "defaults: metrics open, prompts not logged, tracing off", env: map[string]string{}, check: func(t *testing.T, cfg app.Config) {
			assert.Empty(t, cfg.MetricsToken.Reveal())
			assert.False(t, cfg.LogPrompts)
			assert.Empty(t, cfg.Tracing.Endpoint)
			assert.Equal(t, "genzai", cfg.Tracing.ServiceName)
			assert.Equal(t, "parentbased_always_on", cfg.Tracing.Sampler)
			assert.Equal(t, 1.0, cfg.Tracing.SamplerArg)
		}},
		{name: "METRICS_TOKEN", env: map[string]string{"METRICS_TOKEN": " tok3n "}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "tok3n", cfg.MetricsToken.Reveal())
		}},
		{name: "METRICS_TOKEN with a space", env: map[string]string{"METRICS_TOKEN": "two words"}, wantProblems: []string{"METRICS_TOKEN"}},
		{name: "production METRICS_TOKEN too short", env: prod(map[string]string{"METRICS_TOKEN": strings.Repeat("m", 15)}), wantProblems: []string{"METRICS_TOKEN"}},
		{name: "production METRICS_TOKEN long enough", env: prod(map[string]string{"METRICS_TOKEN": strings.Repeat("m", 16)}), check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, strings.Repeat("m", 16), cfg.MetricsToken.Reveal())
		}},
		{name: "production without METRICS_TOKEN", env: prod(map[string]string{"METRICS_TOKEN": ""}), wantProblems: []string{"METRICS_TOKEN"}},
		{name: "production with METRICS_ADDR needs no token", env: prod(map[string]string{"METRICS_TOKEN": "", "METRICS_ADDR": "10.0.0.5:9090"}), check: func(t *testing.T, cfg app.Config) {
			assert.Empty(t, cfg.MetricsToken.Reveal())
			assert.Equal(t, "10.0.0.5:9090", cfg.MetricsAddr)
		}},
		{name: "METRICS_ADDR not host:port", env: map[string]string{"METRICS_ADDR": "9090"}, wantProblems: []string{"METRICS_ADDR"}},
		{name: "METRICS_ADDR bad port", env: map[string]string{"METRICS_ADDR": "127.0.0.1:99999"}, wantProblems: []string{"METRICS_ADDR"}},
		{name: "LOG_PROMPTS true", env: map[string]string{"LOG_PROMPTS": "true"}, check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.LogPrompts)
		}},
		{name: "LOG_PROMPTS in production", env: prod(map[string]string{"LOG_PROMPTS": "1"}), check: func(t *testing.T, cfg app.Config) {
			assert.True(t, cfg.LogPrompts)
		}},
		{name: "LOG_PROMPTS not a boolean", env: map[string]string{"LOG_PROMPTS": "sometimes"}, wantProblems: []string{"LOG_PROMPTS"}},
		{name: "OTLP endpoint: traces go to /v1/traces", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "http://collector:4318/v1/traces", cfg.Tracing.Endpoint)
		}},
		{name: "OTLP endpoint with a path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com/otlp"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "https://otlp.example.com/otlp/v1/traces", cfg.Tracing.Endpoint)
		}},
		{name: "OTLP traces endpoint is used as given", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example.com/custom",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "https://traces.example.com/custom", cfg.Tracing.Endpoint)
		}},
		{name: "OTEL_SDK_DISABLED wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, check: func(t *testing.T, cfg app.Config) {
			assert.Empty(t, cfg.Tracing.Endpoint)
		}},
		{name: "OTLP endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, wantProblems: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{name: "OTLP traces endpoint not http", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector:4317"}, wantProblems: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}},
		{name: "OTLP over gRPC is not spoken", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantProblems: []string{"OTEL_EXPORTER_OTLP_PROTOCOL"}},
		{name: "OTLP http/json is not spoken", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, wantProblems: []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}},
		{name: "OTLP http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}},
		{name: "OTLP headers", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc%20def"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "api-key=abc%20def", cfg.Tracing.Headers.Reveal())
		}},
		{name: "OTLP traces headers win", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2"}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "b=2", cfg.Tracing.Headers.Reveal())
		}},
		{name: "OTLP headers malformed", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "no-equals-sign"}, wantProblems: []string{"OTEL_EXPORTER_OTLP_HEADERS"}},
		{name: "service name and sampler", env: map[string]string{
			"OTEL_SERVICE_NAME": "genzai-eu", "OTEL_TRACES_SAMPLER": "ParentBased_TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
		}, check: func(t *testing.T, cfg app.Config) {
			assert.Equal(t, "genzai-eu", cfg.Tracing.ServiceName)
			assert.Equal(t, "parentbased_traceidratio", cfg.Tracing.Sampler)
			assert.Equal(t, 0.25, cfg.Tracing.SamplerArg)
		}},
		{name: "unknown sampler", env: map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, wantProblems: []string{"OTEL_TRACES_SAMPLER"}},
		{name: "sampler ratio out of range", env: map[string]string{"OTEL_TRACES_SAMPLER_ARG": "2"}, wantProblems: []string{"OTEL_TRACES_SAMPLER_ARG"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			assert.Equal(t, tc.wantProblems, problemVars(t, err))
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

func TestConfigRedactsObservabilitySecrets(t *testing.T) {
	t.Parallel()
	const (
		metricsToken = "metrics-token-0123456789abcdef"
		otlpKey      = "otlp-api-key-9876543210"
	)
	cfg, err := app.LoadConfig(getenv(prod(map[string]string{
		"METRICS_TOKEN":               metricsToken,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com",
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=" + otlpKey,
	})))
	require.NoError(t, err)
	require.Equal(t, metricsToken, cfg.MetricsToken.Reveal())
	require.Contains(t, cfg.Tracing.Headers.Reveal(), otlpKey)

	var text, jsonLog bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("x", "config", cfg)
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("x", "config", cfg)
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(raw), text.String(), jsonLog.String()} {
		assert.NotContains(t, out, metricsToken)
		assert.NotContains(t, out, otlpKey)
	}
	assert.Contains(t, jsonLog.String(), `"metrics_token":true`)
	assert.Contains(t, jsonLog.String(), `"otlp_traces_endpoint":"https://otlp.example.com/v1/traces"`)
}

func TestLoadConfigPprof(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		wantAddr     string
		wantRemote   bool
		wantProblems []string
	}{
		{name: "off by default", env: map[string]string{}},
		{name: "IPv4 loopback", env: map[string]string{"PPROF_ADDR": "127.0.0.1:6060"}, wantAddr: "127.0.0.1:6060"},
		{name: "anywhere in 127.0.0.0/8", env: map[string]string{"PPROF_ADDR": "127.10.20.30:6060"}, wantAddr: "127.10.20.30:6060"},
		{name: "IPv6 loopback", env: map[string]string{"PPROF_ADDR": "[::1]:6060"}, wantAddr: "[::1]:6060"},
		{name: "localhost", env: map[string]string{"PPROF_ADDR": "localhost:6060"}, wantAddr: "localhost:6060"},
		{name: "localhost in capitals", env: map[string]string{"PPROF_ADDR": "LocalHost:6060"}, wantAddr: "LocalHost:6060"},
		{name: "port 0 picks a free port", env: map[string]string{"PPROF_ADDR": "127.0.0.1:0"}, wantAddr: "127.0.0.1:0"},
		{name: "spaces are trimmed", env: map[string]string{"PPROF_ADDR": " 127.0.0.1:6060 "}, wantAddr: "127.0.0.1:6060"},
		{name: "loopback in production", env: prod(map[string]string{"PPROF_ADDR": "127.0.0.1:6060"}), wantAddr: "127.0.0.1:6060"},
		{name: "all interfaces refused", env: map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, wantAddr: "0.0.0.0:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "empty host refused", env: map[string]string{"PPROF_ADDR": ":6060"}, wantAddr: ":6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "IPv6 any refused", env: map[string]string{"PPROF_ADDR": "[::]:6060"}, wantAddr: "[::]:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "private address refused", env: map[string]string{"PPROF_ADDR": "10.0.0.5:6060"}, wantAddr: "10.0.0.5:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "host name refused", env: map[string]string{"PPROF_ADDR": "debug.example.com:6060"}, wantAddr: "debug.example.com:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "remote allowed", env: map[string]string{"PPROF_ADDR": "0.0.0.0:6060", "PPROF_ALLOW_REMOTE": "true"}, wantAddr: "0.0.0.0:6060", wantRemote: true},
		{name: "remote allowed in production", env: prod(map[string]string{"PPROF_ADDR": "10.0.0.5:6060", "PPROF_ALLOW_REMOTE": "1"}), wantAddr: "10.0.0.5:6060", wantRemote: true},
		{name: "remote allowed but not asked", env: map[string]string{"PPROF_ALLOW_REMOTE": "true"}, wantRemote: true},
		{name: "remote explicitly refused", env: map[string]string{"PPROF_ADDR": "0.0.0.0:6060", "PPROF_ALLOW_REMOTE": "false"}, wantAddr: "0.0.0.0:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "PPROF_ALLOW_REMOTE not a boolean", env: map[string]string{"PPROF_ADDR": "0.0.0.0:6060", "PPROF_ALLOW_REMOTE": "maybe"}, wantAddr: "0.0.0.0:6060", wantProblems: []string{"PPROF_ALLOW_REMOTE", "PPROF_ADDR"}},
		{name: "no port", env: map[string]string{"PPROF_ADDR": "127.0.0.1"}, wantAddr: "127.0.0.1", wantProblems: []string{"PPROF_ADDR"}},
		{name: "unbracketed IPv6", env: map[string]string{"PPROF_ADDR": "::1:6060"}, wantAddr: "::1:6060", wantProblems: []string{"PPROF_ADDR"}},
		{name: "port out of range", env: map[string]string{"PPROF_ADDR": "127.0.0.1:65536"}, wantAddr: "127.0.0.1:65536", wantProblems: []string{"PPROF_ADDR"}},
		{name: "port by name", env: map[string]string{"PPROF_ADDR": "127.0.0.1:http"}, wantAddr: "127.0.0.1:http", wantProblems: []string{"PPROF_ADDR"}},
		{name: "a URL is not an address", env: map[string]string{"PPROF_ADDR": "http://127.0.0.1:6060"}, wantAddr: "http://127.0.0.1:6060", wantProblems: []string{"PPROF_ADDR"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.LoadConfig(getenv(tc.env))
			assert.Equal(t, tc.wantProblems, problemVars(t, err))
			assert.Equal(t, tc.wantAddr, cfg.PprofAddr)
			assert.Equal(t, tc.wantRemote, cfg.PprofAllowRemote)
		})
	}
}

func TestConfigHidesSMTPPassword(t *testing.T) {
	t.Parallel()
	const password = "hunter2mail"
	_, err := app.LoadConfig(getenv(map[string]string{"SMTP_URL": "smtp://u:" + password + "@mail.example.com:%zz", "SMTP_FROM": "a@example.com", "PUBLIC_URL": "https://x.example.com"}))
	require.Error(t, err)
	assert.Equal(t, []string{"SMTP_URL"}, problemVars(t, err))
	assert.NotContains(t, err.Error(), password)

	cfg, err := app.LoadConfig(getenv(map[string]string{"SMTP_URL": "smtp://u:" + password + "@mail.example.com:587", "SMTP_FROM": "a@example.com", "PUBLIC_URL": "https://x.example.com"}))
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	assert.NotContains(t, buf.String(), password)
	assert.Contains(t, buf.String(), "mail.example.com")
}
