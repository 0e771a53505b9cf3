package memory_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
)

func TestRequestLogKeepsOrder(t *testing.T) {
	t.Parallel()
	key := 1
	ttft := 80 * time.Millisecond
	tests := []struct {
		name    string
		records []domain.RequestRecord
	}{
		{name: "none"},
		{name: "one", records: []domain.RequestRecord{{UserID: "u1", Tier: domain.TierFast, Outcome: domain.OutcomeSuccess}}},
		{name: "several", records: []domain.RequestRecord{
			{UserID: "u1", Tier: domain.TierFast, Provider: domain.ProviderGroq, KeyIndex: &key, Outcome: domain.OutcomeSuccess, FirstToken: &ttft},
			{UserID: "u2", Tier: domain.TierSmart, Outcome: domain.OutcomeError, ErrorCode: "providers_unavailable",
				Attempts: []domain.Attempt{{Provider: domain.ProviderOpenRouter, Reason: "server_error", KeyIndex: &key}}},
			{UserID: "u1", Tier: "bogus", Outcome: domain.OutcomeInvalid, ErrorCode: "invalid_request"},
			{UserID: "u2", Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, Cache: domain.CacheHit, Usage: domain.Usage{PromptTokens: 3, CompletionTokens: 5}},
			{UserID: "u2", Tier: domain.TierFast, Provider: domain.ProviderGroq, Outcome: domain.OutcomeSuccess, Cache: domain.CacheMiss},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var l memory.RequestLog // the zero value works
			for _, r := range tc.records {
				l.Record(r)
			}
			assert.Equal(t, append([]domain.RequestRecord{}, tc.records...), l.Records())
		})
	}
}

// TestRequestLogCopies checks that a stored record changes neither with the
// recorder's values nor with what a reader does to its copy.
func TestRequestLogCopies(t *testing.T) {
	t.Parallel()
	l := memory.NewRequestLog()
	key, attemptKey := 2, 0
	rec := domain.RequestRecord{UserID: "u1", KeyIndex: &key,
		Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: &attemptKey}}}
	l.Record(rec)

	key, attemptKey = 7, 7
	rec.Attempts[0].Reason = "changed"
	got := l.Records()
	*got[0].KeyIndex = 9
	got[0].Attempts[0].Provider = domain.ProviderMock

	again := l.Records()
	require.Len(t, again, 1)
	assert.Equal(t, 2, *again[0].KeyIndex)
	assert.Equal(t, domain.Attempt{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: new(int)}, again[0].Attempts[0])
}

func TestRequestLogConcurrent(t *testing.T) {
	t.Parallel()
	l := memory.NewRequestLog()
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.Record(domain.RequestRecord{UserID: domain.UserID(fmt.Sprint(g)), Usage: domain.Usage{PromptTokens: i}})
				_ = l.Records()
			}
		})
	}
	wg.Wait()

	got := l.Records()
	require.Len(t, got, goroutines*each)
	next := map[domain.UserID]int{}
	for _, r := range got {
		assert.Equal(t, next[r.UserID], r.Usage.PromptTokens, "each goroutine's records stay in its order")
		next[r.UserID]++
	}
	assert.Len(t, next, goroutines)
}
