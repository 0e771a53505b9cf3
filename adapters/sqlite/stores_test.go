package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

func newStores(t *testing.T) portstest.Stores {
	db := open(t)
	return portstest.Stores{Users: db, Quota: db}
}

// newHealth is a fresh database; request records go through the real writer.
func newHealth(t *testing.T) portstest.Health {
	t.Helper()
	db := open(t)
	var user domain.UserID // request_log rows need one; created on first use
	return portstest.Health{
		Store: db,
		Log: func(t *testing.T, records ...domain.RequestRecord) {
			t.Helper()
			if user == "" {
				user = newUser(t, db, "traffic@example.com")
			}
			w := db.NewRequestLogWriter(nil, sqlite.RequestLogConfig{})
			for _, r := range records {
				r.UserID = user
				w.Record(r)
			}
			closeWriter(t, w)
			require.Zero(t, w.Dropped())
		},
	}
}

func TestUserStoreContract(t *testing.T)   { portstest.RunUserStore(t, newStores) }
func TestQuotaStoreContract(t *testing.T)  { portstest.RunQuotaStore(t, newStores) }
func TestHealthStoreContract(t *testing.T) { portstest.RunHealthStore(t, newHealth) }

func closeWriter(t *testing.T, w *sqlite.RequestLogWriter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))
}
