package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/ports/portstest"
)

// open connects to a fresh database; the pool takes a test's whole
// connection budget, so that the concurrency tests contend for real.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewURL(t), postgres.PoolConfig{MaxConns: pgtest.MaxConns})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

func newStores(t *testing.T) portstest.Stores {
	db := open(t)
	return portstest.Stores{Users: db, Quota: db}
}

func TestUserStoreContract(t *testing.T)  { portstest.RunUserStore(t, newStores) }
func TestQuotaStoreContract(t *testing.T) { portstest.RunQuotaStore(t, newStores) }
