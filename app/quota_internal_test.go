package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// TestCountQuotasInProcessOnSQLite: an SQLite file serves one instance,
// so its quotas are counted in process and written to the file behind,
// at the latest when the app closes.
func TestCountQuotasInProcessOnSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "genzai.db"), sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(file.Close)
	db := &Database{store: file, Engine: EngineSQLite}
	require.NoError(t, migrateUp(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil))))
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
	require.NoError(t, err)

	var cl closers
	countQuotas(db, Config{QuotaCounting: QuotaCountingAuto}, limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)), &cl)
	require.IsType(t, &quotacount.Local{}, db.counter)
	day := domain.QuotaDay(time.Now())
	for range 2 {
		_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2, 1)
		require.NoError(t, err)
		require.True(t, ok)
	}
	_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2, 1)
	require.NoError(t, err)
	assert.False(t, ok)

	cl.unwind(ctx)
	used, err := file.QuotaUsed(ctx, u.ID, day)
	require.NoError(t, err)
	assert.Equal(t, 2, used, "written to the file when the app closes")
}

// TestCountQuotasChoice: on PostgreSQL without Redis quotas are counted
// from leases by default, written to the database at the latest when the
// app closes, which also hands the leases back; QUOTA_COUNTING=database
// keeps one statement per request.
func TestCountQuotasChoice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		counting    string
		wantCounter ports.QuotaStore
	}{
		{QuotaCountingAuto, &quotacount.Leases{}},
		{QuotaCountingDatabase, nil},
	} {
		t.Run(tc.counting, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			pg, err := postgres.Open(ctx, pgtest.NewURL(t), postgres.PoolConfig{MaxConns: 2})
			require.NoError(t, err)
			t.Cleanup(pg.Close)
			db := &Database{store: pg, leases: pg, Engine: EnginePostgres}
			u, err := db.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
			require.NoError(t, err)

			var cl closers
			countQuotas(db, Config{QuotaCounting: tc.counting}, limits{}, logger, &cl)
			if tc.wantCounter == nil {
				assert.Nil(t, db.counter)
			} else {
				assert.IsType(t, tc.wantCounter, db.counter)
			}
			day := domain.QuotaDay(time.Now())
			for range 2 {
				_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2, 1)
				require.NoError(t, err)
				require.True(t, ok)
			}
			_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2, 1)
			require.NoError(t, err)
			assert.False(t, ok)

			cl.unwind(ctx)
			used, err := pg.QuotaUsed(ctx, u.ID, day)
			require.NoError(t, err)
			assert.Equal(t, 2, used, "in the database once the app closed")
			again := quotacount.NewLeases(pg, logger, quotacount.LeaseConfig{})
			t.Cleanup(func() { require.NoError(t, again.Close(context.Background())) })
			_, ok, err = again.ConsumeQuota(ctx, u.ID, day, 3, 1)
			require.NoError(t, err)
			assert.True(t, ok, "no lease left holding the third unit")
		})
	}
}
