package domain

import "time"

// ProviderCheck is one health probe of a provider.
type ProviderCheck struct {
	Provider Provider
	OK       bool
	// Status is the upstream HTTP status; 0 when there was no answer.
	Status  int
	Latency time.Duration
	// ErrorClass is the failure reason (a ProviderError reason); "" when OK.
	ErrorClass AttemptReason
	CheckedAt  time.Time
}

// Uptime is the share of successful checks in a window.
type Uptime struct {
	OK    int
	Total int
}

// Percent is the uptime in percent with two decimals; false without checks.
func (u Uptime) Percent() (float64, bool) {
	if u.Total == 0 {
		return 0, false
	}
	p := float64(u.OK) * 100 / float64(u.Total)
	return float64(int64(p*100+0.5)) / 100, true
}

// TrafficStats counts a provider's recent outcomes in real chat traffic:
// answers it started and attempts where it failed.
type TrafficStats struct {
	Answered int
	Failed   int
}

// ErrorRate is Failed / (Answered + Failed); 0 without traffic.
func (t TrafficStats) ErrorRate() float64 {
	n := t.Answered + t.Failed
	if n == 0 {
		return 0
	}
	return float64(t.Failed) / float64(n)
}

// HealthStatus is a provider's status as shown to users.
type HealthStatus string

// The statuses.
const (
	StatusUp           HealthStatus = "up"
	StatusDegraded     HealthStatus = "degraded"
	StatusDown         HealthStatus = "down"
	StatusUnconfigured HealthStatus = "unconfigured"
	// StatusUnknown: configured but not checked yet.
	StatusUnknown HealthStatus = "unknown"
)
