package sqlite_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
)

// TestHealthTrafficFromRows counts traffic over request_log rows written
// with SQL, in the stored attempts format, rather than through the writer;
// the rows and counts are those of the PostgreSQL adapter's test.
func TestHealthTrafficFromRows(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	ctx := context.Background()
	conn := rawConn(t, e.path)
	since := at
	inside, outside := since.Add(30*time.Minute), since.Add(-time.Microsecond)
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
		// Before the window, by one microsecond.
		{0, ptr("groq"), ptr[int32](80), `[{"provider": "groq", "reason": "server_error", "key_index": 0}]`, outside},
		// Reasons and providers are compared exactly, not by pattern.
		{1, ptr("groq-2"), ptr[int32](10), `[{"provider": "Groq", "reason": "timeout"}, {"provider": "groq", "reason": "timeout_2"}]`, inside},
	}
	for _, r := range rows {
		_, err := conn.ExecContext(ctx, `INSERT INTO request_log (user_id, tier, provider, outcome, attempts, stream, latency_ms, ttft_ms, created_at)
			VALUES (?, 'fast', ?, 'success', ?, 1, 1000, ?, ?)`,
			string(users[r.user]), r.provider, r.attempts, r.ttftMs, r.created.UnixMicro())
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
		{"groq, nil reasons", domain.ProviderGroq, since, nil, domain.TrafficStats{Answered: 3}},
		{"groq including older rows", domain.ProviderGroq, outside, failures, domain.TrafficStats{Answered: 4, Failed: 4}},
		{"openrouter", domain.ProviderOpenRouter, since, failures, domain.TrafficStats{Answered: 1, Failed: 2}},
		{"huggingface", domain.ProviderHuggingFace, since, failures, domain.TrafficStats{Answered: 1}},
		{"unknown provider", domain.Provider("nobody"), since, failures, domain.TrafficStats{}},
		{"reason with a quote", domain.ProviderGroq, since, []domain.AttemptReason{`time"out`}, domain.TrafficStats{Answered: 3}},
	} {
		got, err := e.db.Traffic(ctx, tc.provider, tc.since, tc.reasons)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

// TestHealthClaimAcrossInstances claims one provider's probe from several
// *DB on one file at once, as processes sharing it do.
func TestHealthClaimAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	migrate(t, openAt(t, path, 1))
	const instances, callers = 4, 5
	dbs := make([]*sqlite.DB, instances)
	for i := range dbs {
		dbs[i] = openAt(t, path, callers)
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

	var due int64
	require.NoError(t, rawConn(t, path).QueryRowContext(ctx,
		"SELECT next_due_at FROM provider_probe_schedule WHERE provider = 'groq'").Scan(&due))
	assert.Equal(t, at.Add(3*interval).UnixMicro(), due)
}
