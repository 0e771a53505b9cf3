package routing

import (
	"sync"
	"time"
)

// rpmWindow is the window of per-key request limits.
const rpmWindow = time.Minute

type keyState struct {
	recent        []time.Time // request times within the last rpmWindow, oldest first
	lastUsed      time.Time
	cooldownUntil time.Time
	// rejectedUntil is when a key the provider refused (401/402/403) is
	// tried again: a long cool-off rather than for good, since keys get
	// re-enabled and a deploy should not be needed to use them again.
	rejectedUntil time.Time
}

func (k *keyState) rejected(now time.Time) bool { return now.Before(k.rejectedUntil) }

// keyPool rotates one provider's keys: least used in the last minute first,
// ties to the least recently used; keys cooling down after a 429, rejected
// (401/402/403, until their cool-off ends) or at their per-minute limit are skipped.
type keyPool struct {
	mu   sync.Mutex
	keys []keyState
	rpm  int // 0 = no limit
	// probeNext rotates health probes over the keys.
	probeNext int
}

func newKeyPool(n, rpm int) *keyPool {
	return &keyPool{keys: make([]keyState, n), rpm: rpm}
}

func (p *keyPool) trim(k *keyState, now time.Time) {
	cut := 0
	for cut < len(k.recent) && !k.recent[cut].After(now.Add(-rpmWindow)) {
		cut++
	}
	k.recent = k.recent[cut:]
}

func (p *keyPool) usableLocked(k *keyState, now time.Time) bool {
	p.trim(k, now)
	return !k.rejected(now) && !now.Before(k.cooldownUntil) && (p.rpm <= 0 || len(k.recent) < p.rpm)
}

// acquire picks a key and counts a request on it.
func (p *keyPool) acquire(now time.Time) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i := range p.keys {
		k := &p.keys[i]
		if !p.usableLocked(k, now) {
			continue
		}
		if best < 0 || len(k.recent) < len(p.keys[best].recent) ||
			len(k.recent) == len(p.keys[best].recent) && k.lastUsed.Before(p.keys[best].lastUsed) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	k := &p.keys[best]
	k.recent = append(k.recent, now)
	k.lastUsed = now
	return best, true
}

// cooldown keeps key i out of rotation until until; a later 429 can extend
// a cooldown but never shorten it.
func (p *keyPool) cooldown(i int, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.keys[i].cooldownUntil) {
		p.keys[i].cooldownUntil = until
	}
}

// reject keeps key i out of rotation until until, as a refused key; a
// later rejection can extend it but never shorten it.
func (p *keyPool) reject(i int, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.keys[i].rejectedUntil) {
		p.keys[i].rejectedUntil = until
	}
}

// usable reports whether some key could serve a request now.
func (p *keyPool) usable(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.keys {
		if p.usableLocked(&p.keys[i], now) {
			return true
		}
	}
	return false
}

// nextAvailable is the earliest time a key comes back (out of cooldown or
// under its per-minute limit); false when every key is rejected (a
// rejection's cool-off is too long to be worth a Retry-After).
func (p *keyPool) nextAvailable(now time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next time.Time
	found := false
	for i := range p.keys {
		k := &p.keys[i]
		if k.rejected(now) {
			continue
		}
		p.trim(k, now)
		at := now
		if k.cooldownUntil.After(at) {
			at = k.cooldownUntil
		}
		if p.rpm > 0 && len(k.recent) >= p.rpm {
			if free := k.recent[len(k.recent)-p.rpm].Add(rpmWindow); free.After(at) {
				at = free
			}
		}
		if !found || at.Before(next) {
			next, found = at, true
		}
	}
	return next, found
}

// KeyStatus describes one key for operators; it never holds the key.
type KeyStatus struct {
	Index           int
	RequestsLastMin int
	// CoolingDown is true during a 429's cooldown.
	CoolingDown bool
	// CoolingDownUntil is when the cooldown ends; zero when not cooling down.
	CoolingDownUntil time.Time
	// Rejected is true while the key sits out a rejection's cool-off.
	Rejected bool
	// RejectedUntil is when the cool-off ends; zero when not rejected.
	RejectedUntil time.Time
}

func (p *keyPool) status(now time.Time) []KeyStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]KeyStatus, len(p.keys))
	for i := range p.keys {
		k := &p.keys[i]
		p.trim(k, now)
		out[i] = KeyStatus{Index: i, RequestsLastMin: len(k.recent)}
		if now.Before(k.cooldownUntil) {
			out[i].CoolingDown, out[i].CoolingDownUntil = true, k.cooldownUntil
		}
		if k.rejected(now) {
			out[i].Rejected, out[i].RejectedUntil = true, k.rejectedUntil
		}
	}
	return out
}

// rejectAgain is reject for a key refused once more, and reports whether
// it was refused before (its cool-off ended) as was every other key: no
// key of the pool is left that was never refused.
func (p *keyPool) rejectAgain(i int, until time.Time) (again bool) {
	p.mu.Lock()
	again = !p.keys[i].rejectedUntil.IsZero()
	for k := range p.keys {
		again = again && !p.keys[k].rejectedUntil.IsZero()
	}
	p.mu.Unlock()
	p.reject(i, until)
	return again
}

// probeKey picks a key for a health probe, rotating between calls. Probes
// skip rejected and cooling keys but not the per-minute budget: one request
// per interval is noise. allRejected is set when no key can ever be used.
func (p *keyPool) probeKey(now time.Time) (key int, ok, allRejected bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	allRejected = true
	for i := range p.keys {
		k := (p.probeNext + i) % len(p.keys)
		st := &p.keys[k]
		if st.rejected(now) {
			continue
		}
		allRejected = false
		if now.Before(st.cooldownUntil) {
			continue
		}
		p.probeNext = k + 1
		return k, true, false
	}
	return 0, false, allRejected
}
