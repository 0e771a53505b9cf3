package status_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/status"
)

func TestEvaluate(t *testing.T) {
	t.Parallel()
	ok := func(lat time.Duration) domain.ProviderCheck { return domain.ProviderCheck{OK: true, Latency: lat} }
	fail := domain.ProviderCheck{OK: false, ErrorClass: "server_error"}
	fast, slow := 100*time.Millisecond, 5*time.Second
	tests := []struct {
		name    string
		checks  []domain.ProviderCheck
		breaker bool
		traffic domain.TrafficStats
		want    domain.HealthStatus
	}{
		{"never probed", nil, false, domain.TrafficStats{}, domain.StatusUnknown},
		{"never probed but failing users", nil, false, domain.TrafficStats{Answered: 2, Failed: 8}, domain.StatusDegraded},
		{"healthy", []domain.ProviderCheck{ok(fast), ok(fast)}, false, domain.TrafficStats{Answered: 100, Failed: 2}, domain.StatusUp},
		{"one failed probe", []domain.ProviderCheck{fail, ok(fast)}, false, domain.TrafficStats{}, domain.StatusDegraded},
		{"two failed probes", []domain.ProviderCheck{fail, fail}, false, domain.TrafficStats{}, domain.StatusDown},
		{"only probe failed", []domain.ProviderCheck{fail}, false, domain.TrafficStats{}, domain.StatusDown},
		{"recovered", []domain.ProviderCheck{ok(fast), fail}, false, domain.TrafficStats{}, domain.StatusUp},
		{"slow probe", []domain.ProviderCheck{ok(slow), ok(fast)}, false, domain.TrafficStats{}, domain.StatusDegraded},
		{"breaker open beats good probes", []domain.ProviderCheck{ok(fast)}, true, domain.TrafficStats{}, domain.StatusDown},
		{"users failing", []domain.ProviderCheck{ok(fast)}, false, domain.TrafficStats{Answered: 6, Failed: 4}, domain.StatusDegraded},
		{"error rate at the threshold is fine", []domain.ProviderCheck{ok(fast)}, false, domain.TrafficStats{Answered: 3, Failed: 1}, domain.StatusUp},
		{"too little traffic to judge", []domain.ProviderCheck{ok(fast)}, false, domain.TrafficStats{Failed: 4}, domain.StatusUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := status.Evaluate(status.Inputs{
				Checks: tt.checks, BreakerOpen: tt.breaker, Traffic: tt.traffic,
				DegradedLatency: 3 * time.Second, DegradedErrorRate: 0.25, MinTraffic: 5,
			})
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUptimePercent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		up   domain.Uptime
		want float64
		ok   bool
	}{
		{domain.Uptime{}, 0, false},
		{domain.Uptime{OK: 1, Total: 1}, 100, true},
		{domain.Uptime{OK: 0, Total: 3}, 0, true},
		{domain.Uptime{OK: 2, Total: 3}, 66.67, true},
		{domain.Uptime{OK: 1437, Total: 1440}, 99.79, true},
		{domain.Uptime{OK: 5, Total: 8}, 62.5, true},
	} {
		got, ok := tt.up.Percent()
		assert.Equal(t, tt.ok, ok, "%+v", tt.up)
		assert.Equal(t, tt.want, got, "%+v", tt.up)
	}
}
