package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
)

func TestLoginBackoffLock(t *testing.T) {
	t.Parallel()
	rule := domain.DefaultLoginBackoff
	tests := []struct {
		count int
		want  time.Duration
	}{
		{1, 0}, {4, 0},
		{5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second},
		{14, 512 * time.Second}, {15, 15 * time.Minute}, {16, 15 * time.Minute},
		{1_000_000, 15 * time.Minute}, // no overflow however long the siege
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, rule.Lock(tc.count), "count %d", tc.count)
	}
	assert.Zero(t, domain.LoginBackoff{}.Lock(100), "off")
	assert.False(t, domain.LoginBackoff{}.Enabled())
	assert.True(t, rule.Enabled())
}
