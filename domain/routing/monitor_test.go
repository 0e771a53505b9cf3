package routing_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// TestRouterSkipsProvidersTheMonitorReportsDown keeps routing in line with
// the status report: a provider reported down is not tried.
func TestRouterSkipsProvidersTheMonitorReportsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.router.SetDown([]domain.Provider{domain.ProviderGroq}) // as the monitor's report does
	p, err := e.chat(domain.TierBalanced)
	require.NoError(t, err)
	assert.Equal(t, domain.ProviderOpenRouter, p)
	assert.Empty(t, e.groq.Calls())

	_, err = e.chat(domain.TierFast)
	var pu *domain.ProvidersUnavailableError
	require.True(t, errors.As(err, &pu), "err: %v", err)
	assert.Equal(t, []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "provider_down"}}, pu.Attempts)
}
