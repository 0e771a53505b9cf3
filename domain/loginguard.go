package domain

import "time"

// LoginBackoff is the per-account rule against password guessing, the same
// whichever address the guesses come from:
//
//   - every password attempt on an account is counted when it starts (so
//     that concurrent guesses cannot all slip in before the first failure
//     is recorded); a successful login forgets the count;
//   - the attempt that brings the count to MaxFailures, and every later
//     one, locks the account for Lock(count): Base, doubling with each
//     further attempt, capped at Max;
//   - while locked, attempts are refused before any password is checked,
//     and are not counted;
//   - the count is forgotten Window after the last lock ends (or after the
//     last attempt, below MaxFailures).
//
// A locked account refuses its owner's correct password too: otherwise the
// lock would stop no one who might guess right.
type LoginBackoff struct {
	// MaxFailures is the count at which locking begins; 0 or less turns
	// the rule off.
	MaxFailures int
	// Base is the first lock; it doubles with each further attempt.
	Base time.Duration
	// Max caps a lock.
	Max time.Duration
	// Window is how long the count outlives the last lock (or attempt).
	Window time.Duration
}

// DefaultLoginBackoff locks for 1 s after the fifth attempt in a row without
// success, doubling to at most 15 minutes, and forgets after 15 minutes.
var DefaultLoginBackoff = LoginBackoff{MaxFailures: 5, Base: time.Second, Max: 15 * time.Minute, Window: 15 * time.Minute}

// Enabled reports whether the rule limits anything.
func (b LoginBackoff) Enabled() bool { return b.MaxFailures > 0 }

// Lock is how long the account is locked after its count-th attempt: 0
// below MaxFailures, then Base·2^(count-MaxFailures), at most Max.
func (b LoginBackoff) Lock(count int) time.Duration {
	if !b.Enabled() || count < b.MaxFailures {
		return 0
	}
	lock := b.Base
	for range count - b.MaxFailures {
		if lock >= b.Max {
			break
		}
		lock *= 2
	}
	return min(lock, b.Max)
}

// LoginAttempt is a login guard's answer for one password attempt.
type LoginAttempt struct {
	// Allowed is true when the password may be checked.
	Allowed bool
	// RetryAfter is how long the account stays locked (0 when allowed).
	RetryAfter time.Duration
}
