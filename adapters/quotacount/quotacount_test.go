package quotacount_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// queue a test starts must be closed by its end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// database is an engine's store: users, the quota port and the sink.
type database interface {
	ports.UserStore
	ports.QuotaStore
	quotacount.Sink
}

func openSQLite(t *testing.T) database {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "genzai.db"), sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(context.Background())
	require.NoError(t, err)
	return db
}

func openPostgres(t *testing.T) database {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewURL(t), postgres.PoolConfig{MaxConns: pgtest.MaxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// queue is a write-behind queue that writes only when told (or closed
// when t ends).
func queue(t *testing.T, db quotacount.Sink) *quotacount.WriteBehind {
	t.Helper()
	wb := quotacount.NewWriteBehind(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	t.Cleanup(func() { require.NoError(t, wb.Close(context.Background())) })
	return wb
}

var engines = []struct {
	name string
	open func(t *testing.T) database
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func TestLocalQuotaStoreContract(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			portstest.RunQuotaStore(t, func(t *testing.T) portstest.Stores {
				db := e.open(t)
				return portstest.Stores{Users: db, Quota: quotacount.NewLocal(db, queue(t, db))}
			})
		})
	}
}

func TestLocalWritesBehind(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			portstest.RunQuotaWriteBehind(t, func(t *testing.T) portstest.WriteBehind {
				db := e.open(t)
				wb := queue(t, db)
				return portstest.WriteBehind{
					Users: db, Quota: quotacount.NewLocal(db, wb), DB: db,
					Flush:   func(t *testing.T) { require.NoError(t, wb.Flush(context.Background())) },
					Crash:   func(*testing.T) { wb.Abandon() },
					Restart: func(t *testing.T) ports.QuotaStore { return quotacount.NewLocal(db, queue(t, db)) },
				}
			})
		})
	}
}
