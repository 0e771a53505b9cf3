package app

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/accounts"
	"github.com/genzai/genzai/ports/portstest"
)

// countingStore counts the account lookups that reach the store.
type countingStore struct {
	store
	mu      sync.Mutex
	lookups int
}

func (s *countingStore) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	return s.store.UserByID(ctx, id)
}

func (s *countingStore) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// TestCachedStoreForgetsOnEveryWrite: every store method that changes an
// account or its keys, called through the cached store, forgets the
// account on this instance at once, without waiting for its notice (the
// entries here would otherwise live an hour), on each engine (the gateway
// caches on PostgreSQL only; SQLite keeps the rule honest for any store).
func TestCachedStoreForgetsOnEveryWrite(t *testing.T) {
	t.Parallel()
	for _, e := range []struct {
		name string
		open func(t *testing.T) store
	}{
		{"sqlite", func(t *testing.T) store {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "genzai.db"), sqlite.Config{})
			require.NoError(t, err)
			t.Cleanup(db.Close)
			m, err := db.NewMigrator(nil)
			require.NoError(t, err)
			_, err = m.Up(ctx)
			require.NoError(t, err)
			require.NoError(t, m.Close())
			return db
		}},
		{"postgres", func(t *testing.T) store {
			db, err := postgres.Open(context.Background(), pgtest.NewURL(t), postgres.PoolConfig{MaxConns: pgtest.MaxConns})
			require.NoError(t, err)
			t.Cleanup(db.Close)
			return db
		}},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			testCachedStoreForgets(t, e.open(t))
		})
	}
}

func testCachedStoreForgets(t *testing.T, db store) {
	ctx := context.Background()
	inner := &countingStore{store: db}
	cache := accounts.New(inner, clock.System{}, accounts.Config{TTL: time.Hour, UnheardTTL: time.Hour})
	cache.NoticesLive(true)
	s := cachedStore{store: inner, cache: cache}
	stores := portstest.AccountStores{Users: s, Keys: s, Admin: s, Changes: s}
	for i, w := range portstest.AccountWrites {
		t.Run(w.Name, func(t *testing.T) {
			u, err := s.CreateUser(ctx, domain.NewUser{Email: fmt.Sprintf("w%d@example.com", i), PasswordHash: "x"})
			require.NoError(t, err)
			for range 2 {
				_, err = s.UserByID(ctx, u.ID)
				require.NoError(t, err)
			}
			before := inner.Lookups()
			w.Write(t, stores, u)
			_, err = s.UserByID(ctx, u.ID)
			if w.Name == portstest.AccountDeletion.Name {
				require.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "err: %v", err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, before+1, inner.Lookups(), "the write forgot the account")
		})
	}
}
