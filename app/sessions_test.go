package app_test

// Session attacks (issue 19, "No way to revoke tokens"): a stolen access
// token replayed after its owner logged out, changed the password, or was
// disabled and enabled again, through the real HTTP stack on both stores.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
)

// assertRevoked checks that token is refused as a revoked one, with the
// challenge that tells clients to get a new token.
func assertRevoked(t *testing.T, e *env, token, why string) {
	t.Helper()
	res := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
	assertErrorAnswer(t, res, http.StatusUnauthorized, "unauthorized", "Invalid authentication token")
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"), why)
}

// assertWorks checks that token is accepted.
func assertWorks(t *testing.T, e *env, token, why string) {
	t.Helper()
	res := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
	assert.Equal(t, http.StatusOK, res.status, "%s: %s", why, res.body)
}

// newKey creates a personal API key for token's owner.
func newKey(t *testing.T, e *env, token string) string {
	t.Helper()
	res := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "script"}, bearer(token))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	return res.json(t)["key"].(string)
}

func TestStolenTokenAfterLogout(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.register("ada@example.com", pw)
			e.register("bob@example.com", pw)
			stolen := e.login("ada@example.com", pw) // the attacker's copy
			e.clock.Advance(300 * time.Millisecond)  // same second, another device
			laptop := e.login("ada@example.com", pw)
			key := newKey(t, e, laptop)
			bob := e.login("bob@example.com", pw)
			assertWorks(t, e, stolen, "before logout")

			res := e.do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(laptop))
			require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
			assert.Empty(t, res.body)

			assertRevoked(t, e, stolen, "the stolen token dies with the logout")
			assertRevoked(t, e, laptop, "logout ends every session, this one included")
			res = e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(stolen))
			assert.Equal(t, http.StatusUnauthorized, res.status, "chat too: %s", res.body)
			res = e.do(http.MethodGet, "/v1/models", nil, bearer(stolen))
			assert.Equal(t, http.StatusUnauthorized, res.status, "nor the OpenAI-compatible API: %s", res.body)
			assert.Equal(t, "Invalid authentication token", res.json(t)["error"].(map[string]any)["message"])
			res = e.do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(stolen))
			assert.Equal(t, http.StatusUnauthorized, res.status, "a dead token cannot log out again: %s", res.body)
			assertWorks(t, e, key, "personal API keys are separate credentials")
			assertWorks(t, e, bob, "other users are untouched")

			e.clock.Advance(time.Millisecond) // still the same second as the logout
			fresh := e.login("ada@example.com", pw)
			assertWorks(t, e, fresh, "logging in again works")
			assertRevoked(t, e, stolen, "and does not revive the old token")
		})
	}
}

func TestLogoutRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"no token", nil},
		{"forged token", bearer(token[:len(token)-2] + "xx")},
		{"basic auth", map[string]string{"Authorization": "Basic YWRhOmNvcnJlY3QgaG9yc2U="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/api/v1/auth/logout", nil, tc.header)
			assertErrorAnswer(t, res, http.StatusUnauthorized, "unauthorized", "")
		})
	}
	assertWorks(t, e, token, "refused logouts revoke nothing")
}

func TestStolenTokenAfterPasswordChange(t *testing.T) {
	t.Parallel()
	const newPW = "a much better password"
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.register("ada@example.com", pw)
			stolen := e.login("ada@example.com", pw)
			e.clock.Advance(200 * time.Millisecond)
			mine := e.login("ada@example.com", pw)
			key := newKey(t, e, mine)

			res := e.do(http.MethodPost, "/api/v1/me/password", map[string]any{"current_password": pw, "new_password": newPW}, bearer(mine))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			body := res.json(t)
			assert.Equal(t, "bearer", body["token_type"])
			assert.Equal(t, 86400.0, body["expires_in"])
			fresh := body["access_token"].(string)

			assertWorks(t, e, fresh, "the token handed back works at once, in the same instant")
			assertRevoked(t, e, stolen, "the stolen token dies with the password change")
			assertRevoked(t, e, mine, "so does the token that made the change")
			assertWorks(t, e, key, "personal API keys are separate credentials")

			res = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil)
			assertErrorAnswer(t, res, http.StatusUnauthorized, "unauthorized", "Invalid email or password")
			e.clock.Advance(time.Millisecond)
			assertWorks(t, e, e.login("ada@example.com", newPW), "the new password logs in")
		})
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	key := newKey(t, e, token)
	tests := []struct {
		name    string
		token   string
		body    any
		status  int
		code    string
		message string
	}{
		{"wrong current password", token, map[string]any{"current_password": "not my password", "new_password": "whatever it is"}, http.StatusUnauthorized, "unauthorized", "Current password is incorrect"},
		{"current password missing", token, map[string]any{"new_password": "whatever it is"}, http.StatusBadRequest, "invalid_request", "current_password: is required"},
		{"new password too short", token, map[string]any{"current_password": pw, "new_password": "short"}, http.StatusBadRequest, "invalid_request", "new_password: must be 8 to 128 characters"},
		{"new password too long", token, map[string]any{"current_password": pw, "new_password": strings.Repeat("x", 129)}, http.StatusBadRequest, "invalid_request", "new_password: must be 8 to 128 characters"},
		{"new password missing", token, map[string]any{"current_password": pw}, http.StatusBadRequest, "invalid_request", "new_password: must be 8 to 128 characters"},
		{"wrong type", token, map[string]any{"current_password": pw, "new_password": 12345678}, http.StatusBadRequest, "invalid_request", ""},
		{"not JSON", token, "{", http.StatusBadRequest, "invalid_request", ""},
		{"with a personal API key", key, map[string]any{"current_password": pw, "new_password": "taken over by a key"}, http.StatusForbidden, "forbidden", "API keys cannot be used here: log in and use the access token"},
		{"without a token", "", map[string]any{"current_password": pw, "new_password": "whatever it is"}, http.StatusUnauthorized, "unauthorized", "Missing bearer token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var header map[string]string
			if tc.token != "" {
				header = bearer(tc.token)
			}
			res := e.do(http.MethodPost, "/api/v1/me/password", tc.body, header)
			assertErrorAnswer(t, res, tc.status, tc.code, tc.message)
			if tc.status == http.StatusUnauthorized && tc.token != "" {
				assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"), "a wrong password is no invalid token")
			}
		})
	}
	assertWorks(t, e, token, "refused changes revoke nothing")
	assertWorks(t, e, e.login("ada@example.com", pw), "and keep the password")
}

// TestChangePasswordGuessesAreRateLimited guesses the current password with
// a stolen token: the guesses share the auth routes' budget.
func TestChangePasswordGuessesAreRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "4"})
	e.register("ada@example.com", pw) // 1
	stolen := e.login("ada@example.com", pw)
	statuses := map[int]int{}
	for i := range 6 {
		res := e.do(http.MethodPost, "/api/v1/me/password", map[string]any{"current_password": "guess " + string(rune('a'+i)), "new_password": "taken over now"}, bearer(stolen))
		statuses[res.status]++
		if res.status == http.StatusTooManyRequests {
			assert.NotEmpty(t, res.header.Get("Retry-After"))
		}
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 2, http.StatusTooManyRequests: 4}, statuses)
}

func TestEmailOnlyAccountSetsFirstPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "true"})
	res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "dev@example.com"}, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	token := res.json(t)["access_token"].(string)

	res = e.do(http.MethodPost, "/api/v1/me/password", map[string]any{"new_password": "first password"}, bearer(token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assertWorks(t, e, res.json(t)["access_token"].(string), "the new token")
	assertRevoked(t, e, token, "the email-only token")
	res = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "dev@example.com"}, nil)
	assert.Equal(t, http.StatusUnauthorized, res.status, "no more login without the password: %s", res.body)
}

func TestStolenTokenAfterDisableAndEnable(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.registerAdmin("boss@example.com", pw)
			adaID := e.register("ada@example.com", pw)
			boss := e.login("boss@example.com", pw)
			stolen := e.login("ada@example.com", pw)
			patch := func(disabled bool) {
				t.Helper()
				res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": disabled}, bearer(boss))
				require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			}

			patch(true)
			e.clock.Advance(time.Second)
			patch(false)
			assertRevoked(t, e, stolen, "re-enabling does not revive the token")
			assertWorks(t, e, boss, "the admin's own token is untouched")

			e.clock.Advance(time.Millisecond)
			assertWorks(t, e, e.login("ada@example.com", pw), "a new login works")
			res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"daily_quota": 5}, bearer(boss))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			assertRevoked(t, e, stolen, "other patches change nothing about it")
		})
	}
}

// TestOperatorResetPassword is the reset genzai admin reset-password runs,
// on the gateway's own database while it serves: the stolen token dies, the
// old password stops working and the new one logs in.
func TestOperatorResetPassword(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.register("ada@example.com", pw)
			stolen := e.login("ada@example.com", pw)
			ctx := context.Background()
			opts := app.Options{PasswordParams: &cheapHash, Clock: e.clock}

			for _, tc := range []struct {
				email, password string
				code            domain.Code
			}{
				{"nobody@example.com", "long enough", domain.CodeNotFound},
				{"not an email", "long enough", domain.CodeInvalid},
				{"ada@example.com", "short", domain.CodeInvalid},
			} {
				_, err := app.ResetPassword(ctx, e.cfg, e.app.Database, opts, tc.email, tc.password)
				assert.Equal(t, tc.code, domain.ErrorCode(err), "%s %q: %v", tc.email, tc.password, err)
			}
			assertWorks(t, e, stolen, "refused resets revoke nothing")

			u, err := app.ResetPassword(ctx, e.cfg, e.app.Database, opts, "Ada@Example.com", "reset by the operator")
			require.NoError(t, err)
			assert.Equal(t, "ada@example.com", u.Email)
			assertRevoked(t, e, stolen, "the reset revokes every token")
			res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil)
			assert.Equal(t, http.StatusUnauthorized, res.status, "the old password is gone: %s", res.body)
			e.clock.Advance(time.Millisecond)
			assertWorks(t, e, e.login("ada@example.com", "reset by the operator"), "the new password logs in")
		})
	}
}

// TestStolenKeyAfterDisableAndReset: a personal API key minted by whoever
// held the account dies when an admin disables it (re-enabling revives
// none) and when the operator resets the password, on both stores. Logout
// and the owner's own password change leave keys alone (they are separate
// credentials, revoked one by one).
func TestStolenKeyAfterDisableAndReset(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, map[string]string{"DATABASE_URL": st.url(t)})
			e.registerAdmin("boss@example.com", pw)
			adaID := e.register("ada@example.com", pw)
			boss := e.login("boss@example.com", pw)
			keyWorks := func(key string) int {
				t.Helper()
				return e.do(http.MethodGet, "/api/v1/quota", nil, bearer(key)).status
			}

			key := newKey(t, e, e.login("ada@example.com", pw))
			require.Equal(t, http.StatusOK, keyWorks(key))
			require.Equal(t, http.StatusNoContent, e.do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(e.login("ada@example.com", pw))).status)
			assert.Equal(t, http.StatusOK, keyWorks(key), "logout leaves keys alone")

			for _, disabled := range []bool{true, false} {
				res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": disabled}, bearer(boss))
				require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			}
			assert.Equal(t, http.StatusUnauthorized, keyWorks(key), "disabling revoked the key; enabling revived nothing")

			e.clock.Advance(time.Second)
			key = newKey(t, e, e.login("ada@example.com", pw))
			require.Equal(t, http.StatusOK, keyWorks(key))
			opts := app.Options{PasswordParams: &cheapHash, Clock: e.clock}
			_, err := app.ResetPassword(context.Background(), e.cfg, e.app.Database, opts, "ada@example.com", "reset by the operator")
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, keyWorks(key), "the operator's reset revoked the key")
		})
	}
}
