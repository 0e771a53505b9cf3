package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// userData is what one user holds in the service for the export tests: a
// conversation with a prompt and an answer, a rated chat answer and a key.
type userData struct {
	id, token, key, keyID, requestID, conversationID, prompt string
}

// seedUserData gives the account email (password pw) a conversation, a
// rated answer and an API key, each marked with tag.
func (e *env) seedUserData(email, tag string) userData {
	e.t.Helper()
	ctx := context.Background()
	d := userData{id: e.register(email, pw), prompt: "What about " + tag + "?"}
	d.token = e.login(email, pw)
	res := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": tag + " laptop"}, bearer(d.token))
	require.Equal(e.t, http.StatusCreated, res.status, "%s", res.body)
	d.key, d.keyID = res.json(e.t)["key"].(string), res.json(e.t)["id"].(string)

	chat := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi from " + tag, "stream": false}, bearer(d.token))
	require.Equal(e.t, http.StatusOK, chat.status, "%s", chat.body)
	d.requestID = chat.header.Get("X-Request-ID")
	res = e.do(http.MethodPost, "/api/v1/feedback", map[string]any{"request_id": d.requestID, "rating": "up", "comment": tag + " liked it"}, bearer(d.token))
	require.Equal(e.t, http.StatusOK, res.status, "%s", res.body)

	// The conversation routes are not this test's: the store holds it.
	now := e.clock.Now()
	c, err := e.app.Database.CreateConversation(ctx, domain.NewConversation{UserID: domain.UserID(d.id), Title: tag + " trip", CreatedAt: now}, 100)
	require.NoError(e.t, err)
	d.conversationID = string(c.ID)
	for _, m := range []domain.ConversationMessage{
		{ConversationID: c.ID, Role: domain.MessageFromUser, Content: d.prompt, Status: domain.MessageComplete, CreatedAt: now.Add(time.Second)},
		{ConversationID: c.ID, Role: domain.MessageFromAssistant, Content: tag + " is lovely.", Status: domain.MessageInterrupted,
			Tier: domain.TierFast, Provider: domain.ProviderMock, UpstreamModel: "mock-fast", RequestID: d.requestID,
			Usage: domain.Usage{PromptTokens: 3, CompletionTokens: 4}, Sources: []domain.SearchResult{{Title: tag, URL: "https://example.com/" + tag}},
			CreatedAt: now.Add(2 * time.Second)},
	} {
		_, err := e.app.Database.AppendMessage(ctx, domain.NewConversationMessage{UserID: domain.UserID(d.id), Message: m})
		require.NoError(e.t, err)
	}
	return d
}

func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"USER_DAILY_QUOTA": "20"})
	ada := e.seedUserData("ada@example.com", "Lisbon")
	bob := e.seedUserData("bob@example.com", "Porto")

	t.Run("the account with today's quota", func(t *testing.T) {
		for _, cred := range []string{ada.token, ada.key} {
			res := e.do(http.MethodGet, "/api/v1/me", nil, bearer(cred))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			me := res.json(t)
			assert.Equal(t, ada.id, me["id"])
			assert.Equal(t, "ada@example.com", me["email"])
			assert.Equal(t, false, me["is_admin"])
			assert.Equal(t, true, me["has_password"])
			q := me["quota"].(map[string]any)
			assert.Equal(t, 1.0, q["used"], "the one chat")
			assert.Equal(t, 20.0, q["limit"])
			assert.Equal(t, 19.0, q["remaining"])
		}
	})

	t.Run("refused without a credential", func(t *testing.T) {
		for _, path := range []string{"/api/v1/me", "/api/v1/me/export"} {
			res := e.do(http.MethodGet, path, nil, nil)
			assert.Equal(t, http.StatusUnauthorized, res.status, "%s %s", path, res.body)
		}
		res := e.do(http.MethodDelete, "/api/v1/me", map[string]any{"password": pw}, nil)
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	})

	t.Run("the export holds everything of the caller's, nothing of another's", func(t *testing.T) {
		res := e.do(http.MethodGet, "/api/v1/me/export", nil, bearer(ada.token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Equal(t, `attachment; filename="genzai-export.json"`, res.header.Get("Content-Disposition"))
		for _, other := range []string{bob.id, bob.keyID, bob.key[:11], bob.requestID, bob.conversationID, "Porto", "bob@"} {
			assert.NotContains(t, string(res.body), other)
		}
		assert.NotContains(t, string(res.body), ada.key[11:], "never a key itself")
		x := res.json(t)
		assert.Equal(t, ada.id, x["account"].(map[string]any)["id"])
		convs := x["conversations"].([]any)
		require.Len(t, convs, 1)
		c := convs[0].(map[string]any)
		assert.Equal(t, ada.conversationID, c["id"])
		assert.Equal(t, "Lisbon trip", c["title"])
		ms := c["messages"].([]any)
		require.Len(t, ms, 2)
		assert.Equal(t, map[string]any{"role": "user", "content": ada.prompt, "status": "complete"},
			pick(ms[0].(map[string]any), "role", "content", "status"))
		assert.NotContains(t, ms[0], "provider", "a prompt has no provider")
		answer := ms[1].(map[string]any)
		assert.Equal(t, map[string]any{
			"role": "assistant", "content": "Lisbon is lovely.", "status": "interrupted", "model": "fast", "provider": "mock",
			"upstream_model": "mock-fast", "request_id": ada.requestID,
			"usage":   map[string]any{"prompt_tokens": 3.0, "completion_tokens": 4.0},
			"sources": []any{map[string]any{"title": "Lisbon", "url": "https://example.com/Lisbon"}},
		}, pick(answer, "role", "content", "status", "model", "provider", "upstream_model", "request_id", "usage", "sources"))
		fb := x["feedback"].([]any)
		require.Len(t, fb, 1)
		assert.Equal(t, map[string]any{"request_id": ada.requestID, "rating": "up", "comment": "Lisbon liked it"},
			pick(fb[0].(map[string]any), "request_id", "rating", "comment"))
		keys := x["api_keys"].([]any)
		require.Len(t, keys, 1)
		assert.Equal(t, ada.keyID, keys[0].(map[string]any)["id"])
	})

	t.Run("keys can neither export nor delete", func(t *testing.T) {
		res := e.do(http.MethodGet, "/api/v1/me/export", nil, bearer(ada.key))
		assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = e.do(http.MethodDelete, "/api/v1/me", map[string]any{"password": pw}, bearer(ada.key))
		assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	})

	t.Run("deletion needs the password", func(t *testing.T) {
		for _, tc := range []struct {
			body   any
			status int
			code   string
		}{
			{map[string]any{}, http.StatusBadRequest, "invalid_request"},
			{map[string]any{"password": ""}, http.StatusBadRequest, "invalid_request"},
			{map[string]any{"password": "not the password"}, http.StatusUnauthorized, "unauthorized"},
			{"{", http.StatusBadRequest, "invalid_request"},
			{nil, http.StatusBadRequest, "invalid_request"},
		} {
			res := e.do(http.MethodDelete, "/api/v1/me", tc.body, bearer(ada.token))
			assert.Equal(t, tc.status, res.status, "%v: %s", tc.body, res.body)
			assert.Equal(t, tc.code, res.json(t)["code"], "%v", tc.body)
		}
		res := e.do(http.MethodGet, "/api/v1/me", nil, bearer(ada.token))
		assert.Equal(t, http.StatusOK, res.status, "still there: %s", res.body)
	})

	t.Run("deleted: tokens and keys refused at once, the request log anonymised", func(t *testing.T) {
		root := e.registerAdmin("root@example.com", pw)
		rootToken := e.login("root@example.com", pw)
		an := e.do(http.MethodGet, "/api/v1/admin/analytics?days=1", nil, bearer(rootToken))
		require.Equal(t, http.StatusOK, an.status, "%s", an.body)
		days := an.json(t)["conversations"].([]any)
		require.Len(t, days, 1)
		assert.Equal(t, map[string]any{"conversations": 2.0, "messages": 4.0}, pick(days[0].(map[string]any), "conversations", "messages"))

		res := e.do(http.MethodDelete, "/api/v1/me", map[string]any{"password": pw}, bearer(ada.token))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		for _, cred := range []string{ada.token, ada.key} {
			res := e.do(http.MethodGet, "/api/v1/me", nil, bearer(cred))
			assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
		}
		res = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}, nil)
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
		res = e.do(http.MethodGet, "/api/v1/me/export", nil, bearer(bob.token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Len(t, res.json(t)["conversations"], 1, "another account keeps everything")

		reqs := e.do(http.MethodGet, "/api/v1/admin/requests", nil, bearer(rootToken))
		require.Equal(t, http.StatusOK, reqs.status, "%s", reqs.body)
		users := map[any]int{}
		for _, r := range reqs.json(t)["requests"].([]any) {
			users[r.(map[string]any)["user_id"]]++
		}
		assert.Equal(t, map[any]int{nil: 1, bob.id: 1}, users, "ada's chat stays, without her; root made none")
		_ = root
	})
}

// TestMeOfADisabledAccount: a disabled account can neither read, export
// nor delete itself; an admin deals with it.
func TestMeOfADisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.registerAdmin("root@example.com", pw)
	root := e.login("root@example.com", pw)
	adaID := e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)
	res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": true}, bearer(root))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/me", nil}, {http.MethodGet, "/api/v1/me/export", nil},
		{http.MethodDelete, "/api/v1/me", map[string]any{"password": pw}},
	} {
		res := e.do(req.method, req.path, req.body, bearer(ada))
		assert.Equal(t, http.StatusForbidden, res.status, "%s %s: %s", req.method, req.path, res.body)
	}
	res = e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": false}, bearer(root))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	e.clock.Advance(time.Second) // tokens issued when the change was made are revoked with it
	res = e.do(http.MethodGet, "/api/v1/me", nil, bearer(e.login("ada@example.com", pw)))
	assert.Equal(t, http.StatusOK, res.status, "enabled again, nothing deleted: %s", res.body)
}

// TestDeleteMeWithoutPassword: an account created by email-only login has
// no password to confirm with.
func TestDeleteMeWithoutPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res, err := e.client.LoginWithResponse(context.Background(), api.LoginJSONRequestBody{Email: "eve@example.com"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), "%s", res.Body)
	token := res.JSON200.AccessToken
	me := e.do(http.MethodGet, "/api/v1/me", nil, bearer(token))
	require.Equal(t, http.StatusOK, me.status, "%s", me.body)
	assert.Equal(t, false, me.json(t)["has_password"])
	del := e.do(http.MethodDelete, "/api/v1/me", map[string]any{}, bearer(token))
	require.Equal(t, http.StatusNoContent, del.status, "%s", del.body)
	me = e.do(http.MethodGet, "/api/v1/me", nil, bearer(token))
	assert.Equal(t, http.StatusUnauthorized, me.status, "%s", me.body)
}

// TestDeleteMeReachesEveryInstance: an account deleted on one gateway is
// refused by another sharing its database, token and key alike, once the
// deletion's notice has arrived there.
func TestDeleteMeReachesEveryInstance(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	a := newEnv(t, map[string]string{"DATABASE_URL": url})
	b := newEnv(t, map[string]string{"DATABASE_URL": url})
	a.register("ada@example.com", pw)
	token := a.login("ada@example.com", pw)
	res := a.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "laptop"}, bearer(token))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	key := res.json(t)["key"].(string)
	for _, cred := range []string{token, key} {
		res := b.do(http.MethodGet, "/api/v1/me", nil, bearer(cred))
		require.Equal(t, http.StatusOK, res.status, "B has read and keeps it: %s", res.body)
	}
	res = a.do(http.MethodDelete, "/api/v1/me", map[string]any{"password": pw}, bearer(token))
	require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
	b.syncAccounts()
	for _, cred := range []string{token, key} {
		res := b.do(http.MethodGet, "/api/v1/me", nil, bearer(cred))
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	}
}

// pick is m restricted to keys (those present).
func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
