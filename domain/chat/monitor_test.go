package chat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// TestRouterSkipsProvidersTheMonitorReportsDown keeps routing in line with
// the status report: a provider reported down is not tried.
func TestRouterSkipsProvidersTheMonitorReportsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.router.SetDown([]domain.Provider{domain.ProviderGroq}) // as the monitor's report does
	res, _, err := e.chat(context.Background(), chat.Request{Tier: domain.TierBalanced, Prompt: "Hi", Stream: true})
	require.NoError(t, err)
	assert.Equal(t, domain.ProviderOpenRouter, res.Provider)
	assert.Empty(t, e.groq.Calls())

	_, _, err = e.chat(context.Background(), chat.Request{Tier: domain.TierFast, Prompt: "Hi", Stream: true})
	var pu *domain.ProvidersUnavailableError
	require.True(t, errors.As(err, &pu), "err: %v", err)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "provider_down"}}, pu.Attempts)
}
