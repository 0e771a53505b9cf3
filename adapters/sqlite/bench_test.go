package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/genzai/genzai/domain"
)

// BenchmarkConsumeQuota measures the immediate transaction that counts a
// request, from many goroutines on separate users (the common case) and on
// one user (the contended row). SQLite has one writer at a time, so both
// measure the write lock's throughput.
func BenchmarkConsumeQuota(b *testing.B) {
	ctx := context.Background()
	db := openAt(b, newPath(b), 8)
	migrate(b, db)
	day := domain.QuotaDay(time.Now())

	users := make([]domain.UserID, 64)
	for i := range users {
		users[i] = newUser(b, db, fmt.Sprintf("bench%d@example.com", i))
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
