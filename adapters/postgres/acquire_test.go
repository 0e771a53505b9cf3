package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// limitedDB is a fresh database with one user, and a pool of maxConns
// connections on it as a role the server admits only limit times at once.
func limitedDB(t *testing.T, limit int, maxConns int32) (*postgres.DB, domain.UserID) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	owner, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 1})
	require.NoError(t, err)
	u, err := owner.CreateUser(ctx, domain.NewUser{Email: "burst@example.com"})
	owner.Close()
	require.NoError(t, err)

	db, err := postgres.Open(ctx, pgtest.NewLimitedRole(t, url, limit), postgres.PoolConfig{MaxConns: maxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db, u.ID
}

// TestRefusedConnectionWaitsForAPooledOne runs many more statements at once
// than the server admits connections: each one the server refuses (53300)
// waits for a connection another statement gives back, and none fails.
func TestRefusedConnectionWaitsForAPooledOne(t *testing.T) {
	t.Parallel()
	const limit = 3
	db, user := limitedDB(t, limit, pgtest.MaxConns-1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	statements := []struct {
		name string
		run  func(context.Context) error
	}{
		// pg_sleep keeps connections busy so that the pool asks for more.
		{"exec", func(ctx context.Context) error { return db.Exec(ctx, "SELECT pg_sleep(0.02)") }},
		{"query row", func(ctx context.Context) error { _, err := db.UserByID(ctx, user); return err }},
		{"ping", db.Ping},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		s := statements[i%len(statements)]
		wg.Go(func() {
			if err := s.run(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	// The burst did reach the limit: otherwise this test proves nothing.
	assert.Positive(t, db.Refused(), "no connection was refused")
}

// TestRefusedConnectionGivesUpWithTheRequest holds the only connection the
// server admits: a statement waits for it until its context ends (or, with
// no deadline, until the longest wait), then fails as unavailable rather
// than hanging; once the connection is given back, statements run again.
func TestRefusedConnectionGivesUpWithTheRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration // 0: no deadline
		maxWait time.Duration
	}{
		{name: "the request's deadline", timeout: 200 * time.Millisecond, maxWait: time.Minute},
		{name: "no deadline", maxWait: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, user := limitedDB(t, 1, 3)
			db.SetMaxWait(tc.maxWait)
			release, err := db.Hold(context.Background())
			require.NoError(t, err)

			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err = db.UserByID(ctx, user)
			require.Error(t, err)
			assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Positive(t, db.Refused())

			release()
			_, err = db.UserByID(context.Background(), user)
			assert.NoError(t, err)
		})
	}
}

// TestOverflowConnectionsCloseWhenIdle opens the pool's overflow in a
// burst: once idle for MaxConnIdleTime the server has them back, and the
// pool keeps its MinConns.
func TestOverflowConnectionsCloseWhenIdle(t *testing.T) {
	t.Parallel()
	const (
		minConns = 2
		maxConns = pgtest.MaxConns - 2 // one for the observer below
		name     = "genzai idle-test"
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{
		MinConns: minConns, MaxConns: maxConns, MaxConnIdleTime: 100 * time.Millisecond, ApplicationName: name,
	})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	observer, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = observer.Close(context.Background()) })
	// connected counts the pool's connections as the server sees them
	// (-1 when it cannot tell); Eventually calls it from its own goroutine.
	connected := func() int {
		n := -1
		err := observer.QueryRow(ctx,
			"SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", name).Scan(&n)
		if err != nil {
			return -1
		}
		return n
	}

	var releases []func()
	for range maxConns {
		release, err := db.Hold(ctx)
		require.NoError(t, err)
		releases = append(releases, release)
	}
	require.Equal(t, maxConns, connected(), "the burst opened the whole pool")
	for _, release := range releases {
		release()
	}

	require.Eventually(t, func() bool { return connected() == minConns }, 30*time.Second, 20*time.Millisecond,
		"idle overflow connections stay open")
	assert.EqualValues(t, minConns, db.Stat().TotalConns())
}
