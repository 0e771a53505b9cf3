package portstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Health is what the health suite needs from one implementation.
type Health struct {
	Store ports.HealthStore
	// Log writes request records where Store.Traffic reads them and returns
	// once they are readable; their UserID may be replaced.
	Log func(t *testing.T, records ...domain.RequestRecord)
}

// healthBase is a time both implementations store exactly (whole
// microseconds, UTC).
var healthBase = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// RunHealthStore checks the ports.HealthStore contract; newHealth returns an
// empty store (and request log) for each subtest.
func RunHealthStore(t *testing.T, newHealth func(t *testing.T) Health) {
	ctx := context.Background()
	const groq, openrouter = domain.ProviderGroq, domain.ProviderOpenRouter
	record := func(t *testing.T, s ports.HealthStore, checks ...domain.ProviderCheck) {
		t.Helper()
		for _, c := range checks {
			require.NoError(t, s.RecordCheck(ctx, c))
		}
	}

	t.Run("checks round trip", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		for _, tc := range []struct {
			name  string
			check domain.ProviderCheck
			want  domain.ProviderCheck
		}{
			{
				name:  "ok",
				check: domain.ProviderCheck{OK: true, Status: 200, Latency: 187 * time.Millisecond, CheckedAt: healthBase},
			},
			{
				name:  "error answer",
				check: domain.ProviderCheck{Status: 503, Latency: 1234 * time.Millisecond, ErrorClass: "server_error", CheckedAt: healthBase},
			},
			{
				name:  "no answer",
				check: domain.ProviderCheck{Latency: 10 * time.Second, ErrorClass: "timeout", CheckedAt: healthBase},
			},
			{
				name:  "latency in whole milliseconds, time in microseconds, UTC",
				check: domain.ProviderCheck{OK: true, Status: 200, Latency: 42*time.Millisecond + 999*time.Microsecond, CheckedAt: healthBase.Add(789 * time.Nanosecond).In(time.FixedZone("CET", 3600))},
				want:  domain.ProviderCheck{OK: true, Status: 200, Latency: 42 * time.Millisecond, CheckedAt: healthBase},
			},
			{
				name:  "negative latency stored as zero",
				check: domain.ProviderCheck{OK: true, Status: 200, Latency: -time.Second, CheckedAt: healthBase},
				want:  domain.ProviderCheck{OK: true, Status: 200, CheckedAt: healthBase},
			},
		} {
			// Each case gets its own provider name so that they read back alone.
			p := domain.Provider("p-" + tc.name)
			tc.check.Provider = p
			want := tc.check
			if tc.want != (domain.ProviderCheck{}) {
				want = tc.want
				want.Provider = p
			}
			record(t, s, tc.check)
			got, err := s.RecentChecks(ctx, p, 10)
			require.NoError(t, err, tc.name)
			assert.Equal(t, []domain.ProviderCheck{want}, got, tc.name)
		}
	})

	t.Run("recent checks: newest first, limited, per provider", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		at := func(i int) time.Time { return healthBase.Add(time.Duration(i) * time.Minute) }
		// Recorded out of order; two at the same instant come newest recorded first.
		for _, i := range []int{2, 0, 4, 1, 3} {
			record(t, s, domain.ProviderCheck{Provider: groq, OK: true, Status: 200 + i, CheckedAt: at(i)})
		}
		record(t, s,
			domain.ProviderCheck{Provider: groq, OK: false, Status: 500, CheckedAt: at(4)},
			domain.ProviderCheck{Provider: openrouter, OK: true, Status: 200, CheckedAt: at(9)},
		)
		statuses := func(cs []domain.ProviderCheck) []int {
			out := []int{}
			for _, c := range cs {
				out = append(out, c.Status)
			}
			return out
		}
		for _, tc := range []struct {
			provider domain.Provider
			limit    int
			want     []int
		}{
			{groq, 3, []int{500, 204, 203}},
			{groq, 100, []int{500, 204, 203, 202, 201, 200}},
			{groq, 1, []int{500}},
			{groq, 0, []int{}},
			{openrouter, 10, []int{200}},
			{domain.ProviderHuggingFace, 10, []int{}},
		} {
			got, err := s.RecentChecks(ctx, tc.provider, tc.limit)
			require.NoError(t, err)
			require.NotNil(t, got, "an empty result is an empty slice")
			assert.Equal(t, tc.want, statuses(got), "%s limit %d", tc.provider, tc.limit)
		}
	})

	t.Run("uptime counts checks since a time", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		at := func(i int) time.Time { return healthBase.Add(time.Duration(i) * 10 * time.Minute) }
		// Twelve checks ten minutes apart; 4 and 8 failed. The window from
		// at(3) holds nine of them, seven ok.
		for i := range 12 {
			record(t, s, domain.ProviderCheck{Provider: groq, OK: i != 4 && i != 8, CheckedAt: at(i)})
		}
		record(t, s,
			domain.ProviderCheck{Provider: openrouter, OK: false, CheckedAt: at(5)},
			domain.ProviderCheck{Provider: openrouter, OK: true, CheckedAt: at(6)},
		)
		for _, tc := range []struct {
			name     string
			provider domain.Provider
			since    time.Time
			want     domain.Uptime
		}{
			{"window from a check includes it", groq, at(3), domain.Uptime{OK: 7, Total: 9}},
			{"just after a check excludes it", groq, at(3).Add(time.Microsecond), domain.Uptime{OK: 6, Total: 8}},
			{"everything", groq, at(-1), domain.Uptime{OK: 10, Total: 12}},
			{"only the last", groq, at(11), domain.Uptime{OK: 1, Total: 1}},
			{"after the last", groq, at(12), domain.Uptime{}},
			{"other provider", openrouter, at(0), domain.Uptime{OK: 1, Total: 2}},
			{"never checked", domain.ProviderHuggingFace, at(0), domain.Uptime{}},
		} {
			got, err := s.Uptime(ctx, tc.provider, tc.since)
			require.NoError(t, err, tc.name)
			assert.Equal(t, tc.want, got, tc.name)
		}
	})

	t.Run("claim probe once per interval", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		const interval = time.Minute
		steps := []struct {
			name string
			at   time.Time
			want bool
		}{
			{"first claim", healthBase, true},
			{"again at the same time", healthBase, false},
			{"a microsecond before due", healthBase.Add(interval - time.Microsecond), false},
			{"a nanosecond before due", healthBase.Add(interval - time.Nanosecond), false},
			{"when due", healthBase.Add(interval), true},
			{"within the next interval", healthBase.Add(interval + interval/2), false},
			{"long after, late", healthBase.Add(3*interval + time.Second), true},
			{"due counts from the late claim", healthBase.Add(4 * interval), false},
			{"due after the late claim", healthBase.Add(4*interval + time.Second), true},
		}
		for _, st := range steps {
			got, err := s.ClaimProbe(ctx, groq, st.at, interval)
			require.NoError(t, err, st.name)
			assert.Equal(t, st.want, got, st.name)
		}
	})

	t.Run("concurrent claimers at one instant: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		const interval = 30 * time.Second
		for round, now := range []time.Time{healthBase, healthBase.Add(interval), healthBase.Add(2 * interval)} {
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					ok, err := s.ClaimProbe(ctx, groq, now, interval)
					if !assert.NoError(t, err) {
						return
					}
					if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int32(1), wins.Load(), "round %d", round)
		}
	})

	t.Run("providers are claimed independently", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		for _, st := range []struct {
			provider domain.Provider
			at       time.Time
			interval time.Duration
			want     bool
		}{
			{groq, healthBase, time.Minute, true},
			{openrouter, healthBase, time.Hour, true},
			{groq, healthBase, time.Minute, false},
			{openrouter, healthBase, time.Hour, false},
			{groq, healthBase.Add(time.Minute), time.Minute, true},
			{openrouter, healthBase.Add(time.Minute), time.Hour, false},
		} {
			got, err := s.ClaimProbe(ctx, st.provider, st.at, st.interval)
			require.NoError(t, err)
			assert.Equal(t, st.want, got, "%s at +%s", st.provider, st.at.Sub(healthBase))
		}
	})

	t.Run("claim refuses an interval that is not positive", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		for _, d := range []time.Duration{0, -time.Second} {
			ok, err := s.ClaimProbe(ctx, groq, healthBase, d)
			assert.Error(t, err, "interval %s", d)
			assert.False(t, ok)
		}
	})

	t.Run("prune deletes only older checks", func(t *testing.T) {
		t.Parallel()
		s := newHealth(t).Store
		at := func(i int) time.Time { return healthBase.Add(time.Duration(i) * time.Hour) }
		for i := range 6 {
			record(t, s,
				domain.ProviderCheck{Provider: groq, OK: true, CheckedAt: at(i)},
				domain.ProviderCheck{Provider: openrouter, OK: true, CheckedAt: at(i)},
			)
		}
		for _, tc := range []struct {
			before time.Time
			want   int64
		}{
			{at(0), 0},
			{at(3), 6}, // 0..2 of both; the checks at at(3) stay
			{at(3), 0},
			{at(3).Add(time.Microsecond), 2},
		} {
			n, err := s.PruneChecks(ctx, tc.before)
			require.NoError(t, err)
			assert.Equal(t, tc.want, n, "before +%s", tc.before.Sub(healthBase))
		}
		for _, p := range []domain.Provider{groq, openrouter} {
			left, err := s.RecentChecks(ctx, p, 10)
			require.NoError(t, err)
			if assert.Len(t, left, 2, p) {
				assert.Equal(t, at(5), left[0].CheckedAt)
				assert.Equal(t, at(4), left[1].CheckedAt)
			}
		}
	})

	t.Run("traffic counts answers and failed attempts since a time", func(t *testing.T) {
		t.Parallel()
		h := newHealth(t)
		if h.Log == nil {
			t.Skip("this implementation cannot be fed request records")
		}
		since := healthBase
		in, before := since.Add(time.Minute), since.Add(-time.Microsecond)
		ttft := 300 * time.Millisecond
		key := func(i int) *int { return &i }
		h.Log(t,
			// Answers started by groq: counted, also at since exactly and
			// after failed attempts on another key.
			domain.RequestRecord{Provider: groq, Outcome: domain.OutcomeSuccess, FirstToken: &ttft, CreatedAt: in},
			domain.RequestRecord{Provider: groq, Outcome: domain.OutcomeInterrupted, FirstToken: &ttft, CreatedAt: since},
			domain.RequestRecord{Provider: groq, Outcome: domain.OutcomeSuccess, FirstToken: &ttft, CreatedAt: in,
				Attempts: []domain.Attempt{{Provider: groq, Reason: "rate_limited", KeyIndex: key(0)}}},
			// Failed attempts on groq: two counted reasons in one request,
			// one without a key, one rate limit that is not counted.
			domain.RequestRecord{Provider: openrouter, Outcome: domain.OutcomeSuccess, FirstToken: &ttft, CreatedAt: in,
				Attempts: []domain.Attempt{
					{Provider: groq, Reason: "server_error", KeyIndex: key(0)},
					{Provider: groq, Reason: "timeout", KeyIndex: key(1)},
				}},
			domain.RequestRecord{Outcome: domain.OutcomeError, ErrorCode: "providers_unavailable", CreatedAt: in,
				Attempts: []domain.Attempt{
					{Provider: groq, Reason: "timeout"},
					{Provider: openrouter, Reason: "server_error", KeyIndex: key(0)},
				}},
			// Groq chosen but no first token: neither an answer nor a failure.
			domain.RequestRecord{Provider: groq, Outcome: domain.OutcomeCancelled, CreatedAt: in},
			// Before the window: not counted.
			domain.RequestRecord{Provider: groq, Outcome: domain.OutcomeSuccess, FirstToken: &ttft, CreatedAt: before,
				Attempts: []domain.Attempt{{Provider: groq, Reason: "server_error", KeyIndex: key(0)}}},
		)
		reasons := []domain.AttemptReason{domain.ReasonServerError, domain.ReasonTimeout, domain.ReasonModelLoading}
		for _, tc := range []struct {
			name     string
			provider domain.Provider
			since    time.Time
			reasons  []domain.AttemptReason
			want     domain.TrafficStats
		}{
			{"groq", groq, since, reasons, domain.TrafficStats{Answered: 3, Failed: 3}},
			{"groq, rate limits counted", groq, since, append([]domain.AttemptReason{domain.ReasonRateLimited}, reasons...), domain.TrafficStats{Answered: 3, Failed: 4}},
			{"groq, no reasons", groq, since, nil, domain.TrafficStats{Answered: 3}},
			{"groq, wider window", groq, before, reasons, domain.TrafficStats{Answered: 4, Failed: 4}},
			{"groq, narrower window", groq, since.Add(time.Microsecond), reasons, domain.TrafficStats{Answered: 2, Failed: 3}},
			{"openrouter", openrouter, since, reasons, domain.TrafficStats{Answered: 1, Failed: 1}},
			{"no traffic", domain.ProviderHuggingFace, since, reasons, domain.TrafficStats{}},
			{"after everything", groq, in.Add(time.Microsecond), reasons, domain.TrafficStats{}},
		} {
			got, err := h.Store.Traffic(ctx, tc.provider, tc.since, tc.reasons)
			require.NoError(t, err, tc.name)
			assert.Equal(t, tc.want, got, tc.name)
		}
	})
}
