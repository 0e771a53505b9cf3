package routing

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
)

// Prefixes of the names under which keys are shared: a 429's cooldown and a
// rejection are separate facts (a rejection reports key_rejected and no
// Retry-After), so they never share a name.
const (
	cooldownPrefix = "provider-key:"
	rejectedPrefix = "provider-key-rejected:"
)

// syncSharedDue is syncShared for a request: it reads the shared store only
// when SharedSyncEvery has passed since the last read for this provider,
// and then for one request alone (the others go on with what is known).
func (r *Router) syncSharedDue(ctx context.Context, name domain.Provider, p *provider) {
	if r.cfg.SharedCooldowns == nil {
		return
	}
	now := r.clock.Now().UnixNano()
	next := p.nextSync.Load()
	if now < next || !p.nextSync.CompareAndSwap(next, now+int64(r.cfg.SharedSyncEvery)) {
		return
	}
	r.syncShared(ctx, name, p)
}

// syncShared applies the cooldowns and rejections other instances set on
// the provider's keys.
func (r *Router) syncShared(ctx context.Context, name domain.Provider, p *provider) {
	if r.cfg.SharedCooldowns == nil {
		return
	}
	n := len(p.sharedNames) / 2
	until, err := r.cfg.SharedCooldowns.Until(ctx, p.sharedNames)
	if err != nil {
		// The shared store is down: this instance's own cooldowns still apply.
		r.log.Debug("read shared key cooldowns", "provider", name, "error", err)
		return
	}
	for i, u := range until {
		switch {
		case u.IsZero():
		case i < n:
			p.keys.cooldown(i, u)
		default:
			p.keys.reject(i-n, u)
		}
	}
}

// shareCooldown tells other instances about a key's cooldown.
func (r *Router) shareCooldown(ctx context.Context, name domain.Provider, key int, until time.Time) {
	r.share(ctx, name, key, cooldownPrefix, until)
}

// reject keeps a refused key out of rotation for the cool-off, here and,
// through the shared store, on every instance.
func (r *Router) reject(ctx context.Context, name domain.Provider, p *provider, key int) {
	until := r.clock.Now().Add(r.cfg.KeyRejectCoolOff)
	p.keys.reject(key, until)
	r.share(ctx, name, key, rejectedPrefix, until)
}

// rejectProbed is reject for a key a probe found refused; it reports
// whether the key and every other key had been refused before (see
// keyPool.rejectAgain).
func (r *Router) rejectProbed(ctx context.Context, name domain.Provider, p *provider, key int) (refusedAgain bool) {
	until := r.clock.Now().Add(r.cfg.KeyRejectCoolOff)
	refusedAgain = p.keys.rejectAgain(key, until)
	r.share(ctx, name, key, rejectedPrefix, until)
	return refusedAgain
}

func (r *Router) share(ctx context.Context, name domain.Provider, key int, prefix string, until time.Time) {
	if r.cfg.SharedCooldowns == nil {
		return
	}
	if err := r.cfg.SharedCooldowns.Extend(context.WithoutCancel(ctx), prefix+r.keyName(name, key), until); err != nil {
		r.log.Debug("share key state", "provider", name, "key_index", key, "name", prefix, "error", err)
	}
}

// takeShared counts a request on the key's budget shared by all instances;
// when it is spent the key cools down here until the budget frees a slot.
// An unreachable store admits the request: the local budget still holds.
func (r *Router) takeShared(ctx context.Context, name domain.Provider, p *provider, key int) bool {
	if r.cfg.SharedBudget == nil || p.keys.rpm <= 0 {
		return true
	}
	d, err := r.cfg.SharedBudget.Allow(ctx, cooldownPrefix+r.keyName(name, key), domain.Rate{Limit: p.keys.rpm, Period: rpmWindow})
	if err != nil {
		r.log.Debug("shared key budget", "provider", name, "key_index", key, "error", err)
		return true
	}
	if !d.Allowed {
		p.keys.cooldown(key, r.clock.Now().Add(d.RetryAfter))
		return false
	}
	return true
}
