package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

// newHealth is a fresh database whose pool takes a test's whole connection
// budget, so that the contract suite's 20 concurrent claimers run as many
// statements at once as a test may; request records go through the real
// writer.
func newHealth(t *testing.T) portstest.Health {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewURL(t), postgres.PoolConfig{MaxConns: pgtest.MaxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	var user domain.UserID // request_log rows need one; created on first use
	return portstest.Health{
		Store: db,
		Log: func(t *testing.T, records ...domain.RequestRecord) {
			t.Helper()
			if user == "" {
				u, err := db.CreateUser(context.Background(), domain.NewUser{Email: "traffic@example.com"})
				require.NoError(t, err)
				user = u.ID
			}
			w := db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
			for _, r := range records {
				r.UserID = user
				w.Record(r)
			}
			closeWriter(t, w)
			require.Zero(t, w.Dropped())
		},
	}
}

func TestHealthStoreContract(t *testing.T) { portstest.RunHealthStore(t, newHealth) }

// TestHealthTrafficFromRows counts traffic over request_log rows written
// with SQL, in the stored attempts format, rather than through the writer.
func TestHealthTrafficFromRows(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	ctx := context.Background()
	since := at
	inside, outside := since.Add(30*time.Minute), since.Add(-time.Second)
	users := []domain.UserID{e.user(t, "t1@example.com"), e.user(t, "t2@example.com")}

	rows := []struct {
		user     int
		provider *string
		ttftMs   *int32
		attempts string
		created  time.Time
	}{
		// Answered by groq (a first token came), one after a rate-limited key.
		{0, ptr("groq"), ptr[int32](120), `[]`, inside},
		{1, ptr("groq"), ptr[int32](95), `[{"provider": "groq", "reason": "rate_limited", "key_index": 0}]`, inside},
		{0, ptr("groq"), ptr[int32](0), `[]`, since},
		// Groq picked but no first token: not an answer.
		{0, ptr("groq"), nil, `[]`, inside},
		// Groq failed, another provider answered.
		{1, ptr("openrouter"), ptr[int32](300), `[{"provider": "groq", "reason": "server_error", "key_index": 0}, {"provider": "groq", "reason": "timeout", "key_index": 1}]`, inside},
		// Nobody answered; the groq attempt had no key.
		{0, nil, nil, `[{"provider": "groq", "reason": "timeout"}, {"provider": "openrouter", "reason": "server_error", "key_index": 0}]`, inside},
		// Another provider's failures and answers.
		{1, ptr("huggingface"), ptr[int32](50), `[{"provider": "openrouter", "reason": "timeout", "key_index": 2}]`, inside},
		// Before the window.
		{0, ptr("groq"), ptr[int32](80), `[{"provider": "groq", "reason": "server_error", "key_index": 0}]`, outside},
	}
	for _, r := range rows {
		_, err := e.conn.Exec(ctx, `INSERT INTO request_log (user_id, tier, provider, outcome, attempts, stream, latency_ms, ttft_ms, created_at)
			VALUES ($1, 'fast', $2, 'success', $3::jsonb, true, 1000, $4, $5)`,
			string(users[r.user]), r.provider, r.attempts, r.ttftMs, r.created)
		require.NoError(t, err)
	}

	failures := []domain.AttemptReason{domain.ReasonServerError, domain.ReasonTimeout}
	for _, tc := range []struct {
		name     string
		provider domain.Provider
		since    time.Time
		reasons  []domain.AttemptReason
		want     domain.TrafficStats
	}{
		{"groq", domain.ProviderGroq, since, failures, domain.TrafficStats{Answered: 3, Failed: 3}},
		{"groq with rate limits", domain.ProviderGroq, since, []domain.AttemptReason{domain.ReasonServerError, domain.ReasonTimeout, domain.ReasonRateLimited}, domain.TrafficStats{Answered: 3, Failed: 4}},
		{"groq, empty reasons", domain.ProviderGroq, since, []domain.AttemptReason{}, domain.TrafficStats{Answered: 3}},
		{"groq including older rows", domain.ProviderGroq, outside, failures, domain.TrafficStats{Answered: 4, Failed: 4}},
		{"openrouter", domain.ProviderOpenRouter, since, failures, domain.TrafficStats{Answered: 1, Failed: 2}},
		{"huggingface", domain.ProviderHuggingFace, since, failures, domain.TrafficStats{Answered: 1}},
		{"unknown provider", domain.Provider("nobody"), since, failures, domain.TrafficStats{}},
	} {
		got, err := e.db.Traffic(ctx, tc.provider, tc.since, tc.reasons)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

// TestHealthClaimAcrossInstances claims one provider's probe from several
// pools on one database at once, as instances sharing it do.
func TestHealthClaimAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	const instances, callers = 4, 5
	dbs := make([]*postgres.DB, instances)
	for i := range dbs {
		// The instances share one test's connection budget.
		db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: pgtest.MaxConns / instances})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		dbs[i] = db
	}
	const interval = time.Minute
	for round := range 3 {
		now := at.Add(time.Duration(round) * interval)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, db := range dbs {
			for range callers {
				wg.Go(func() {
					ok, err := db.ClaimProbe(ctx, domain.ProviderGroq, now, interval)
					if assert.NoError(t, err) && ok {
						wins.Add(1)
					}
				})
			}
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "round %d", round)
	}

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var due time.Time
	require.NoError(t, conn.QueryRow(ctx, "SELECT next_due_at FROM provider_probe_schedule WHERE provider = 'groq'").Scan(&due))
	assert.True(t, at.Add(3*interval).Equal(due), "next due %s", due)
}
