package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/adapters/smtpmail/smtptest"
)

// randomText is n random characters of alphabet: every run has its own
// secrets, so that a match can only come from this run's output.
func randomText(t *testing.T, n int, alphabet string) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// assertNoSecret fails when secret, or any 16 characters of it in a row,
// appears in out: a key cut short or partly masked is still a leak.
func assertNoSecret(t *testing.T, out, name, secret string) {
	t.Helper()
	if !assert.NotContains(t, out, secret, "the %s appears in the output", name) {
		return
	}
	const window = 16
	for i := 0; i+window <= len(secret); i += 4 {
		if part := secret[i : i+window]; strings.Contains(out, part) {
			assert.Fail(t, "part of a secret appears in the output", "%s: %q", name, part)
			return
		}
	}
}

// TestServeFullSessionNeverLogsSecrets extends TestServeNeverLogsSecrets
// (the account flow) to a whole session against the real binary at DEBUG:
// real-looking provider keys (one of which the provider rejects), a
// 64-character JWT secret, database and Redis passwords and a metrics
// token; register, login (right and wrong), chat streamed and whole, with
// web search against a fake DuckDuckGo, quota, models, status, an admin
// call, metrics, bad and forged tokens. Nothing the process writes may
// contain a secret, an issued token or the user's password.
func TestServeFullSessionNeverLogsSecrets(t *testing.T) {
	t.Parallel()
	ddgPage, err := os.ReadFile("../../adapters/duckduckgo/testdata/results.html")
	require.NoError(t, err)
	for _, env := range []string{"development", "production"} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			secrets := map[string]string{
				"rejected Groq key": "gsk_" + randomText(t, 52, alnum),
				"Groq key":          "gsk_" + randomText(t, 52, alnum),
				"OpenRouter key":    "sk-or-v1-" + randomText(t, 64, "0123456789abcdef"),
				"HuggingFace key":   "hf_" + randomText(t, 34, alnum),
				"JWT_SECRET":        randomText(t, 64, alnum),
				"database password": "pg-" + randomText(t, 24, alnum),
				"Redis password":    "redis-" + randomText(t, 24, alnum),
				"METRICS_TOKEN":     "metrics-" + randomText(t, 32, alnum),
				"user password":     "user-" + randomText(t, 24, alnum),
				"wrong password":    "wrong-" + randomText(t, 24, alnum),
				"SMTP password":     "smtp-" + randomText(t, 24, alnum),
			}
			require.Len(t, secrets["JWT_SECRET"], 64)

			groq, openrouter, huggingface := fakeupstream.New(t), fakeupstream.New(t), fakeupstream.New(t)
			groq.Script(secrets["rejected Groq key"], fakeupstream.Unauthorized())
			var ddgHits atomic.Int32
			ddg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				ddgHits.Add(1)
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write(ddgPage)
			}))
			t.Cleanup(ddg.Close)

			redisURL, err := url.Parse(redistest.NewURL(t))
			require.NoError(t, err)
			// The test server's default user has no password, and then any
			// password is accepted: the URL carries one like production's.
			redisURL.User = url.UserPassword("default", secrets["Redis password"])

			smtp := smtptest.Start(t)
			s := startServer(t, "", serverVars(withPassword(t, pgtest.NewURL(t), secrets["database password"])).with(vars{
				"SMTP_URL":                        smtp.URL("genzai:" + secrets["SMTP password"]),
				"SMTP_FROM":                       "noreply@example.com",
				"PUBLIC_URL":                      "https://chat.example.com",
				"ENV":                             env,
				"LOG_LEVEL":                       "DEBUG",
				"JWT_SECRET":                      secrets["JWT_SECRET"],
				"REDIS_URL":                       redisURL.String(),
				"METRICS_TOKEN":                   secrets["METRICS_TOKEN"],
				"ADMIN_EMAILS":                    "ada@example.com",
				"GROQ_BASE_URL":                   groq.URL(),
				"GROQ_API_KEYS":                   secrets["rejected Groq key"] + "," + secrets["Groq key"],
				"OPENROUTER_BASE_URL":             openrouter.URL(),
				"OPENROUTER_API_KEYS":             secrets["OpenRouter key"],
				"HUGGINGFACE_BASE_URL":            huggingface.URL(),
				"HUGGINGFACE_API_KEY":             secrets["HuggingFace key"],
				"DUCKDUCKGO_BASE_URL":             ddg.URL + "/html/",
				"DUCKDUCKGO_LITE_URL":             ddg.URL + "/lite/",
				"PROVIDER_CHECK_INTERVAL_SECONDS": "1", // probes (and their failures) run during the session
			}))

			s.register(t, "ada@example.com", secrets["user password"])
			require.True(t, s.verify(t, smtp, 1, secrets["user password"]).IsAdmin, "ADMIN_EMAILS promotes a verified address")
			tok := s.login(t, "ada@example.com", secrets["user password"]).AccessToken
			auth := bearer(tok)
			assertError(t, s.do(t, http.MethodPost, "/api/v1/auth/login", jsonBody(t, map[string]string{"email": "ada@example.com", "password": secrets["wrong password"]})), http.StatusUnauthorized, "unauthorized")

			ready := s.do(t, http.MethodGet, "/ready", "")
			require.Equal(t, http.StatusOK, ready.status, "%s", ready.body)
			assert.Equal(t, "ok", decode[map[string]any](t, ready)["checks"].(map[string]any)["redis"], "Redis answers with the password in its URL")

			for _, r := range []struct {
				method, path, body string
			}{
				{http.MethodPost, "/api/v1/chat", `{"prompt":"Hello AI!","stream":true}`},
				{http.MethodPost, "/api/v1/chat", `{"prompt":"Hello again","stream":false}`},
				{http.MethodPost, "/api/v1/chat", `{"prompt":"What is machine learning?","model":"balanced","web_search":true,"stream":false}`},
				{http.MethodGet, "/api/v1/quota", ""},
				{http.MethodGet, "/api/v1/models", ""},
				{http.MethodGet, "/api/v1/status", ""},
				{http.MethodGet, "/api/v1/web-search?q=machine+learning", ""},
				{http.MethodGet, "/api/v1/admin/users", ""},
				{http.MethodGet, "/api/v1/admin/requests", ""},
			} {
				res := s.do(t, r.method, r.path, r.body, auth...)
				assert.Equal(t, http.StatusOK, res.status, "%s %s: %s", r.method, r.path, res.body)
			}
			assert.Positive(t, groq.Count(secrets["rejected Groq key"]), "the rejected key was tried")
			assert.Positive(t, groq.Count(secrets["Groq key"]), "the good key answered")
			assert.Positive(t, ddgHits.Load(), "web search reached DuckDuckGo")

			metrics := s.do(t, http.MethodGet, "/metrics", "", bearer(secrets["METRICS_TOKEN"])...)
			assert.Equal(t, http.StatusOK, metrics.status)
			assertError(t, s.do(t, http.MethodGet, "/metrics", "", bearer(secrets["METRICS_TOKEN"]+"x")...), http.StatusUnauthorized, "unauthorized")

			none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
				base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","iss":"genzai","exp":`+jsonNumber(time.Now().Add(time.Hour).Unix())+`}`)) + "."
			for _, bad := range []string{tok + "x", none, tok[:len(tok)/2]} {
				assertError(t, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(bad)...), http.StatusUnauthorized, "unauthorized")
			}

			code, _ := s.terminate(t)
			require.Equal(t, 0, code)
			var sawConfig bool
			for _, rec := range s.records() {
				sawConfig = sawConfig || rec["msg"] == "configuration"
			}
			require.True(t, sawConfig, "DEBUG was on: the configuration record was written")

			out := s.output()
			assert.Contains(t, out, "provider key rejected", "the rejected key was logged (by its index)")
			for name, secret := range secrets {
				assertNoSecret(t, out, name, secret)
			}
			// Tokens share their header segment: look for the whole token and
			// for its own parts.
			parts := strings.Split(tok, ".")
			require.Len(t, parts, 3)
			for name, part := range map[string]string{"access token": tok, "access token claims": parts[1], "access token signature": parts[2]} {
				assert.NotContains(t, out, part, "the %s appears in the output", name)
			}
		})
	}
}

// jsonNumber writes n as JSON.
func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
