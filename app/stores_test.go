package app_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/app"
)

// stores are the databases the gateway runs on; every journey below runs on
// each, so that neither can drift from the other behind the same API.
var stores = []struct {
	engine string
	url    func(t *testing.T) string
}{
	{app.EnginePostgres, func(t *testing.T) string { return pgtest.NewURL(t) }},
	// An absolute path: sqlite:// plus /tmp/...
	{app.EngineSQLite, func(t *testing.T) string { return "sqlite:///" + t.TempDir() + "/genzai.db" }},
}

func TestGatewayOnEveryStore(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			url := st.url(t)
			vars := map[string]string{
				"DATABASE_URL":                    url,
				"USER_DAILY_QUOTA":                "3",
				"MOCK_PROVIDER_DELAY_MS":          "0",
				"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
			}
			e := newEnv(t, vars)
			assert.Equal(t, st.engine, e.app.Database.Engine)
			if st.engine == app.EngineSQLite {
				// pgtest's databases come migrated; the SQLite file is new.
				assert.Contains(t, e.logs.String(), "applied migrations")
				assert.Contains(t, e.logs.String(), "single instance only")
			}

			// A first ping on a loaded machine can miss /ready's 1 s bound;
			// readiness is a state to reach, not a first answer.
			var ready response
			require.Eventually(t, func() bool {
				ready = e.do(http.MethodGet, "/ready", nil, nil)
				return ready.status == http.StatusOK
			}, 15*time.Second, 250*time.Millisecond, "ready never answered 200")
			assert.Equal(t, "ok", ready.json(t)["checks"].(map[string]any)["database"])

			e.register("ada@example.com", pw)
			dup := e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "ADA@example.com", "password": pw}, nil)
			assert.Equal(t, http.StatusConflict, dup.status, "emails are unique regardless of case")
			token := e.login("ada@example.com", pw)
			wrong := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong password"}, nil)
			assert.Equal(t, http.StatusUnauthorized, wrong.status)

			// Ten concurrent chats against a quota of three: exactly three answer.
			var wg sync.WaitGroup
			statuses := make(chan int, 10)
			for range 10 {
				wg.Go(func() {
					res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(token))
					statuses <- res.status
				})
			}
			wg.Wait()
			close(statuses)
			counts := map[int]int{}
			for s := range statuses {
				counts[s]++
			}
			assert.Equal(t, map[int]int{http.StatusOK: 3, http.StatusTooManyRequests: 7}, counts)

			q := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
			assert.Equal(t, float64(3), q["used"])
			assert.Equal(t, float64(0), q["remaining"])

			models := e.do(http.MethodGet, "/api/v1/models", nil, bearer(token))
			assert.Equal(t, http.StatusOK, models.status)
			status := e.do(http.MethodGet, "/api/v1/status", nil, nil)
			assert.Equal(t, http.StatusOK, status.status)

			// A restart on the same database keeps everything and applies nothing.
			e.app.Close()
			again := newEnv(t, vars)
			assert.NotContains(t, again.logs.String(), "applied migrations")
			token = again.login("ada@example.com", pw)
			q = again.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
			assert.Equal(t, float64(3), q["used"], "the count survives a restart")
		})
	}
}
