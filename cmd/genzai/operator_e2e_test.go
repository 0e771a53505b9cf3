package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/api"
)

// TestOperatorCLI drives `genzai admin grant|revoke|audit` of the real
// binary, run with the database's URL beside a running server, on both
// engines: the operator makes the first admin out of band (no
// ADMIN_EMAILS), a demotion one admin asks for through the API waits for a
// second admin, the operator's revoke needs none, and every step is in the
// audit log. Keys show their scopes and expiry.
func TestOperatorCLI(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"postgresql", func(t *testing.T) string { return pgtest.NewURL(t) }},
		{"sqlite", func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "genzai.db") }},
	} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			dbURL := engine.url(t)
			s := startServer(t, "", serverVars(dbURL).with(vars{"MOCK_PROVIDER_DELAY_MS": "0"}))
			ada := s.register(t, "ada@example.com", "correct horse")
			require.False(t, ada.IsAdmin, "no ADMIN_EMAILS: nobody is an admin")
			s.register(t, "bob@example.com", "battery staple")
			adaToken := s.login(t, "ada@example.com", "correct horse").AccessToken
			bobToken := s.login(t, "bob@example.com", "battery staple").AccessToken
			isAdmin := func(token string) bool {
				t.Helper()
				r := s.do(t, http.MethodGet, "/api/v1/admin/users", "", bearer(token)...)
				require.Contains(t, []int{http.StatusOK, http.StatusForbidden}, r.status, "%s", r.body)
				return r.status == http.StatusOK
			}
			// The operator writes the database from another process: on
			// PostgreSQL the server hears of it by a notice (normally at
			// once; the rule is within a second, tested in app), so its
			// answer is awaited, with room for a loaded test machine.
			becomes := func(token string, admin bool, msg string) {
				t.Helper()
				assert.Eventually(t, func() bool { return isAdmin(token) == admin }, 3*time.Second, 20*time.Millisecond, msg)
			}

			dir := t.TempDir()
			operator := func(args ...string) (string, string, int) {
				t.Helper()
				// The operator's environment: the database, nothing else the
				// server needs but a JWT secret the configuration requires.
				return runGenzai(t, dir, vars{"ENV": "development", "DATABASE_URL": dbURL, "JWT_SECRET": testSecret, "LOG_LEVEL": "WARN"}, args...)
			}
			client := func(token string, args ...string) (string, string, int) {
				t.Helper()
				return runGenzai(t, dir, vars{"GENZAI_HOST": s.url, "GENZAI_TOKEN": token, "GENZAI_CONFIG": dir + "/config.yaml"}, args...)
			}

			// No such account, and not an email: clear errors, nothing changes.
			out, errOut, code := operator("admin", "grant", "nobody@example.com")
			assert.Equal(t, 1, code, "stdout: %s", out)
			assert.Contains(t, errOut, "No account with the email nobody@example.com")
			_, errOut, code = operator("admin", "grant", "not-an-email")
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "email")
			_, _, code = operator("admin", "grant")
			assert.Equal(t, 2, code, "a usage error")

			// Grant: at once, for the tokens the accounts already hold.
			for _, email := range []string{"ADA@example.com", "bob@example.com"} {
				out, errOut, code = operator("admin", "grant", email)
				require.Equal(t, 0, code, "stderr: %s", errOut)
				assert.Equal(t, strings.ToLower(email)+" is now an admin\n", out)
			}
			becomes(adaToken, true, "ada is an admin")
			becomes(bobToken, true, "bob is an admin")

			// An admin demoting another admin through the API only asks.
			out, errOut, code = client(adaToken, "admin", "users", "demote", "bob@example.com")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Contains(t, out, "the change to bob@example.com waits for a second admin")
			assert.True(t, isAdmin(bobToken), "bob is still an admin")

			// The operator needs no second admin.
			out, errOut, code = operator("admin", "revoke", "bob@example.com")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, "bob@example.com is no longer an admin\n", out)
			becomes(bobToken, false, "bob is no longer an admin")
			assert.True(t, isAdmin(adaToken))

			// An admin key, listed with its scopes and expiry.
			out, errOut, code = client(adaToken, "keys", "create", "ops", "--scope", "admin", "--expires-in-days", "30")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Contains(t, errOut, "scopes admin")
			key := strings.TrimSpace(out)
			r := s.do(t, http.MethodGet, "/api/v1/admin/users", "", bearer(key)...)
			assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
			out, errOut, code = client(adaToken, "keys", "list")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Regexp(t, `^PREFIX\s+NAME\s+ID\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\n`, out)
			assert.Regexp(t, `(?m)^gz-\S+\s+ops\s+\S+\s+admin\s+.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, out)
			_, errOut, code = client(bobToken, "keys", "create", "x", "--scope", "admin")
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "Only admins can create keys with the admin scope")

			// The audit log, newest first, with who did what.
			out, errOut, code = operator("admin", "audit", "-o", "json")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			var page api.AuditPage
			require.NoError(t, json.Unmarshal([]byte(out), &page), out)
			var got []string
			for _, e := range page.Entries {
				got = append(got, e.Actor+" "+string(e.Action)+" "+e.Target)
			}
			assert.Equal(t, []string{
				"ada@example.com admin_key_created ada@example.com",
				"operator admin_revoked bob@example.com",
				"ada@example.com change_requested bob@example.com",
				"operator admin_granted bob@example.com",
				"operator admin_granted ada@example.com",
			}, got)
			assert.Nil(t, page.Entries[1].ActorId, "the operator has no account")
			assert.NotNil(t, page.Entries[2].RequestId, "API changes carry their request id")
			out, errOut, code = operator("admin", "audit", "--limit", "2")
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Regexp(t, `^ID\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+DETAILS\s+REQUEST ID\n`, out)
			assert.Equal(t, 3, strings.Count(out, "\n"), out)
			assert.Contains(t, errOut, "more: genzai admin audit --limit 2 --cursor ")
			_, _, code = operator("admin", "audit", "--limit", "0")
			assert.Equal(t, 1, code)
		})
	}
}
