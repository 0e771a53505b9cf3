package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/quota"
)

// TestQuotaConcurrentAcrossHandles runs 300 concurrent Consume calls for one
// user with a limit of 50 through three *DB on one file, as three gateway
// processes would: exactly 50 succeed, every refusal reports the full count,
// and the file says 50.
func TestQuotaConcurrentAcrossHandles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	clock := memory.NewClock(time.Now())
	const handles, limit, callers = 3, 50, 300
	dbs := make([]*sqlite.DB, handles)
	services := make([]*quota.Service, handles)
	for i := range dbs {
		dbs[i] = openAt(t, path, 8)
		services[i] = quota.New(dbs[i], clock, limit)
	}
	migrate(t, dbs[0])
	u, err := dbs[0].CreateUser(ctx, domain.NewUser{Email: "load@example.com"})
	require.NoError(t, err)

	var granted, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			_, err := services[i%handles].Consume(ctx, u)
			var qe *domain.QuotaExceededError
			switch {
			case err == nil:
				granted.Add(1)
			case errors.As(err, &qe):
				refused.Add(1)
				assert.Equal(t, limit, qe.Limit)
				assert.Equal(t, limit, qe.Used)
			default:
				t.Errorf("consume: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(limit), granted.Load())
	assert.Equal(t, int32(callers-limit), refused.Load())
	for _, db := range dbs {
		used, err := db.QuotaUsed(ctx, u.ID, domain.QuotaDay(clock.Now()))
		require.NoError(t, err)
		assert.Equal(t, limit, used)
	}
}

// TestQuotaConsumeRefundRace consumes and refunds at once from two handles:
// the count never goes below zero nor past the limit, and ends where the
// granted consumes and effective refunds put it.
func TestQuotaConsumeRefundRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	a, b := openAt(t, path, 4), openAt(t, path, 4)
	migrate(t, a)
	id := newUser(t, a, "race@example.com")
	day := domain.QuotaDay(at)
	const limit = 10
	var wg sync.WaitGroup
	var granted atomic.Int32
	for i := range 100 {
		db := []*sqlite.DB{a, b}[i%2]
		wg.Go(func() {
			if i%3 == 0 {
				assert.NoError(t, db.RefundQuota(ctx, id, day, 1))
				return
			}
			used, ok, err := db.ConsumeQuota(ctx, id, day, limit, 1)
			if assert.NoError(t, err) {
				assert.LessOrEqual(t, used, limit)
				assert.GreaterOrEqual(t, used, 0)
				if ok {
					granted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	used, err := a.QuotaUsed(ctx, id, day)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, used, 0)
	assert.LessOrEqual(t, used, limit)
	assert.LessOrEqual(t, used, int(granted.Load()))
}

// TestQuotaStoredByUTCDay checks the day key: the UTC date of the day given.
func TestQuotaStoredByUTCDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t)
	id := newUser(t, db, "day@example.com")
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	_, ok, err := db.ConsumeQuota(ctx, id, day.In(time.FixedZone("UTC-5", -5*3600)), 5, 1)
	require.NoError(t, err)
	require.True(t, ok)
	used, err := db.QuotaUsed(ctx, id, day)
	require.NoError(t, err)
	assert.Equal(t, 1, used, "the same instant in another zone is the same day")
}

// TestUnavailableDatabase checks that a database that cannot be used
// surfaces as CodeUnavailable (503), not as an internal error.
func TestUnavailableDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		u, err := db.CreateUser(ctx, domain.NewUser{Email: "x@example.com"})
		require.NoError(t, err)
		db.Close()
		_, err = db.UserByID(ctx, u.ID)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
		_, _, err = db.ConsumeQuota(ctx, u.ID, at, 1, 1)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(db.Ping(ctx)))
	})

	t.Run("locked past the busy timeout", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("waits out the 5 s busy timeout")
		}
		path := newPath(t)
		db := openAt(t, path, 2)
		migrate(t, db)
		u := newUser(t, db, "locked@example.com")
		blocker, err := rawConn(t, path).Conn(ctx)
		require.NoError(t, err)
		defer blocker.Close()
		_, err = blocker.ExecContext(ctx, "BEGIN IMMEDIATE")
		require.NoError(t, err)
		defer blocker.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
		_, _, err = db.ConsumeQuota(ctx, u, at, 1, 1)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
	})

	t.Run("cannot open the file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := sqlite.Open(ctx, dir, sqlite.Config{}) // a directory, not a file
		require.Error(t, err)
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		if os.Geteuid() != 0 { // root writes anywhere
			_, err = sqlite.Open(ctx, filepath.Join(ro, "x.db"), sqlite.Config{})
			require.Error(t, err)
		}
	})
}
