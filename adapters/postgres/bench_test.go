package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/domain"
)

// BenchmarkConsumeQuota measures the guarded upsert that counts a request,
// from many goroutines on separate users (the common case) and on one user
// (the contended row).
func BenchmarkConsumeQuota(b *testing.B) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewURL(b), postgres.PoolConfig{MaxConns: 8})
	require.NoError(b, err)
	b.Cleanup(db.Close)
	day := domain.QuotaDay(time.Now())

	users := make([]domain.UserID, 64)
	for i := range users {
		u, err := db.CreateUser(ctx, domain.NewUser{Email: fmt.Sprintf("bench%d@example.com", i)})
		require.NoError(b, err)
		users[i] = u.ID
	}

	b.Run("spread", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			id := users[int(next.Add(1))%len(users)]
			for pb.Next() {
				if _, _, err := db.ConsumeQuota(ctx, id, day, 1<<30, 1); err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("one user", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := db.ConsumeQuota(ctx, users[0], day, 1<<30, 1); err != nil {
					b.Error(err)
				}
			}
		})
	})
}
