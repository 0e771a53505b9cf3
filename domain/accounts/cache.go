// Package accounts keeps accounts and API keys in process for the requests
// that authenticate with them, so that a request costs no database round
// trip, and forgets each entry as soon as a notice says it changed.
//
// Entries are served for Config.TTL while notices flow (ports.AccountFeed
// says so), and for Config.UnheardTTL while they may be lost (no feed, or
// the feed is reconnecting): a change that no notice announces still takes
// effect within UnheardTTL. When the feed comes back every entry is
// dropped, since notices may have been missed meanwhile. Misses are never
// kept: a key created on another instance works at once.
package accounts

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Store is what the cache reads through: the lookups of ports.UserStore
// and ports.APIKeyStore that authentication makes.
type Store interface {
	// UserByID as in ports.UserStore.
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	// APIKeyOwner and TouchAPIKey as in ports.APIKeyStore.
	APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error)
	TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error
}

// Config bounds how long entries are served.
type Config struct {
	// TTL bounds an entry's life while notices flow; 30 s when zero.
	TTL time.Duration
	// UnheardTTL bounds it while notices may be lost; 1 s when zero.
	UnheardTTL time.Duration
	// MaxEntries bounds how many accounts and keys are kept; 100 000 when
	// zero.
	MaxEntries int
}

// Default bounds (see Config).
const (
	DefaultTTL        = 30 * time.Second
	DefaultUnheardTTL = time.Second
	DefaultMaxEntries = 100_000
)

// Stats counts lookups served from the cache (Hits) and from the store
// (Misses), since the cache was made.
type Stats struct {
	Hits, Misses uint64
}

type userEntry struct {
	user domain.User
	at   time.Time
}

type keyEntry struct {
	key  domain.APIKey
	user domain.User
	at   time.Time
}

// Cache serves UserByID and APIKeyOwner from memory and implements
// ports.AccountNotices. It is safe for concurrent use.
type Cache struct {
	store Store
	clock ports.Clock
	cfg   Config

	mu   sync.Mutex
	live bool
	// gen grows with every forgetting: a lookup that began before one
	// does not keep what it read, which may predate the change.
	gen   uint64
	users map[domain.UserID]userEntry
	keys  map[string]keyEntry
	// owned indexes keys by owner, so that a notice about an account
	// forgets its keys too; byID indexes them by id, for TouchAPIKey.
	owned map[domain.UserID]map[string]struct{}
	byID  map[domain.APIKeyID]string

	hits, misses atomic.Uint64
}

var _ ports.AccountNotices = (*Cache)(nil)

// New returns an empty cache over store; clock should be the wall clock
// (entries age in real time). It serves entries for cfg.UnheardTTL until
// a feed says notices flow.
func New(store Store, clock ports.Clock, cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.UnheardTTL <= 0 {
		cfg.UnheardTTL = DefaultUnheardTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	c := &Cache{store: store, clock: clock, cfg: cfg}
	c.reset()
	return c
}

// reset drops every entry; the caller holds mu (or owns c alone).
func (c *Cache) reset() {
	c.gen++
	c.users = map[domain.UserID]userEntry{}
	c.keys = map[string]keyEntry{}
	c.owned = map[domain.UserID]map[string]struct{}{}
	c.byID = map[domain.APIKeyID]string{}
}

// fresh reports whether an entry stored at at may still be served.
func (c *Cache) fresh(at, now time.Time) bool {
	ttl := c.cfg.UnheardTTL
	if c.live {
		ttl = c.cfg.TTL
	}
	age := now.Sub(at)
	return age >= 0 && age < ttl
}

// UserByID returns the account as ports.UserStore does, from memory when
// a fresh entry holds it.
func (c *Cache) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.users[id]
	if ok && c.fresh(e.at, now) {
		c.mu.Unlock()
		c.hits.Add(1)
		return e.user, nil
	}
	gen := c.gen
	c.mu.Unlock()
	c.misses.Add(1)
	u, err := c.store.UserByID(ctx, id)
	if err != nil {
		return u, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.makeRoom(now)
		c.users[id] = userEntry{user: u, at: now}
	}
	return u, nil
}

// APIKeyOwner returns the key and its owner as ports.APIKeyStore does, from
// memory when a fresh entry holds them.
func (c *Cache) APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.keys[string(hash)]
	if ok && c.fresh(e.at, now) {
		c.mu.Unlock()
		c.hits.Add(1)
		return e.key, e.user, nil
	}
	gen := c.gen
	c.mu.Unlock()
	c.misses.Add(1)
	k, u, err := c.store.APIKeyOwner(ctx, hash)
	if err != nil {
		return k, u, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.makeRoom(now)
		c.keys[string(hash)] = keyEntry{key: k, user: u, at: now}
		if c.owned[u.ID] == nil {
			c.owned[u.ID] = map[string]struct{}{}
		}
		c.owned[u.ID][string(hash)] = struct{}{}
		c.byID[k.ID] = string(hash)
	}
	return k, u, nil
}

// TouchAPIKey stamps the key's last use in the store and in the entry that
// holds it, which no notice updates (last use is not a change that matters
// to authentication, and announcing it would empty the cache every minute).
func (c *Cache) TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error {
	if err := c.store.TouchAPIKey(ctx, id, at); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hash, ok := c.byID[id]
	if e, held := c.keys[hash]; ok && held && (e.key.LastUsedAt == nil || at.After(*e.key.LastUsedAt)) {
		t := at
		e.key.LastUsedAt = &t
		c.keys[hash] = e
	}
	return nil
}

// makeRoom drops stale entries when the cache is full, and everything when
// that is not enough; the caller holds mu.
func (c *Cache) makeRoom(now time.Time) {
	if len(c.users)+len(c.keys) < c.cfg.MaxEntries {
		return
	}
	for id, e := range c.users {
		if !c.fresh(e.at, now) {
			delete(c.users, id)
		}
	}
	for hash, e := range c.keys {
		if !c.fresh(e.at, now) {
			c.dropKey(hash, e)
		}
	}
	if len(c.users)+len(c.keys) >= c.cfg.MaxEntries {
		c.reset()
	}
}

// dropKey forgets one key entry; the caller holds mu.
func (c *Cache) dropKey(hash string, e keyEntry) {
	delete(c.keys, hash)
	delete(c.byID, e.key.ID)
	if set := c.owned[e.user.ID]; set != nil {
		delete(set, hash)
		if len(set) == 0 {
			delete(c.owned, e.user.ID)
		}
	}
}

// Forget drops the account id and its keys, as a notice does, and every
// entry when id is empty; this instance's own writes call it, so that they
// take effect here without waiting for their notice.
func (c *Cache) Forget(id domain.UserID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == "" {
		c.reset()
		return
	}
	c.gen++
	delete(c.users, id)
	for hash := range c.owned[id] {
		delete(c.byID, c.keys[hash].key.ID)
		delete(c.keys, hash)
	}
	delete(c.owned, id)
}

// AccountChanged implements ports.AccountNotices: it forgets the account
// (every account when id is empty).
func (c *Cache) AccountChanged(id domain.UserID) { c.Forget(id) }

// NoticesLive implements ports.AccountNotices: while notices flow entries
// live for TTL, else for UnheardTTL; notices may have been missed before
// they flow again, so the cache starts empty then.
func (c *Cache) NoticesLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if live {
		c.reset()
	}
	c.live = live
}

// Live reports whether the cache serves entries for TTL (notices flow)
// rather than UnheardTTL.
func (c *Cache) Live() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// Stats returns the hit and miss counts.
func (c *Cache) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}
