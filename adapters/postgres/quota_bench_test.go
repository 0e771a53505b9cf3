package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// BenchmarkConsumeQuotaSequential is the latency one chat request pays for
// its quota (one round trip of the guarded upsert), from one goroutine;
// BenchmarkConsumeQuota measures the throughput under concurrency.
func BenchmarkConsumeQuotaSequential(b *testing.B) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewURL(b), postgres.PoolConfig{MaxConns: 8})
	require.NoError(b, err)
	b.Cleanup(db.Close)
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "bench@example.com"})
	require.NoError(b, err)
	day := domain.QuotaDay(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := db.ConsumeQuota(ctx, u.ID, day, 1<<30, 1); err != nil {
			b.Fatal(err)
		}
	}
}
