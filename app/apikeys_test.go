package app_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var keyShape = regexp.MustCompile(`^gz-[A-Za-z0-9_-]{43}$`)

// TestAPIKeys walks a personal API key through its life: created with an
// access token, shown once, listed without the key, used as a bearer
// credential (chat and quota, the same account), refused once revoked or
// once its owner is disabled.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_API_KEYS_PER_USER": "3"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	e.register("bob@example.com", pw)
	bobToken := e.login("bob@example.com", pw)

	created := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": " laptop "}, bearer(token))
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	c := created.json(t)
	key := c["key"].(string)
	assert.Regexp(t, keyShape, key)
	assert.Equal(t, "laptop", c["name"])
	assert.Equal(t, key[:11], c["prefix"])
	keyID := c["id"].(string)

	t.Run("listed without the key", func(t *testing.T) {
		res := e.do(http.MethodGet, "/api/v1/keys", nil, bearer(token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.NotContains(t, string(res.body), key[11:], "the key is never shown again")
		keys := res.json(t)["keys"].([]any)
		require.Len(t, keys, 1)
		k := keys[0].(map[string]any)
		assert.Equal(t, keyID, k["id"])
		assert.Equal(t, key[:11], k["prefix"])
		other := e.do(http.MethodGet, "/api/v1/keys", nil, bearer(bobToken))
		require.Equal(t, http.StatusOK, other.status)
		assert.Empty(t, other.json(t)["keys"], "only the caller's keys")
	})

	t.Run("the database holds no usable key", func(t *testing.T) {
		skipOnSQLite(t, e)
		var rows string
		e.queryRow(`SELECT string_agg(row_to_json(k)::text, '') FROM api_keys k`, &rows)
		assert.NotContains(t, rows, key[11:])
		var matches int
		e.queryRow(`SELECT count(*) FROM api_keys WHERE key_hash = sha256('`+key+`'::bytea)`, &matches)
		assert.Equal(t, 1, matches, "what is kept is the SHA-256 of the key")
	})

	t.Run("works as a bearer credential for its owner", func(t *testing.T) {
		q := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(key))
		require.Equal(t, http.StatusOK, q.status, "%s", q.body)
		before := q.json(t)["used"].(float64)
		chat := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(key))
		require.Equal(t, http.StatusOK, chat.status, "%s", chat.body)
		q = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
		assert.Equal(t, before+1, q.json(t)["used"], "the key spends its owner's quota")

		res := e.do(http.MethodGet, "/api/v1/keys", nil, bearer(token))
		require.Equal(t, http.StatusOK, res.status)
		listed := res.json(t)["keys"].([]any)[0].(map[string]any)
		assert.NotNil(t, listed["last_used_at"], "the use is recorded")
		assert.Equal(t, []any{"chat"}, listed["scopes"], "chat by default")
		assert.Nil(t, listed["expires_at"])
	})

	t.Run("a key cannot manage keys", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{http.MethodPost, "/api/v1/keys"}, {http.MethodGet, "/api/v1/keys"}, {http.MethodDelete, "/api/v1/keys/" + keyID},
		} {
			res := e.do(req.method, req.path, map[string]any{"name": "minted"}, bearer(key))
			assert.Equal(t, http.StatusForbidden, res.status, "%s %s: %s", req.method, req.path, res.body)
			assert.Equal(t, "forbidden", res.json(t)["code"])
			assert.Contains(t, res.json(t)["error"], "access token")
		}
	})

	t.Run("bad names and the per-user bound", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body any
		}{
			{"empty", map[string]any{"name": ""}},
			{"blank", map[string]any{"name": "   "}},
			{"too long", map[string]any{"name": strings.Repeat("k", 101)}},
			{"control character", map[string]any{"name": "a\u0007b"}},
			{"missing", map[string]any{}},
			{"not a string", map[string]any{"name": 7}},
		} {
			res := e.do(http.MethodPost, "/api/v1/keys", tc.body, bearer(token))
			assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.name, res.body)
		}
		for i := range 2 {
			res := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "k" + itoa(int64(i))}, bearer(token))
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		}
		res := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "fourth"}, bearer(token))
		assert.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		assert.Equal(t, "conflict", res.json(t)["code"])
	})

	t.Run("unknown and malformed keys", func(t *testing.T) {
		for _, k := range []string{"gz-" + strings.Repeat("A", 43), key[:len(key)-1], key + "x", "gz-"} {
			res := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(k))
			assert.Equal(t, http.StatusUnauthorized, res.status, "%q: %s", k, res.body)
			assert.NotEmpty(t, res.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("revoked at once, by its owner only", func(t *testing.T) {
		res := e.do(http.MethodDelete, "/api/v1/keys/"+keyID, nil, bearer(bobToken))
		assert.Equal(t, http.StatusNotFound, res.status, "bob cannot revoke ada's key: %s", res.body)
		res = e.do(http.MethodDelete, "/api/v1/keys/not-a-uuid", nil, bearer(token))
		assert.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)

		res = e.do(http.MethodDelete, "/api/v1/keys/"+keyID, nil, bearer(token))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		res = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(key))
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
		res = e.do(http.MethodDelete, "/api/v1/keys/"+keyID, nil, bearer(token))
		assert.Equal(t, http.StatusNotFound, res.status)
	})

	t.Run("refused once the owner is disabled", func(t *testing.T) {
		skipOnSQLite(t, e)
		res := e.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "bob's"}, bearer(bobToken))
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		bobKey := res.json(t)["key"].(string)
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/quota", nil, bearer(bobKey)).status)
		e.sql(`UPDATE users SET disabled = true WHERE email = 'bob@example.com'`)
		res = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(bobKey))
		assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	})
}

// skipOnSQLite skips a subtest that arranges or reads state with
// PostgreSQL SQL when the gateway runs on SQLite.
func skipOnSQLite(t *testing.T, e *env) {
	t.Helper()
	if strings.HasPrefix(e.dbURL, "sqlite:") {
		t.Skip("reads the database with PostgreSQL SQL: set TEST_DATABASE_URL to run it")
	}
}
