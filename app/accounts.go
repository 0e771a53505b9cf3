package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/accounts"
)

// cacheAccounts serves accounts and API keys from memory on PostgreSQL
// (domain/accounts), so that authenticating a request costs no database
// round trip: from here on db's lookups read through the cache, and its
// writes to an account forget the account at once. A listener (one more
// connection per instance, pushed on cl) tells the cache of every change
// committed anywhere, by any instance or process; entries live 30 s, and
// 1 s while the listener reconnects. SQLite keeps reading the file: a read
// there is no round trip, and operator commands write it from other
// processes, which no notice reaches.
func cacheAccounts(db *Database, obs *observability, logger *slog.Logger, cl *closers) {
	pg, ok := db.store.(*postgres.DB)
	if !ok {
		return
	}
	// Entries age in real time, whatever clock the use cases are given.
	cache := accounts.New(db.store, clock.System{}, accounts.Config{})
	l := pg.NewListener(postgres.ListenerConfig{}, logger)
	l.Subscribe(cache)
	cl.push(func(context.Context) { l.Close() })
	db.feed = l
	db.store = cachedStore{store: db.store, cache: cache}
	obs.watchAccounts(cache)
}

// cachedStore is a store whose account and API key lookups go through an
// accounts.Cache, and whose writes to an account forget it there as soon
// as they return (other instances hear of them from the feed). Every
// method of the store ports that changes an account or its keys is here;
// a failed write forgets too, since it may have committed.
type cachedStore struct {
	store
	cache *accounts.Cache
}

var _ store = cachedStore{}

// UserByID implements ports.UserStore from the cache.
func (s cachedStore) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	return s.cache.UserByID(ctx, id)
}

// APIKeyOwner implements ports.APIKeyStore from the cache.
func (s cachedStore) APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	return s.cache.APIKeyOwner(ctx, hash)
}

// TouchAPIKey implements ports.APIKeyStore, stamping the cached key too.
func (s cachedStore) TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error {
	return s.cache.TouchAPIKey(ctx, id, at)
}

// RevokeAPIKeys implements ports.UserStore.
func (s cachedStore) RevokeAPIKeys(ctx context.Context, id domain.UserID) error {
	defer s.cache.Forget(id)
	return s.store.RevokeAPIKeys(ctx, id)
}

// RecordLogin implements ports.UserStore.
func (s cachedStore) RecordLogin(ctx context.Context, id domain.UserID, at time.Time) (domain.User, error) {
	defer s.cache.Forget(id)
	return s.store.RecordLogin(ctx, id, at)
}

// MarkEmailVerified implements ports.UserStore.
func (s cachedStore) MarkEmailVerified(ctx context.Context, id domain.UserID, at time.Time, promote bool) (domain.User, error) {
	defer s.cache.Forget(id)
	return s.store.MarkEmailVerified(ctx, id, at, promote)
}

// SetPassword implements ports.UserStore.
func (s cachedStore) SetPassword(ctx context.Context, id domain.UserID, hash string, at time.Time) (domain.User, error) {
	defer s.cache.Forget(id)
	return s.store.SetPassword(ctx, id, hash, at)
}

// RevokeTokens implements ports.UserStore.
func (s cachedStore) RevokeTokens(ctx context.Context, id domain.UserID, at time.Time) error {
	defer s.cache.Forget(id)
	return s.store.RevokeTokens(ctx, id, at)
}

// DeleteUser implements ports.UserStore.
func (s cachedStore) DeleteUser(ctx context.Context, id domain.UserID) error {
	defer s.cache.Forget(id)
	return s.store.DeleteUser(ctx, id)
}

// DeleteAPIKey implements ports.APIKeyStore.
func (s cachedStore) DeleteAPIKey(ctx context.Context, user domain.UserID, id domain.APIKeyID) error {
	defer s.cache.Forget(user)
	return s.store.DeleteAPIKey(ctx, user, id)
}

// UpdateUser implements ports.AdminStore.
func (s cachedStore) UpdateUser(ctx context.Context, id domain.UserID, p domain.UserPatch) (domain.User, error) {
	defer s.cache.Forget(id)
	return s.store.UpdateUser(ctx, id, p)
}

// ConfirmPendingChange implements ports.ChangeStore. A refused
// confirmation changed nothing; one whose answer was lost on the way is
// announced by the feed.
func (s cachedStore) ConfirmPendingChange(ctx context.Context, id domain.PendingChangeID, confirmer domain.UserID, at time.Time) (domain.PendingChange, domain.User, error) {
	c, u, err := s.store.ConfirmPendingChange(ctx, id, confirmer, at)
	if u.ID != "" {
		s.cache.Forget(u.ID)
	}
	return c, u, err
}

// SyncAccounts returns once every change to accounts committed before the
// call has reached this instance's cache: at once on SQLite, which has
// none. CodeUnavailable when the listener cannot listen before ctx ends.
func (d *Database) SyncAccounts(ctx context.Context) error {
	if d.feed == nil {
		return nil
	}
	return d.feed.Sync(ctx)
}
