package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

func TestAccountFeedContract(t *testing.T) {
	portstest.RunAccountFeed(t, func(t *testing.T) portstest.Feed {
		url := pgtest.NewURL(t)
		ctx := context.Background()
		a, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: pgtest.MaxConns})
		require.NoError(t, err)
		t.Cleanup(a.Close)
		b, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: pgtest.MaxConns})
		require.NoError(t, err)
		t.Cleanup(b.Close)
		logger := slog.New(slog.DiscardHandler)
		// Ping quickly, so that the suite also runs across silent spells.
		la := a.NewListener(postgres.ListenerConfig{PingAfter: 50 * time.Millisecond}, logger)
		t.Cleanup(la.Close)
		lb := b.NewListener(postgres.ListenerConfig{}, logger)
		t.Cleanup(lb.Close)
		return portstest.Feed{A: la, B: lb, AccountStores: portstest.AccountStores{Users: a, Keys: a, Admin: a, Changes: a},
			Break: func(t *testing.T) { terminateListeners(t, url) }}
	})
}

// terminateListeners ends the listener connections on url's database, as
// a server restart or a failover would, and waits until they are gone.
func terminateListeners(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
		WHERE application_name = 'genzai-listener' AND datname = current_database()`).Scan(&n))
	require.Positive(t, n, "a listener was connected")
}

func TestListenerCloseWithoutSubscribe(t *testing.T) {
	db := open(t)
	l := db.NewListener(postgres.ListenerConfig{}, slog.New(slog.DiscardHandler))
	l.Close()
	l.Close()
	var n portstest.Notices
	l.Subscribe(&n) // after Close: does nothing, so nothing leaks
	require.Empty(t, n.Live())
}

// TestListenerChangeByHand: an operator who changes accounts in psql says
// so with NOTIFY genzai_accounts, '*', and the subscriber hears that any
// account may have changed.
func TestListenerChangeByHand(t *testing.T) {
	url := pgtest.NewURL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: pgtest.MaxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	l := db.NewListener(postgres.ListenerConfig{}, slog.New(slog.DiscardHandler))
	t.Cleanup(l.Close)
	var n portstest.Notices
	l.Subscribe(&n)
	require.NoError(t, l.Sync(ctx))
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "UPDATE users SET disabled = true")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "NOTIFY genzai_accounts, '*'")
	require.NoError(t, err)
	require.NoError(t, l.Sync(ctx))
	assert.Equal(t, []domain.UserID{""}, n.Take())
}
