package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

func TestConversationStoreContract(t *testing.T) {
	portstest.RunConversationStore(t, func(t *testing.T) portstest.Conversations {
		db := open(t)
		return portstest.Conversations{Users: db, Store: db}
	})
}

// TestConversationTurnAcrossInstances: two instances (two pools on one
// database) racing for one conversation's turn: exactly one wins.
func TestConversationTurnAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	var dbs []*postgres.DB
	for range 2 {
		db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(db.Close)
		dbs = append(dbs, db)
	}
	u, err := dbs[0].CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
	require.NoError(t, err)
	c, err := dbs[0].CreateConversation(ctx, domain.NewConversation{UserID: u.ID, CreatedAt: time.Now()}, 10)
	require.NoError(t, err)

	now := time.Now()
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := dbs[i%2].BeginTurn(ctx, u.ID, c.ID, fmt.Sprintf("lease-%d", i), now, now.Add(time.Minute))
			var busy *domain.ConversationBusyError
			if err == nil {
				won.Add(1)
			} else {
				assert.ErrorAs(t, err, &busy)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
}

// TestConversationPurgeOneAtATime: a purge that finds another holding the
// purge lock deletes nothing and returns 0; once the lock is free it
// purges.
func TestConversationPurgeOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
	require.NoError(t, err)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = db.CreateConversation(ctx, domain.NewConversation{UserID: u.ID, CreatedAt: old}, 10)
	require.NoError(t, err)

	other, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer other.Close(ctx)
	_, err = other.Exec(ctx, "SELECT pg_advisory_lock(hashtext('genzai-conversation-purge'))")
	require.NoError(t, err)
	n, err := db.PurgeIdleConversations(ctx, old.Add(time.Hour), old.Add(time.Hour), 100)
	require.NoError(t, err)
	assert.Zero(t, n, "another instance is purging")
	count, err := db.CountConversations(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, count)

	_, err = other.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('genzai-conversation-purge'))")
	require.NoError(t, err)
	n, err = db.PurgeIdleConversations(ctx, old.Add(time.Hour), old.Add(time.Hour), 100)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

// TestConversationCreationLockLetsRequestLogIn: the owner lock a creation
// takes (LockUserForConversations) does not block rows that reference the
// user, such as request log inserts, whose foreign key checks take
// FOR KEY SHARE on the user's row.
func TestConversationCreationLockLetsRequestLogIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
	require.NoError(t, err)

	holder, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = sqlcgen.New(tx).LockUserForConversations(ctx, uuid.MustParse(string(u.ID)))
	require.NoError(t, err)

	writer, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer writer.Close(ctx)
	_, err = writer.Exec(ctx, "SET lock_timeout = '5s'")
	require.NoError(t, err)
	_, err = writer.Exec(ctx, `INSERT INTO request_log (user_id, tier, outcome, stream, latency_ms, created_at)
		VALUES ($1, 'fast', 'success', false, 1, now())`, string(u.ID))
	require.NoError(t, err, "the request log insert waited for the creation lock")
}
