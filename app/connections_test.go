package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/app"
)

// TestConnectionBudget sets pools against a server of 100 connections
// with 3 reserved, 2 held by other clients and 5 of headroom: 90 for the
// gateway.
func TestConnectionBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                                  string
		configured, connected, pool, overflow int
		wantInstances, wantNeed               int
		wantFits                              bool
		wantFix                               string
	}{
		{name: "the issue's three instances with the defaults", configured: 3, pool: 20, overflow: 40,
			wantInstances: 3, wantNeed: 180,
			wantFix: "set DATABASE_POOL_MAX_OVERFLOW=10, or raise max_connections to at least 190 (statements past the limit wait for a pooled connection, and psql and migrations may be refused)"},
		{name: "more connected than configured", configured: 1, connected: 3, pool: 20, overflow: 40,
			wantInstances: 3, wantNeed: 180,
			wantFix: "set DATABASE_POOL_MAX_OVERFLOW=10, or raise max_connections to at least 190 (statements past the limit wait for a pooled connection, and psql and migrations may be refused)"},
		{name: "pools that fit exactly", configured: 3, pool: 10, overflow: 20, wantInstances: 3, wantNeed: 90, wantFits: true},
		{name: "even the pools' minimum does not fit", configured: 6, pool: 20, overflow: 0,
			wantInstances: 6, wantNeed: 120,
			wantFix: "set DATABASE_POOL_SIZE=15 and DATABASE_POOL_MAX_OVERFLOW=0, or raise max_connections to at least 130"},
		{name: "more instances than slots", configured: 100, pool: 1, overflow: 0,
			wantInstances: 100, wantNeed: 100, wantFix: "raise max_connections to at least 110"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := app.ConnectionBudget{MaxConnections: 100, Reserved: 3, Others: 2,
				Configured: tc.configured, Connected: tc.connected, Pool: tc.pool, Overflow: tc.overflow}
			assert.Equal(t, 90, b.Available())
			assert.Equal(t, tc.wantInstances, b.Instances())
			assert.Equal(t, tc.wantNeed, b.Need())
			assert.Equal(t, tc.wantFits, b.Fits())
			if !tc.wantFits {
				assert.Equal(t, tc.wantFix, b.Fix())
			}
		})
	}
}

// TestInspectConnectionsCountsInstances runs one gateway on a fresh
// database beside a connection named as another instance and one from
// psql: doctor counts two instances and the psql connection as another
// client's.
func TestInspectConnectionsCountsInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	e := newEnv(t, map[string]string{"DATABASE_URL": url})
	ctx := context.Background()
	for _, name := range []string{"genzai other-host:42", "psql"} {
		cfg, err := pgx.ParseConfig(url)
		require.NoError(t, err)
		cfg.RuntimeParams["application_name"] = name
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
	}

	b, err := app.InspectConnections(ctx, e.cfg)
	require.NoError(t, err)
	assert.Equal(t, 2, b.Connected, "this gateway and the other instance")
	assert.Equal(t, 1, b.Configured)
	assert.Equal(t, 2, b.Instances())
	assert.GreaterOrEqual(t, b.Others, 1, "psql")
	assert.Equal(t, 1, b.Pool)
	assert.Equal(t, 4, b.Overflow)
	var maxConns int
	e.queryRow("SELECT current_setting('max_connections')::int", &maxConns)
	assert.Equal(t, maxConns, b.MaxConnections)
	assert.GreaterOrEqual(t, b.Reserved, 0)
}

// TestBurstOverThreeInstancesWithinConnectionLimit is the burst:
// three instances whose pools (1 + 4 overflow each) can ask for 15
// connections share a server that admits 5 (a role's CONNECTION LIMIT,
// refused with the same 53300 as a full server); 300 chat requests, 100
// at a time, all succeed: no 503.
func TestBurstOverThreeInstancesWithinConnectionLimit(t *testing.T) {
	t.Parallel()
	url := pgtest.NewLimitedRole(t, pgtest.NewURL(t), 5)
	vars := map[string]string{
		"DATABASE_URL": url, "MOCK_PROVIDER_DELAY_MS": "0", "USER_DAILY_QUOTA": "1000",
		"MAX_CONCURRENT_REQUESTS_PER_USER": "0", "PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	}
	instances := []*env{newEnv(t, vars), newEnv(t, vars), newEnv(t, vars)}
	instances[0].register("ada@example.com", pw)
	token := instances[0].login("ada@example.com", pw)

	statuses := make(chan int, 300)
	for round := range 3 {
		var wg sync.WaitGroup
		for i := range 100 {
			e := instances[(round*100+i)%len(instances)]
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/chat", strings.NewReader(`{"prompt":"Hi","stream":false}`))
				if err != nil {
					statuses <- -1
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := e.http.Do(req)
				if err != nil {
					statuses <- -1
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				statuses <- res.StatusCode
			})
		}
		wg.Wait()
	}
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 300}, counts)
}
