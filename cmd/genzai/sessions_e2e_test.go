//go:build e2e

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestOperatorResetsPassword performs the reset an operator does without
// mail: genzai admin reset-password on the database's URL, while the server
// runs. The new password logs in, the old one does not, and a token stolen
// before the reset is dead. On both stores.
func TestOperatorResetsPassword(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name string
		url  func(t *testing.T, dir string) string
	}{
		{"postgresql", func(t *testing.T, _ string) string { return pgtest.NewURL(t) }},
		{"sqlite", func(t *testing.T, dir string) string { return "sqlite:///" + filepath.Join(dir, "genzai.db") }},
	} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			v := serverVars(engine.url(t, dir))
			s := startServer(t, dir, v)
			s.register(t, "ada@example.com", "old password")
			stolen := s.login(t, "ada@example.com", "old password").AccessToken
			require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(stolen)...).status)

			// The operator's CLI needs the database, not the server: no token.
			op := vars{"ENV": "development", "DATABASE_URL": v["DATABASE_URL"], "JWT_SECRET": testSecret}
			stdout, stderr, code := runWithStdin(t, dir, op, "brand new password\n", "admin", "reset-password", "ADA@example.com")
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Equal(t, "password of ada@example.com reset; its access tokens no longer work\n", stdout)

			r := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(stolen)...)
			assertError(t, r, http.StatusUnauthorized, "unauthorized")
			assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"))
			r = s.do(t, http.MethodPost, "/api/v1/auth/login", jsonBody(t, map[string]string{"email": "ada@example.com", "password": "old password"}))
			assertError(t, r, http.StatusUnauthorized, "unauthorized")
			fresh := s.login(t, "ada@example.com", "brand new password").AccessToken
			assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(fresh)...).status)

			// --generate prints a random password alone on standard output.
			stdout, stderr, code = runWithStdin(t, dir, op, "", "admin", "reset-password", "--generate", "ada@example.com")
			require.Equal(t, 0, code, "stderr: %s", stderr)
			generated := strings.TrimSuffix(stdout, "\n")
			assert.Regexp(t, `^[A-Z2-7]{26}$`, generated)
			assert.Contains(t, stderr, "password of ada@example.com reset")
			s.login(t, "ada@example.com", generated)

			// Refusals change nothing.
			for _, tc := range []struct {
				name, stdin string
				args        []string
				code        int
				stderr      string
			}{
				{"unknown account", "long enough\n", []string{"nobody@example.com"}, 1, `error: no account with the email "nobody@example.com"`},
				{"short password", "short\n", []string{"ada@example.com"}, 2, "the new password must be 8 to 128 characters"},
				{"no email", "long enough\n", nil, 2, "takes 1 argument(s)"},
			} {
				_, stderr, code := runWithStdin(t, dir, op, tc.stdin, append([]string{"admin", "reset-password"}, tc.args...)...)
				assert.Equal(t, tc.code, code, "%s: %s", tc.name, stderr)
				assert.Contains(t, stderr, tc.stderr, tc.name)
			}
			s.login(t, "ada@example.com", generated)
		})
	}
}

// TestCLILogout logs in with the real binary, steals the saved token, logs
// out, and finds the token dead and forgotten.
func TestCLILogout(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", serverVars(pgtest.NewURL(t)))
	s.register(t, "ada@example.com", "battery staple")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cli := vars{"GENZAI_HOST": s.url, "GENZAI_CONFIG": cfgPath}

	stdout, stderr, code := runWithStdin(t, dir, cli, "battery staple\n", "login", "--email", "ada@example.com")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	saved, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(saved), "token: ")
	require.True(t, ok, "config: %s", saved)
	stolen := strings.TrimSpace(after)
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(stolen)...).status)

	stdout, stderr, code = runWithStdin(t, dir, cli, "", "logout")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Equal(t, "logged out everywhere\n", stdout)
	saved, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	assert.NotContains(t, string(saved), "token:", "the saved token is forgotten")
	assertError(t, s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(stolen)...), http.StatusUnauthorized, "unauthorized")

	_, stderr, code = runWithStdin(t, dir, cli, "", "logout")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not logged in")
	stdout, stderr, code = runWithStdin(t, dir, cli.with(vars{"GENZAI_TOKEN": stolen}), "", "logout")
	assert.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Equal(t, "the token was already invalid; it is forgotten\n", stdout)
}
