package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/genzai/genzai/domain"
)

// BenchmarkConsumeQuotaSequential is the latency one chat request pays for
// its quota (one immediate transaction), from one goroutine;
// BenchmarkConsumeQuota measures the throughput under concurrency.
func BenchmarkConsumeQuotaSequential(b *testing.B) {
	ctx := context.Background()
	db := openAt(b, newPath(b), 8)
	migrate(b, db)
	id := newUser(b, db, "bench@example.com")
	day := domain.QuotaDay(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := db.ConsumeQuota(ctx, id, day, 1<<30, 1); err != nil {
			b.Fatal(err)
		}
	}
}
