package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// privEnv is a gateway with three admins (boss, ada and cat, made in the
// store as the operator's grant does) and a plain user (dan).
type privEnv struct {
	*env
	boss, ada, cat, dan         string // access tokens
	bossID, adaID, catID, danID string
}

func newPrivEnv(t *testing.T) privEnv {
	t.Helper()
	e := newEnv(t, nil)
	p := privEnv{env: e}
	p.bossID = e.registerAdmin("boss@example.com", pw)
	p.boss = e.login("boss@example.com", pw)
	p.adaID = e.registerAdmin("ada@example.com", pw)
	p.catID = e.registerAdmin("cat@example.com", pw)
	p.danID = e.register("dan@example.com", pw)
	p.ada = e.login("ada@example.com", pw)
	p.cat = e.login("cat@example.com", pw)
	p.dan = e.login("dan@example.com", pw)
	return p
}

// key creates a key for token with body and returns it.
func (p privEnv) key(token string, body map[string]any) string {
	p.t.Helper()
	res := p.do(http.MethodPost, "/api/v1/keys", body, bearer(token))
	require.Equal(p.t, http.StatusCreated, res.status, "%s", res.body)
	return res.json(p.t)["key"].(string)
}

// isAdmin reports whether token opens the admin routes.
func (p privEnv) isAdmin(token string) bool {
	p.t.Helper()
	res := p.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token))
	require.Contains(p.t, []int{http.StatusOK, http.StatusForbidden}, res.status, "%s", res.body)
	return res.status == http.StatusOK
}

// audit returns the audit log, newest first, as boss sees it.
func (p privEnv) audit() []map[string]any {
	p.t.Helper()
	res := p.do(http.MethodGet, "/api/v1/admin/audit?limit=500", nil, bearer(p.boss))
	require.Equal(p.t, http.StatusOK, res.status, "%s", res.body)
	var out []map[string]any
	for _, e := range res.json(p.t)["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// findAudit returns the newest entry with action and target.
func findAudit(entries []map[string]any, action, target string) map[string]any {
	for _, e := range entries {
		if e["action"] == action && e["target"] == target {
			return e
		}
	}
	return nil
}

// TestAttackDefaultKeyOnAdminRoutes: an admin's key made without scopes is
// a chat key; it opens chat routes but no admin route (issue 19: personal
// keys were admin keys).
func TestAttackDefaultKeyOnAdminRoutes(t *testing.T) {
	t.Parallel()
	p := newPrivEnv(t)
	key := p.key(p.boss, map[string]any{"name": "laptop"})

	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/admin/users", nil},
		{http.MethodGet, "/api/v1/admin/analytics", nil},
		{http.MethodGet, "/api/v1/admin/requests", nil},
		{http.MethodGet, "/api/v1/admin/audit", nil},
		{http.MethodPatch, "/api/v1/admin/users/" + p.danID, map[string]any{"is_admin": true}},
		{http.MethodPatch, "/api/v1/admin/users/" + p.adaID, map[string]any{"disabled": true}},
		{http.MethodPost, "/api/v1/admin/changes/7d0c2c3e-0000-4000-8000-000000000000/confirm", nil},
	} {
		res := p.do(r.method, r.path, r.body, bearer(key))
		assert.Equal(t, http.StatusForbidden, res.status, "%s %s: %s", r.method, r.path, res.body)
		assert.Contains(t, res.json(t)["error"], `lacks the "admin" scope`, "%s %s", r.method, r.path)
	}
	assert.False(t, p.isAdmin(p.dan), "dan was not promoted")
	assert.True(t, p.isAdmin(p.ada), "ada was not disabled")

	// The same key does what chat keys are for.
	for _, path := range []string{"/api/v1/quota", "/api/v1/models", "/v1/models"} {
		assert.Equal(t, http.StatusOK, p.do(http.MethodGet, path, nil, bearer(key)).status, path)
	}
}

// TestAttackAdminKeyTakesOverAnotherAdmin replays the attack of issue 19:
// an admin's key (stolen) promotes an accomplice, who disables and demotes
// the admins. Neither the promotion nor taking rights from another admin
// applies: each only asks for a change that a second admin must confirm,
// and the stolen credential cannot confirm its own. The victims stay admins
// and can log in.
func TestAttackAdminKeyTakesOverAnotherAdmin(t *testing.T) {
	t.Parallel()
	p := newPrivEnv(t)
	stolen := p.key(p.boss, map[string]any{"name": "ops", "scopes": []string{"admin"}})
	entries := p.audit()
	created := findAudit(entries, "admin_key_created", "boss@example.com")
	require.NotNil(t, created, "an admin key is audited: %v", entries)
	assert.Equal(t, []any{"admin"}, created["details"].(map[string]any)["scopes"])

	// The stolen key promotes the accomplice: only a pending change.
	res := p.do(http.MethodPatch, "/api/v1/admin/users/"+p.danID, map[string]any{"is_admin": true}, bearer(stolen))
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	promotion := res.json(t)["id"].(string)
	for _, token := range []string{stolen, p.boss} {
		res = p.do(http.MethodPost, "/api/v1/admin/changes/"+promotion+"/confirm", nil, bearer(token))
		assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	}
	mallory := p.dan
	assert.False(t, p.isAdmin(mallory), "no accomplice")
	res = p.do(http.MethodPatch, "/api/v1/admin/users/"+p.bossID, map[string]any{"disabled": true}, bearer(mallory))
	assertErrorAnswer(t, res, http.StatusForbidden, "forbidden", "Admin access required")

	var pending, requestIDs []string
	for _, tc := range []struct {
		name string
		id   string
		body map[string]any
	}{
		{"the key demotes ada", p.adaID, map[string]any{"is_admin": false}},
		{"the key disables cat", p.catID, map[string]any{"disabled": true}},
		{"the key demotes cat and sets a quota", p.catID, map[string]any{"is_admin": false, "daily_quota": 0}},
	} {
		res := p.do(http.MethodPatch, "/api/v1/admin/users/"+tc.id, tc.body, map[string]string{
			"Authorization": "Bearer " + stolen, "X-Request-ID": "attack-" + strings.ReplaceAll(tc.name, " ", "-"),
		})
		require.Equal(t, http.StatusAccepted, res.status, "%s: %s", tc.name, res.body)
		// The server's own request id, never the client's, is what the audit keeps.
		requestIDs = append(requestIDs, res.header.Get("X-Request-ID"))
		c := res.json(t)
		assert.Equal(t, tc.id, c["target_id"], tc.name)
		assert.Equal(t, p.bossID, c["requested_by"], tc.name)
		assert.Nil(t, c["confirmed_at"], tc.name)
		expires, err := time.Parse(time.RFC3339, c["expires_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, p.clock.Now().Add(24*time.Hour), expires, time.Second, tc.name)
		pending = append(pending, c["id"].(string))
	}

	// The attacker cannot confirm their own changes, with the key or the
	// owner's token; confirming takes a different admin.
	for _, id := range pending {
		for _, token := range []string{stolen, p.boss} {
			res := p.do(http.MethodPost, "/api/v1/admin/changes/"+id+"/confirm", nil, bearer(token))
			assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
			assert.Contains(t, res.json(t)["error"], "a different admin must confirm")
		}
	}

	// Nothing happened to the victims: they are admins and can log in.
	for _, email := range []string{"boss@example.com", "ada@example.com", "cat@example.com"} {
		token := p.login(email, pw)
		assert.True(t, p.isAdmin(token), email)
	}
	res = p.do(http.MethodGet, "/api/v1/quota", nil, bearer(p.cat))
	require.Equal(t, http.StatusOK, res.status)
	assert.NotEqual(t, 0.0, res.json(t)["limit"], "the quota in the pending patch waits too")

	// Audit: each request is recorded with its request id.
	entries = p.audit()
	for _, target := range []string{"ada@example.com", "cat@example.com", "dan@example.com"} {
		e := findAudit(entries, "change_requested", target)
		require.NotNil(t, e, target)
		assert.Equal(t, "boss@example.com", e["actor"])
	}
	e := findAudit(entries, "change_requested", "ada@example.com")
	assert.Equal(t, requestIDs[0], e["request_id"])
	assert.NotEqual(t, "attack-the-key-demotes-ada", e["request_id"])
	assert.Nil(t, findAudit(entries, "change_confirmed", "ada@example.com"))
}

// TestSecondAdminConfirms: a change one admin asks for applies when a
// different admin confirms it, once, before it expires.
func TestSecondAdminConfirms(t *testing.T) {
	t.Parallel()
	p := newPrivEnv(t)
	adminKey := p.key(p.boss, map[string]any{"name": "ops", "scopes": []string{"admin", "chat"}})

	res := p.do(http.MethodPatch, "/api/v1/admin/users/"+p.adaID, map[string]any{"is_admin": false}, bearer(adminKey))
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	demote := res.json(t)["id"].(string)
	res = p.do(http.MethodPatch, "/api/v1/admin/users/"+p.adaID, map[string]any{"disabled": true}, bearer(p.boss))
	require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
	disable := res.json(t)["id"].(string)

	res = p.do(http.MethodPost, "/api/v1/admin/changes/"+demote+"/confirm", nil, map[string]string{
		"Authorization": "Bearer " + p.cat, "X-Request-ID": "confirm-1",
	})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	confirmID := res.header.Get("X-Request-ID")
	body := res.json(t)
	assert.Equal(t, p.catID, body["change"].(map[string]any)["confirmed_by"])
	assert.Equal(t, false, body["user"].(map[string]any)["is_admin"])
	assert.False(t, p.isAdmin(p.ada), "applied at once")
	res = p.do(http.MethodPost, "/api/v1/admin/changes/"+demote+"/confirm", nil, bearer(p.cat))
	assert.Equal(t, http.StatusConflict, res.status, "once only: %s", res.body)

	// A plain user cannot confirm; an unknown or malformed id is refused.
	res = p.do(http.MethodPost, "/api/v1/admin/changes/"+disable+"/confirm", nil, bearer(p.dan))
	assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	res = p.do(http.MethodPost, "/api/v1/admin/changes/7d0c2c3e-0000-4000-8000-000000000000/confirm", nil, bearer(p.cat))
	assert.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
	res = p.do(http.MethodPost, "/api/v1/admin/changes/not-a-uuid/confirm", nil, bearer(p.cat))
	assert.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)

	// After 24 hours the other change can no longer be confirmed. (Access
	// tokens are checked against the wall clock, keys against the
	// gateway's: cat confirms with a key.)
	catKey := p.key(p.cat, map[string]any{"name": "ops", "scopes": []string{"admin"}})
	p.clock.Advance(24 * time.Hour)
	res = p.do(http.MethodPost, "/api/v1/admin/changes/"+disable+"/confirm", nil, bearer(catKey))
	assert.Equal(t, http.StatusConflict, res.status, "%s", res.body)
	assert.Contains(t, res.json(t)["error"], "expired")
	res = p.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil)
	assert.Equal(t, http.StatusOK, res.status, "ada was never disabled: %s", res.body)

	res = p.do(http.MethodGet, "/api/v1/admin/audit?limit=500", nil, bearer(catKey))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var entries []map[string]any
	for _, e := range res.json(t)["entries"].([]any) {
		entries = append(entries, e.(map[string]any))
	}
	confirmed := findAudit(entries, "change_confirmed", "ada@example.com")
	require.NotNil(t, confirmed)
	assert.Equal(t, "cat@example.com", confirmed["actor"])
	assert.Equal(t, confirmID, confirmed["request_id"], "the server's request id")
	assert.Equal(t, demote, confirmed["details"].(map[string]any)["change_id"])
	assert.Equal(t, "boss@example.com", confirmed["details"].(map[string]any)["requested_by"])
}

// TestAttackNonAdminAsksForAdminKey: a plain user cannot mint an
// admin-scoped key; and an admin key of an admin who is demoted later
// opens no admin route.
func TestAttackNonAdminAsksForAdminKey(t *testing.T) {
	t.Parallel()
	p := newPrivEnv(t)
	for _, scopes := range [][]string{{"admin"}, {"chat", "admin"}} {
		res := p.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "x", "scopes": scopes}, bearer(p.dan))
		assert.Equal(t, http.StatusForbidden, res.status, "%v: %s", scopes, res.body)
		assert.Equal(t, "Only admins can create keys with the admin scope", res.json(t)["error"])
	}
	res := p.do(http.MethodGet, "/api/v1/keys", nil, bearer(p.dan))
	require.Equal(t, http.StatusOK, res.status)
	assert.Empty(t, res.json(t)["keys"], "nothing was created")

	for _, body := range []map[string]any{
		{"name": "x", "scopes": []string{"root"}},
		{"name": "x", "scopes": []string{}},
		{"name": "x", "scopes": "chat"},
		{"name": "x", "expires_in_days": 0},
		{"name": "x", "expires_in_days": 3651},
		{"name": "x", "expires_in_days": "7"},
		{"name": "x", "expires_at": "2000-01-01T00:00:00Z"},
		{"name": "x", "expires_at": "tomorrow"},
		{"name": "x", "expires_in_days": 7, "expires_at": "2999-01-01T00:00:00Z"},
	} {
		res := p.do(http.MethodPost, "/api/v1/keys", body, bearer(p.boss))
		assert.Equal(t, http.StatusBadRequest, res.status, "%v: %s", body, res.body)
	}

	// Ada's admin key dies with her admin rights.
	adaKey := p.key(p.ada, map[string]any{"name": "ops", "scopes": []string{"admin"}})
	require.Equal(t, http.StatusOK, p.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(adaKey)).status)
	res = p.do(http.MethodPatch, "/api/v1/admin/users/"+p.adaID, map[string]any{"is_admin": false}, bearer(p.boss))
	require.Equal(t, http.StatusAccepted, res.status)
	res = p.do(http.MethodPost, "/api/v1/admin/changes/"+res.json(t)["id"].(string)+"/confirm", nil, bearer(p.cat))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	res = p.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(adaKey))
	assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	assert.Equal(t, "Admin access required", res.json(t)["error"])
	// An admin-only key opens no chat route either.
	res = p.do(http.MethodGet, "/api/v1/quota", nil, bearer(adaKey))
	assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	assert.Contains(t, res.json(t)["error"], `lacks the "chat" scope`)
}

// TestAttackExpiredKey: a key past its expiry is refused with 401, on
// both APIs; the list shows the expiry.
func TestAttackExpiredKey(t *testing.T) {
	t.Parallel()
	p := newPrivEnv(t)
	res := p.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "short", "expires_in_days": 1}, bearer(p.dan))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	created := res.json(t)
	key := created["key"].(string)
	expires, err := time.Parse(time.RFC3339Nano, created["expires_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, p.clock.Now().Add(24*time.Hour), expires, time.Second)
	res = p.do(http.MethodGet, "/api/v1/keys", nil, bearer(p.dan))
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, created["expires_at"], res.json(t)["keys"].([]any)[0].(map[string]any)["expires_at"])
	require.Equal(t, http.StatusOK, p.do(http.MethodGet, "/api/v1/quota", nil, bearer(key)).status)

	p.clock.Advance(24 * time.Hour)
	res = p.do(http.MethodGet, "/api/v1/quota", nil, bearer(key))
	assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	assert.Contains(t, res.json(t)["error"], "API key expired")
	res = p.do(http.MethodGet, "/v1/models", nil, bearer(key))
	assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	res = p.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(key))
	assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
}
