package domain

import "time"

// Rate is a request budget: Limit requests per Period.
type Rate struct {
	Limit  int
	Period time.Duration
}

// RateDecision is a limiter's answer for one request.
type RateDecision struct {
	Allowed bool
	// Limit is the budget of the period.
	Limit int
	// Remaining is how many more requests would be admitted now.
	Remaining int
	// RetryAfter is how long until a refused request would be admitted (0
	// when allowed).
	RetryAfter time.Duration
	// ResetAfter is how long until the whole budget is available again.
	ResetAfter time.Duration
}
