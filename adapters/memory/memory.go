// Package memory implements ports in memory, keeping nothing across
// restarts. Store (users, quotas, API keys, the audit log) and Clock serve
// unit tests and the contract suites only. The rate limiter, login guard,
// concurrency limiter and cooldown store also run in production: they are
// what a single instance (no REDIS_URL) uses, and the fallback while Redis
// is unreachable.
package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.UserStore  = (*Store)(nil)
	_ ports.QuotaStore = (*Store)(nil)
	_ ports.Clock      = (*Clock)(nil)
)

type quotaKey struct {
	user domain.UserID
	day  time.Time
}

// Store is an in-memory UserStore, QuotaStore, APIKeyStore and AuditLog,
// safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	users map[domain.UserID]domain.User
	// byEmail maps email keys (domain.EmailKey) to accounts.
	byEmail map[string]domain.UserID
	quota   map[quotaKey]int
	now     func() time.Time
	// keys are the personal API keys, in creation order.
	keys  []apiKey
	audit []domain.AuditEntry
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		users:   map[domain.UserID]domain.User{},
		byEmail: map[string]domain.UserID{},
		quota:   map[quotaKey]int{},
		now:     time.Now,
	}
}

// CreateUser implements ports.UserStore.
func (s *Store) CreateUser(_ context.Context, nu domain.NewUser) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byEmail[domain.EmailKey(nu.Email)]; ok {
		return domain.User{}, domain.Errorf(domain.CodeConflict, "An account with this email already exists")
	}
	u := domain.User{
		ID:           domain.UserID(newUUID()),
		Email:        nu.Email,
		PasswordHash: nu.PasswordHash,
		IsAdmin:      nu.IsAdmin,
		CreatedAt:    s.now().UTC(),
	}
	s.users[u.ID] = u
	s.byEmail[domain.EmailKey(u.Email)] = u.ID
	return u, nil
}

// PutUser stores u as given, id and state included, replacing the account
// with its id: for tests that arrange an account the UserStore methods do
// not make directly (a fixed id, a disabled account).
func (s *Store) PutUser(u domain.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.users[u.ID]; ok {
		delete(s.byEmail, domain.EmailKey(old.Email))
	}
	s.users[u.ID] = u
	s.byEmail[domain.EmailKey(u.Email)] = u.ID
}

// UserByID implements ports.UserStore.
func (s *Store) UserByID(_ context.Context, id domain.UserID) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "user not found")
	}
	return u, nil
}

// UserByEmail implements ports.UserStore.
func (s *Store) UserByEmail(_ context.Context, email string) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byEmail[domain.EmailKey(email)]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "user not found")
	}
	return s.users[id], nil
}

// RevokeAPIKeys implements ports.UserStore.
func (s *Store) RevokeAPIKeys(_ context.Context, id domain.UserID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(k apiKey) bool { return k.UserID == id })
	return nil
}

// DeleteUser implements ports.UserStore: the account, its keys and its
// quota counts (the memory store keeps nothing else of it); its audit
// entries lose its email.
func (s *Store) DeleteUser(_ context.Context, id domain.UserID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "user not found")
	}
	delete(s.users, id)
	delete(s.byEmail, domain.EmailKey(u.Email))
	for i := range s.audit {
		if s.audit[i].ActorID == id {
			s.audit[i].Actor = domain.DeletedAccount
		}
		if s.audit[i].TargetID == id {
			s.audit[i].Target = domain.DeletedAccount
		}
	}
	s.keys = slices.DeleteFunc(s.keys, func(k apiKey) bool { return k.UserID == id })
	for k := range s.quota {
		if k.user == id {
			delete(s.quota, k)
		}
	}
	return nil
}

// RecordLogin implements ports.UserStore.
func (s *Store) RecordLogin(_ context.Context, id domain.UserID, at time.Time) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "user not found")
	}
	at = at.UTC()
	u.LastLoginAt = &at
	s.users[id] = u
	return u, nil
}

// MarkEmailVerified implements ports.UserStore.
func (s *Store) MarkEmailVerified(_ context.Context, id domain.UserID, at time.Time, promote bool) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "user not found")
	}
	if u.EmailVerifiedAt == nil {
		at = at.UTC()
		u.EmailVerifiedAt = &at
		u.IsAdmin = u.IsAdmin || promote
	}
	s.users[id] = u
	return u, nil
}

// SetPassword implements ports.UserStore.
func (s *Store) SetPassword(_ context.Context, id domain.UserID, hash string, at time.Time) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "user not found")
	}
	u.PasswordHash = hash
	revoke(&u, at)
	s.users[id] = u
	return u, nil
}

// RevokeTokens implements ports.UserStore.
func (s *Store) RevokeTokens(_ context.Context, id domain.UserID, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "user not found")
	}
	revoke(&u, at)
	s.users[id] = u
	return nil
}

// revoke moves u's TokensValidAfter to at, never backwards, at the
// microsecond precision the database stores keep.
func revoke(u *domain.User, at time.Time) {
	at = at.UTC().Truncate(time.Microsecond)
	if u.TokensValidAfter == nil || at.After(*u.TokensValidAfter) {
		u.TokensValidAfter = &at
	}
}

// UpdateUser changes a stored user in place; tests use it to disable
// accounts or set limits.
func (s *Store) UpdateUser(id domain.UserID, change func(*domain.User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "user not found")
	}
	change(&u)
	s.users[id] = u
	return nil
}

// ConsumeQuota implements ports.QuotaStore.
func (s *Store) ConsumeQuota(_ context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := quotaKey{id, day.UTC()}
	used := s.quota[k]
	if used+units > limit {
		return used, false, nil
	}
	s.quota[k] = used + units
	return used + units, true, nil
}

// RefundQuota implements ports.QuotaStore.
func (s *Store) RefundQuota(_ context.Context, id domain.UserID, day time.Time, units int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := quotaKey{id, day.UTC()}
	s.quota[k] = max(s.quota[k]-units, 0)
	return nil
}

// QuotaUsed implements ports.QuotaStore.
func (s *Store) QuotaUsed(_ context.Context, id domain.UserID, day time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quota[quotaKey{id, day.UTC()}], nil
}

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newUUID returns a random (version 4) UUID in text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
