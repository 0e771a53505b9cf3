package status

import (
	"time"

	"github.com/genzai/genzai/domain"
)

// Inputs are what a provider's status is decided from.
type Inputs struct {
	// Checks are the latest probes, newest first.
	Checks            []domain.ProviderCheck
	BreakerOpen       bool
	Traffic           domain.TrafficStats
	DegradedLatency   time.Duration
	DegradedErrorRate float64
	MinTraffic        int
}

// Evaluate decides a configured provider's status: down when its breaker is
// open or its last two probes failed (or its only probe); degraded after one
// failed probe, a slow probe, or a high error rate in real traffic; up
// otherwise; unknown before the first probe unless traffic says more.
func Evaluate(in Inputs) domain.HealthStatus {
	busy := in.Traffic.Answered+in.Traffic.Failed >= max(in.MinTraffic, 1)
	failing := busy && in.Traffic.ErrorRate() > in.DegradedErrorRate
	switch {
	case in.BreakerOpen:
		return domain.StatusDown
	case len(in.Checks) > 0 && !in.Checks[0].OK && (len(in.Checks) == 1 || !in.Checks[1].OK):
		return domain.StatusDown
	case len(in.Checks) > 0 && !in.Checks[0].OK:
		return domain.StatusDegraded
	case failing:
		return domain.StatusDegraded
	case len(in.Checks) == 0:
		return domain.StatusUnknown
	case in.DegradedLatency > 0 && in.Checks[0].Latency > in.DegradedLatency:
		return domain.StatusDegraded
	default:
		return domain.StatusUp
	}
}
