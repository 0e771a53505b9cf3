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

	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
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
	countQuotas(db, limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)), &cl)
	require.IsType(t, &quotacount.Local{}, db.counter)
	day := domain.QuotaDay(time.Now())
	for range 2 {
		_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2)
		require.NoError(t, err)
		require.True(t, ok)
	}
	_, ok, err := db.ConsumeQuota(ctx, u.ID, day, 2)
	require.NoError(t, err)
	assert.False(t, ok)

	cl.unwind(ctx)
	used, err := file.QuotaUsed(ctx, u.ID, day)
	require.NoError(t, err)
	assert.Equal(t, 2, used, "written to the file when the app closes")
}
