package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeZeroSetup is a newcomer's first start: nothing configured (no
// DATABASE_URL, JWT_SECRET or keys). The server keeps its data in
// ./data/genzai.db, answers with the mock provider, prints a banner whose
// curl command works as printed, and keeps its data and its JWT secret
// (./data/jwt-secret) across restarts: a token outlives a restart.
func TestServeZeroSetup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	nothing := vars{}

	s := startServer(t, dir, nothing)
	require.Eventually(t, func() bool { return strings.Contains(s.stdoutText(), "Get a token") }, startTimeout, 20*time.Millisecond)
	banner := s.stdoutText()
	for _, want := range []string{
		"Web app    " + s.url + "/\n",
		s.url + "/api/v1",
		s.url + "/docs",
		"SQLite data/genzai.db (single instance",
		"mock (development answers",
		"development JWT secret in data/jwt-secret (tokens survive restarts)",
	} {
		assert.Contains(t, banner, want)
	}
	assert.FileExists(t, filepath.Join(dir, "data", "genzai.db"))
	secretFile, err := os.Stat(filepath.Join(dir, "data", "jwt-secret"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), secretFile.Mode().Perm(), "only the owner reads the secret")
	assert.Contains(t, s.stderrText(), "single instance only", "the log says SQLite means one instance")

	// The banner's curl command, run as printed.
	curl := regexp.MustCompile(`(?m)^\s+(curl .*)$`).FindStringSubmatch(banner)
	require.NotNil(t, curl, "banner has a curl command:\n%s", banner)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "-c", curl[1]).Output()
	require.NoError(t, err, "banner curl: %s", curl[1])
	tok := decode[tokenBody](t, response{status: http.StatusOK, body: out})
	require.NotEmpty(t, tok.AccessToken, "the banner's command returns a token: %s", out)

	r := s.do(t, http.MethodPost, "/api/v1/chat", `{"prompt":"Hello AI!","stream":false}`, bearer(tok.AccessToken)...)
	require.Equal(t, http.StatusOK, r.status, "chat: %s", r.body)
	assert.Equal(t, "mock", decode[map[string]any](t, r)["provider"])
	r = s.do(t, http.MethodGet, "/ready", "")
	assert.JSONEq(t, `{"ready":true,"environment":"development","checks":{"database":"ok"}}`, string(r.body))

	code, _ := s.terminate(t)
	require.Equal(t, 0, code)

	// The schema is up to date in the same directory, without configuration.
	stdout, stderr, code := runGenzai(t, dir, nothing, "migrate", "status")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.NotContains(t, stdout, "pending")

	// A restart finds the account and its count: the data is on disk. The
	// token from before the restart still works: so is the secret.
	s = startServer(t, dir, nothing)
	r = s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tok.AccessToken)...)
	require.Equal(t, http.StatusOK, r.status, "the token from before the restart: %s", r.body)
	assert.Equal(t, 1, decode[quotaBody](t, r).Used)
	r = s.do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"you@example.com"}`)
	require.Equal(t, http.StatusOK, r.status)
	tok = decode[tokenBody](t, r)
	q := decode[quotaBody](t, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tok.AccessToken)...))
	assert.Equal(t, 1, q.Used)
	code, _ = s.terminate(t)
	require.Equal(t, 0, code)
}

// TestServeSQLitePathUnusable: a database path that cannot be created (its
// parent is a file) is a clear start-up error naming it, not a panic.
func TestServeSQLitePathUnusable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	_, stderr, code := runGenzai(t, dir, vars{"DATABASE_URL": "sqlite:///" + file + "/sub/genzai.db"}, "serve", "--port", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "sqlite "+file+"/sub/genzai.db")
}

// TestServeRefusesExposedDevSecret: a development secret file that others
// may read stops serve with an error naming the file, before anything
// signs a token with it.
func TestServeRefusesExposedDevSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o700))
	path := filepath.Join(dir, "data", "jwt-secret")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("ab", 32)), 0o600))
	require.NoError(t, os.Chmod(path, 0o644))
	_, stderr, code := runGenzai(t, dir, vars{}, "serve", "--port", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "data/jwt-secret has mode 0644, wider than 0600")
}
