package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
)

// TestLoadConfigMeteredWork covers MAX_CONCURRENT_REQUESTS_PER_USER and
// WEB_SEARCH_NEGATIVE_TTL_SECONDS: defaults, values, and bad values named
// in the error.
func TestLoadConfigMeteredWork(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(getenv(nil))
	require.NoError(t, err)
	assert.Equal(t, 10, cfg.MaxConcurrentPerUser)
	assert.Equal(t, time.Minute, cfg.WebSearchNegativeTTL)

	cfg, err = app.LoadConfig(getenv(map[string]string{"MAX_CONCURRENT_REQUESTS_PER_USER": "0", "WEB_SEARCH_NEGATIVE_TTL_SECONDS": "0"}))
	require.NoError(t, err)
	assert.Equal(t, 0, cfg.MaxConcurrentPerUser, "0 turns the bound off")
	assert.Zero(t, cfg.WebSearchNegativeTTL, "0 keeps no failures")

	for name, value := range map[string]string{
		"MAX_CONCURRENT_REQUESTS_PER_USER": "-1",
		"WEB_SEARCH_NEGATIVE_TTL_SECONDS":  "3601",
	} {
		_, err := app.LoadConfig(getenv(map[string]string{name: value}))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
	_, err = app.LoadConfig(getenv(map[string]string{"MAX_CONCURRENT_REQUESTS_PER_USER": "ten"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MAX_CONCURRENT_REQUESTS_PER_USER")
}
