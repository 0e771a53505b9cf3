package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// adminEnv is a gateway on fake upstreams with an admin (boss, from
// promoted in the store, as the operator CLI does) and a plain user (ada).
type adminEnv struct {
	chatEnv
	boss, bossID, adaID string
}

func newAdminEnv(t *testing.T, extra map[string]string) adminEnv {
	t.Helper()
	c := newChatEnv(t, extra)
	c.up.groq.Default(fakeupstream.OK("Hello", " there").WithUsage(3, 2))
	bossID := c.registerAdmin("boss@example.com", pw)
	a := adminEnv{chatEnv: c, boss: c.login("boss@example.com", pw), bossID: bossID}
	a.adaID = a.userID("ada@example.com")
	return a
}

// userID looks an account up through the admin API.
func (a adminEnv) userID(email string) string {
	a.t.Helper()
	res := a.do(http.MethodGet, "/api/v1/admin/users?query="+email, nil, bearer(a.boss))
	require.Equal(a.t, http.StatusOK, res.status, "%s", res.body)
	for _, u := range res.json(a.t)["users"].([]any) {
		if u := u.(map[string]any); u["email"] == email {
			return u["id"].(string)
		}
	}
	a.t.Fatalf("no user %s", email)
	return ""
}

// chatJSON sends a non-streaming chat as token and returns the answer.
func (a adminEnv) chatJSON(token string) response {
	a.t.Helper()
	return a.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(token))
}

func TestAdminRoutesAreForAdminsOnly(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/admin/analytics", nil},
		{http.MethodGet, "/api/v1/admin/analytics?days=30", nil},
		{http.MethodGet, "/api/v1/admin/users", nil},
		{http.MethodPatch, "/api/v1/admin/users/" + a.adaID, map[string]any{"daily_quota": 5}},
		{http.MethodGet, "/api/v1/admin/requests", nil},
		{http.MethodGet, "/api/v1/admin/requests?outcome=success&limit=5", nil},
		{http.MethodGet, "/api/v1/admin/audit", nil},
		{http.MethodGet, "/api/v1/admin/audit?limit=5", nil},
		{http.MethodGet, "/api/v1/admin/providers", nil},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			res := a.do(r.method, r.path, r.body, nil)
			assert.Equal(t, http.StatusUnauthorized, res.status, "no token: %s", res.body)

			res = a.do(r.method, r.path, r.body, bearer("not-a-token"))
			assert.Equal(t, http.StatusUnauthorized, res.status, "bad token: %s", res.body)

			res = a.do(r.method, r.path, r.body, bearer(a.token))
			require.Equal(t, http.StatusForbidden, res.status, "plain user: %s", res.body)
			assert.Equal(t, "forbidden", res.json(t)["code"])
			assert.Equal(t, "Admin access required", res.json(t)["error"])

			res = a.do(r.method, r.path, r.body, bearer(a.boss))
			assert.Equal(t, http.StatusOK, res.status, "admin: %s", res.body)
		})
	}
}

func TestAdminManagesUsers(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, map[string]string{"USER_DAILY_QUOTA": "50"})
	for _, email := range []string{"c1@example.org", "c2@example.org", "c3@example.org", "x_y@example.org", "xzy@example.org"} {
		a.register(email, pw)
	}
	patch := func(id string, body any) response {
		t.Helper()
		return a.do(http.MethodPatch, "/api/v1/admin/users/"+id, body, bearer(a.boss))
	}
	quotaLimit := func(token string) float64 {
		t.Helper()
		res := a.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		return res.json(t)["limit"].(float64)
	}

	t.Run("list pages through every match in email order", func(t *testing.T) {
		var emails []string
		cursor := ""
		for range 10 {
			path := "/api/v1/admin/users?query=EXAMPLE.ORG&limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			res := a.do(http.MethodGet, path, nil, bearer(a.boss))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			body := res.json(t)
			for _, u := range body["users"].([]any) {
				emails = append(emails, u.(map[string]any)["email"].(string))
			}
			next, _ := body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, []string{"c1@example.org", "c2@example.org", "c3@example.org", "x_y@example.org", "xzy@example.org"}, emails)
	})

	t.Run("LIKE wildcards in the query match literally", func(t *testing.T) {
		res := a.do(http.MethodGet, "/api/v1/admin/users?query=x_y", nil, bearer(a.boss))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		users := res.json(t)["users"].([]any)
		require.Len(t, users, 1)
		assert.Equal(t, "x_y@example.org", users[0].(map[string]any)["email"])
		res = a.do(http.MethodGet, "/api/v1/admin/users?query=%25", nil, bearer(a.boss))
		assert.Empty(t, res.json(t)["users"])
	})

	t.Run("used today and the quota follow the patch", func(t *testing.T) {
		require.Equal(t, http.StatusOK, a.chatJSON(a.token).status)
		res := patch(a.adaID, map[string]any{"daily_quota": 7})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		u := res.json(t)
		assert.Equal(t, 7.0, u["daily_quota"])
		assert.Equal(t, 7.0, u["effective_quota"])
		assert.Equal(t, 1.0, u["used_today"])
		assert.Equal(t, 7.0, quotaLimit(a.token), "the user sees the new limit at once")

		res = patch(a.adaID, map[string]any{"daily_quota": nil})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Nil(t, res.json(t)["daily_quota"])
		assert.Equal(t, 50.0, res.json(t)["effective_quota"])
		assert.Equal(t, 50.0, quotaLimit(a.token), "null returns the user to the default")
	})

	t.Run("a disabled user's tokens stop working at once", func(t *testing.T) {
		res := patch(a.adaID, map[string]any{"disabled": true})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Equal(t, true, res.json(t)["disabled"])
		for _, path := range []string{"/api/v1/quota", "/api/v1/models"} {
			res = a.do(http.MethodGet, path, nil, bearer(a.token))
			assert.Equal(t, http.StatusForbidden, res.status, "%s: %s", path, res.body)
			assert.Equal(t, "Account is disabled", res.json(t)["error"])
		}
		res = a.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi"}, bearer(a.token))
		assert.Equal(t, http.StatusForbidden, res.status)
		res = a.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil)
		assert.Equal(t, http.StatusUnauthorized, res.status, "nor can they log in again (told what a wrong password is told)")

		require.Equal(t, http.StatusOK, patch(a.adaID, map[string]any{"disabled": false}).status)
		res = a.do(http.MethodGet, "/api/v1/quota", nil, bearer(a.token))
		assertErrorAnswer(t, res, http.StatusUnauthorized, "unauthorized", "Invalid authentication token")
		assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"), "enabled again, the old token stays dead")
		a.clock.Advance(time.Millisecond)
		a.token = a.login("ada@example.com", pw)
		assert.Equal(t, http.StatusOK, a.do(http.MethodGet, "/api/v1/quota", nil, bearer(a.token)).status, "a new login works")
	})

	t.Run("promotion and demotion take a second admin, then apply at once", func(t *testing.T) {
		a.registerAdmin("second@example.com", pw)
		second := a.login("second@example.com", pw)
		confirm := func(res response) {
			t.Helper()
			require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
			res = a.do(http.MethodPost, "/api/v1/admin/changes/"+res.json(t)["id"].(string)+"/confirm", nil, bearer(second))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		}
		res := patch(a.adaID, map[string]any{"is_admin": true})
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		assert.Equal(t, http.StatusForbidden, a.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(a.token)).status, "not yet")
		confirm(res)
		assert.Equal(t, http.StatusOK, a.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(a.token)).status, "on her existing token")
		res = patch(a.adaID, map[string]any{"is_admin": false})
		assert.Equal(t, http.StatusOK, a.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(a.token)).status, "not yet")
		confirm(res)
		assert.Equal(t, http.StatusForbidden, a.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(a.token)).status)
	})

	t.Run("bad patches are refused and change nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			id     string
			body   any
			status int
			want   string
		}{
			{"empty body", a.adaID, map[string]any{}, http.StatusBadRequest, "at least one"},
			{"only unknown fields", a.adaID, map[string]any{"quota": 3}, http.StatusBadRequest, "at least one"},
			{"negative quota", a.adaID, map[string]any{"daily_quota": -1}, http.StatusBadRequest, "daily_quota"},
			{"quota of the wrong type", a.adaID, map[string]any{"daily_quota": "ten"}, http.StatusBadRequest, ""},
			{"not JSON", a.adaID, "{", http.StatusBadRequest, ""},
			{"self disable", a.bossID, map[string]any{"disabled": true}, http.StatusBadRequest, "cannot disable themselves"},
			{"self demote", a.bossID, map[string]any{"is_admin": false}, http.StatusBadRequest, "cannot demote themselves"},
			{"unknown id", "7d0c2c3e-0000-4000-8000-000000000000", map[string]any{"disabled": true}, http.StatusNotFound, ""},
			{"malformed id", "not-a-uuid", map[string]any{"disabled": true}, http.StatusBadRequest, ""},
			{"SQL in the id", "1'%20OR%20'1'='1", map[string]any{"disabled": true}, http.StatusBadRequest, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := patch(tt.id, tt.body)
				require.Equal(t, tt.status, res.status, "%s", res.body)
				assert.Contains(t, res.json(t)["error"], tt.want)
			})
		}
		assert.Equal(t, 50.0, quotaLimit(a.token))
		assert.Equal(t, http.StatusOK, a.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(a.boss)).status, "the admin is still an admin")
	})

	t.Run("bad list parameters are refused", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=%25%25", "cursor=" + strings.Repeat("a", 600)} {
			res := a.do(http.MethodGet, "/api/v1/admin/users?"+q, nil, bearer(a.boss))
			assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", q, res.body)
		}
	})
}

func TestFeedback(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	grace := "grace@example.com"
	a.register(grace, pw)
	graceToken := a.login(grace, pw)

	answer := a.chatJSON(a.token)
	require.Equal(t, http.StatusOK, answer.status, "%s", answer.body)
	id := answer.json(t)["id"].(string)
	require.Equal(t, id, answer.header.Get("X-Request-ID"))

	rate := func(token string, body map[string]any) response {
		t.Helper()
		return a.do(http.MethodPost, "/api/v1/feedback", body, bearer(token))
	}

	// Rated at once: the row may still be queued in the request log.
	first := rate(a.token, map[string]any{"request_id": id, "rating": "up", "comment": "Great"})
	require.Equal(t, http.StatusOK, first.status, "%s", first.body)
	assert.Equal(t, "up", first.json(t)["rating"])
	assert.Equal(t, "Great", first.json(t)["comment"])

	second := rate(a.token, map[string]any{"request_id": id, "rating": "down"})
	require.Equal(t, http.StatusOK, second.status, "%s", second.body)
	assert.Equal(t, "down", second.json(t)["rating"])
	assert.Nil(t, second.json(t)["comment"])
	assert.Equal(t, first.json(t)["created_at"], second.json(t)["created_at"], "rating again replaces, keeping the first time")

	// A request that got no answer cannot be rated.
	a.up.groq.Default(fakeupstream.Status(500, "down"))
	a.up.openrouter.Default(fakeupstream.Status(500, "down"))
	a.up.huggingface.Default(fakeupstream.Status(500, "down"))
	failed := a.chatJSON(a.token)
	require.Equal(t, http.StatusServiceUnavailable, failed.status, "%s", failed.body)

	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		want   string
	}{
		{"someone else's answer", graceToken, map[string]any{"request_id": id, "rating": "up"}, http.StatusNotFound, "No answered request of yours"},
		{"an unknown id", a.token, map[string]any{"request_id": "no-such-request", "rating": "up"}, http.StatusNotFound, "No answered request of yours"},
		{"a request no provider answered", a.token, map[string]any{"request_id": failed.header.Get("X-Request-ID"), "rating": "down"}, http.StatusNotFound, ""},
		{"a rating that is not up or down", a.token, map[string]any{"request_id": id, "rating": "meh"}, http.StatusBadRequest, "rating"},
		{"no request id", a.token, map[string]any{"rating": "up"}, http.StatusBadRequest, "request_id"},
		{"a comment over 2000 characters", a.token, map[string]any{"request_id": id, "rating": "up", "comment": strings.Repeat("ü", 2001)}, http.StatusBadRequest, "comment"},
		{"SQL in the id", a.token, map[string]any{"request_id": "x' OR '1'='1", "rating": "up"}, http.StatusBadRequest, "request_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rate(tt.token, tt.body)
			require.Equal(t, tt.status, res.status, "%s", res.body)
			assert.Contains(t, res.json(t)["error"], tt.want)
		})
	}
	assert.Equal(t, http.StatusUnauthorized, a.do(http.MethodPost, "/api/v1/feedback", map[string]any{"request_id": id, "rating": "up"}, nil).status)

	ok := rate(a.token, map[string]any{"request_id": id, "rating": "down", "comment": strings.Repeat("ü", 2000)})
	assert.Equal(t, http.StatusOK, ok.status, "exactly 2000 characters is fine: %s", ok.body)

	res := a.do(http.MethodGet, "/api/v1/admin/analytics?days=1", nil, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, map[string]any{"up": 0.0, "down": 1.0, "with_comment": 1.0}, res.json(t)["feedback"], "one rating per request, the latest")
}

func TestAnalyticsAndRequestLog(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	grace := "grace@example.com"
	graceID := a.register(grace, pw)
	graceToken := a.login(grace, pw)
	res := a.do(http.MethodPatch, "/api/v1/admin/users/"+graceID, map[string]any{"daily_quota": 1}, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	for range 3 {
		require.Equal(t, http.StatusOK, a.chatJSON(a.token).status)
	}
	require.Equal(t, http.StatusOK, a.chatJSON(graceToken).status)
	require.Equal(t, http.StatusTooManyRequests, a.chatJSON(graceToken).status, "grace's quota of 1 is used up")
	a.up.groq.Default(fakeupstream.Status(500, "down"))
	a.up.openrouter.Default(fakeupstream.Status(500, "down"))
	a.up.huggingface.Default(fakeupstream.Status(500, "down"))
	require.Equal(t, http.StatusServiceUnavailable, a.chatJSON(a.token).status)

	// The log is written in batches: wait until all six rows are listed.
	var rows []any
	require.Eventually(t, func() bool {
		res := a.do(http.MethodGet, "/api/v1/admin/requests?limit=100", nil, bearer(a.boss))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		rows = res.json(t)["requests"].([]any)
		return len(rows) == 6
	}, 10*time.Second, 50*time.Millisecond)

	t.Run("analytics", func(t *testing.T) {
		res := a.do(http.MethodGet, "/api/v1/admin/analytics?days=3", nil, bearer(a.boss))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		body := res.json(t)
		assert.Equal(t, 3.0, body["days"])
		daily := body["daily"].([]any)
		require.Len(t, daily, 3)
		today := daily[2].(map[string]any)
		assert.Equal(t, time.Now().UTC().Format(time.DateOnly), today["date"])
		assert.Equal(t, 6.0, today["requests"])
		assert.Equal(t, 2.0, today["active_users"])
		// Quota counts: ada 3 (the failed request was refunded), grace 1.
		assert.Equal(t, 2.0, today["avg_quota_used"])
		require.Contains(t, today, "cache_hit_ratio")
		assert.Nil(t, today["cache_hit_ratio"], "the cache is off: never asked")
		assert.Equal(t, 0.0, today["provider_calls_saved"])
		assert.Equal(t, map[string]any{
			"success": 4.0, "error": 1.0, "cancelled": 0.0, "invalid": 0.0, "quota_exceeded": 1.0, "interrupted": 0.0,
		}, today["outcomes"], "today's requests by outcome")
		for _, p := range []string{"p50", "p95", "p99"} {
			assert.GreaterOrEqual(t, today["latency_ms"].(map[string]any)[p], 0.0, "today's latency "+p)
		}
		assert.Equal(t, map[string]any{"p50": nil, "p95": nil, "p99": nil}, daily[0].(map[string]any)["latency_ms"])
		assert.Equal(t, 0.0, daily[0].(map[string]any)["requests"])
		assert.Equal(t, map[string]any{
			"success": 0.0, "error": 0.0, "cancelled": 0.0, "invalid": 0.0, "quota_exceeded": 0.0, "interrupted": 0.0,
		}, daily[0].(map[string]any)["outcomes"], "a day without requests has every outcome at zero")

		totals := body["totals"].(map[string]any)
		assert.Equal(t, map[string]any{
			"requests": 6.0, "active_users": 2.0, "errors_4xx": 1.0, "errors_5xx": 1.0,
			"error_rate_4xx": 1.0 / 6, "error_rate_5xx": 1.0 / 6,
		}, totals)
		assert.Equal(t, []any{
			map[string]any{"user_id": a.adaID, "email": "ada@example.com", "requests": 4.0},
			map[string]any{"user_id": graceID, "email": grace, "requests": 2.0},
		}, body["top_users"])
		assert.Equal(t, []any{
			map[string]any{"tier": "fast", "provider": "groq", "requests": 4.0, "errors": 0.0},
			map[string]any{"tier": "fast", "provider": nil, "requests": 2.0, "errors": 2.0},
		}, body["by_route"])
		latency := body["latency_ms"].(map[string]any)
		for _, p := range []string{"p50", "p95", "p99"} {
			assert.GreaterOrEqual(t, latency[p], 0.0, p)
		}
		for _, p := range []string{"p50", "p95", "p99"} {
			assert.NotNil(t, body["ttft_ms"].(map[string]any)[p], p)
		}
	})

	t.Run("request log filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  int
		}{
			{"user_id=" + graceID, 2},
			{"user_id=" + a.adaID, 4},
			{"outcome=success", 4},
			{"outcome=quota_exceeded", 1},
			{"outcome=error", 1},
			{"provider=groq", 4},
			{"provider=groq&user_id=" + graceID, 1},
			{"provider=openrouter", 0},
		}
		for _, tt := range tests {
			res := a.do(http.MethodGet, "/api/v1/admin/requests?"+tt.query, nil, bearer(a.boss))
			require.Equal(t, http.StatusOK, res.status, "%s: %s", tt.query, res.body)
			assert.Len(t, res.json(t)["requests"], tt.want, tt.query)
		}
		for _, q := range []string{"outcome=exploded", "user_id=nope", "limit=501", "cursor=garbage!"} {
			res := a.do(http.MethodGet, "/api/v1/admin/requests?"+q, nil, bearer(a.boss))
			assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", q, res.body)
		}
	})

	t.Run("request log pages newest first without gaps", func(t *testing.T) {
		var ids []float64
		cursor := ""
		for range 10 {
			path := "/api/v1/admin/requests?limit=4"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			res := a.do(http.MethodGet, path, nil, bearer(a.boss))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			for _, r := range res.json(t)["requests"].([]any) {
				ids = append(ids, r.(map[string]any)["id"].(float64))
			}
			next, _ := res.json(t)["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		var all []float64
		for _, r := range rows {
			all = append(all, r.(map[string]any)["id"].(float64))
		}
		assert.Equal(t, all, ids)
		newest := rows[0].(map[string]any)
		assert.Equal(t, "error", newest["outcome"])
		assert.Equal(t, "providers_unavailable", newest["error_code"])
		assert.NotEmpty(t, newest["attempts"])
		assert.NotEmpty(t, newest["request_id"])
	})
}

func TestAnalyticsEmpty(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	res := a.do(http.MethodGet, "/api/v1/admin/analytics", nil, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	body := res.json(t)
	assert.Equal(t, 7.0, body["days"], "7 days unless asked")
	assert.Len(t, body["daily"], 7)
	assert.Equal(t, map[string]any{"p50": nil, "p95": nil, "p99": nil}, body["latency_ms"])
	assert.Equal(t, map[string]any{"p50": nil, "p95": nil, "p99": nil}, body["ttft_ms"])
	assert.Equal(t, []any{}, body["top_users"])
	assert.Equal(t, []any{}, body["conversations"])
	for _, q := range []string{"days=0", "days=91", "days=x"} {
		res := a.do(http.MethodGet, "/api/v1/admin/analytics?"+q, nil, bearer(a.boss))
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", q, res.body)
	}
}

func TestAdminProviderStates(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, nil)
	// The first request takes groq's key 0 (both unused: the lower index),
	// which answers 429: the key cools down and key 1 answers.
	a.up.groq.Script("gk-0", fakeupstream.RateLimited(30*time.Second))
	require.Equal(t, http.StatusOK, a.chatJSON(a.token).status)

	res := a.do(http.MethodGet, "/api/v1/admin/providers", nil, bearer(a.token))
	require.Equal(t, http.StatusForbidden, res.status, "plain user: %s", res.body)

	res = a.do(http.MethodGet, "/api/v1/admin/providers", nil, bearer(a.boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	for _, secret := range []string{"gk-", "ok-", "hk-"} {
		assert.NotContains(t, res.body, secret, "no key material in the body")
	}
	providers := res.json(t)["providers"].([]any)
	var names []string
	for _, p := range providers {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"groq", "openrouter", "huggingface"}, names, "the configured providers, in routing order")

	groq := providers[0].(map[string]any)
	assert.Equal(t, "closed", groq["breaker"], "a 429 is no provider fault")
	assert.Equal(t, false, groq["down"])
	keys := groq["keys"].([]any)
	require.Len(t, keys, 2)
	k0, k1 := keys[0].(map[string]any), keys[1].(map[string]any)
	assert.Equal(t, float64(0), k0["index"])
	assert.Equal(t, true, k0["cooling_down"])
	assert.Equal(t, false, k0["rejected"])
	assert.Nil(t, k0["rejected_until"])
	until, err := time.Parse(time.RFC3339, k0["cooling_down_until"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, a.clock.Now().Add(30*time.Second), until, time.Second, "the Retry-After, by the gateway's clock")
	assert.Equal(t, float64(1), k0["requests_last_minute"])

	assert.Equal(t, float64(1), k1["index"])
	assert.Equal(t, false, k1["cooling_down"])
	assert.Nil(t, k1["cooling_down_until"])
	assert.Equal(t, float64(1), k1["requests_last_minute"])
}

func TestRequestLogSaysHowTheCacheWasMet(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, map[string]string{"CACHE_ENABLED": "true"})
	require.Equal(t, "miss", a.chatJSON(a.token).header.Get("X-Genzai-Cache"))
	require.Equal(t, "hit", a.chatJSON(a.token).header.Get("X-Genzai-Cache"))

	var rows []any
	require.Eventually(t, func() bool {
		res := a.do(http.MethodGet, "/api/v1/admin/requests?user_id="+a.adaID, nil, bearer(a.boss))
		rows, _ = res.json(t)["requests"].([]any)
		return len(rows) == 2
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, "hit", rows[0].(map[string]any)["cache"], "newest first")
	assert.Equal(t, "miss", rows[1].(map[string]any)["cache"])

	// Without the cache the field is left out.
	b := newAdminEnv(t, nil)
	require.Equal(t, http.StatusOK, b.chatJSON(b.token).status)
	require.Eventually(t, func() bool {
		res := b.do(http.MethodGet, "/api/v1/admin/requests", nil, bearer(b.boss))
		rows, _ = res.json(t)["requests"].([]any)
		return len(rows) == 1
	}, 10*time.Second, 50*time.Millisecond)
	assert.NotContains(t, rows[0].(map[string]any), "cache")
}
