package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// syncAccounts waits until e's account cache has heard of every change
// committed so far.
func (e *env) syncAccounts() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(e.t, e.app.Database.SyncAccounts(ctx))
}

// TestAccountChangesReachEveryInstance: two gateways on one PostgreSQL
// database, each keeping accounts and keys in memory. A change made on one
// (a quota, a revoked key, a disabled account, a quota changed while the
// listeners were cut) is what the other answers with next, once its
// listener has delivered the change's notice.
func TestAccountChangesReachEveryInstance(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	a := newEnv(t, map[string]string{"DATABASE_URL": url})
	b := newEnv(t, map[string]string{"DATABASE_URL": url})
	a.registerAdmin("root@example.com", pw)
	root := a.login("root@example.com", pw)
	adaID := a.register("ada@example.com", pw)
	ada := a.login("ada@example.com", pw)
	res := a.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "ada's"}, bearer(ada))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	key, keyID := res.json(t)["key"].(string), res.json(t)["id"].(string)

	limit := func(token string) any {
		t.Helper()
		res := b.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		return res.json(t)["limit"]
	}
	// B has read (and keeps) the account and the key it was made with.
	require.Equal(t, limit(ada), limit(key))

	t.Run("a quota changed on A", func(t *testing.T) {
		res := a.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"daily_quota": 7}, bearer(root))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b.syncAccounts()
		assert.Equal(t, 7.0, limit(ada))
		assert.Equal(t, 7.0, limit(key))
	})

	t.Run("a change made while the listeners are cut", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
			WHERE application_name = 'genzai-listener' AND datname = current_database()`).Scan(&n))
		require.Equal(t, 2, n, "one listener per instance")
		res := a.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"daily_quota": 9}, bearer(root))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b.syncAccounts() // B's listener is back, and has dropped what it kept
		assert.Equal(t, 9.0, limit(ada))
		assert.Equal(t, 9.0, limit(key))
	})

	t.Run("a key revoked on A", func(t *testing.T) {
		res := a.do(http.MethodDelete, "/api/v1/keys/"+keyID, nil, bearer(ada))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		b.syncAccounts()
		res = b.do(http.MethodGet, "/api/v1/quota", nil, bearer(key))
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	})

	t.Run("an account disabled on A", func(t *testing.T) {
		res := a.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": true}, bearer(root))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		b.syncAccounts()
		res = b.do(http.MethodGet, "/api/v1/quota", nil, bearer(ada))
		assert.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	})
}

// TestAccountCacheServesOneInstanceAtOnce: on one instance a change takes
// effect with the very next request, whatever the engine, since the
// instance's own writes forget what they change.
func TestAccountCacheServesOneInstanceAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.registerAdmin("root@example.com", pw)
	root := e.login("root@example.com", pw)
	adaID := e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)
	for _, quota := range []int{3, 4} {
		res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"daily_quota": quota}, bearer(root))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(ada))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Equal(t, float64(quota), res.json(t)["limit"])
	}
	res := e.do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(ada))
	require.Less(t, res.status, 300, "%s", res.body)
	res = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(ada))
	assert.Equal(t, http.StatusUnauthorized, res.status, "a logged out token stops at once")
}
