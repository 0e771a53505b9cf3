package quotacount

import (
	"context"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.QuotaStore = (*Local)(nil)

// Local is a ports.QuotaStore counting in process, for one instance: each
// user's count for a day is read from the database on first use, then
// counted under that count's own mutex (exact however many requests
// race), and written behind through a WriteBehind. A second instance on
// the same database would count on its own: use it only where one
// instance runs (SQLite always is).
type Local struct {
	db ports.QuotaStore
	wb *WriteBehind

	mu     sync.Mutex
	counts map[dayKey]*count
	newest string // the latest day counted, to forget older ones
}

type count struct {
	mu     sync.Mutex
	seeded bool
	used   int
}

// NewLocal counts over db (read on first use, refunded directly when the
// grant was already written) writing behind through wb.
func NewLocal(db ports.QuotaStore, wb *WriteBehind) *Local {
	return &Local{db: db, wb: wb, counts: map[dayKey]*count{}}
}

// entry returns the count of the user on day, creating it unseeded.
func (l *Local) entry(id domain.UserID, day time.Time) *count {
	k := keyOf(id, day)
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[k]
	if !ok {
		c = &count{}
		l.counts[k] = c
	}
	if k.day > l.newest {
		l.newest = k.day
		l.forgetBefore(day.AddDate(0, 0, -2).UTC().Format(time.DateOnly))
	}
	return c
}

// forgetBefore drops the counts of days before cutoff: their requests are
// over (a late refund then goes to the database directly). l.mu is held.
func (l *Local) forgetBefore(cutoff string) {
	for k := range l.counts {
		if k.day < cutoff {
			delete(l.counts, k)
		}
	}
}

// seed reads the database's count once; c.mu is held.
func (l *Local) seed(ctx context.Context, c *count, id domain.UserID, day time.Time) error {
	if c.seeded {
		return nil
	}
	used, err := l.db.QuotaUsed(ctx, id, day)
	if err != nil {
		return err
	}
	c.used, c.seeded = used, true
	return nil
}

// ConsumeQuota implements ports.QuotaStore.
func (l *Local) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	c := l.entry(id, day)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := l.seed(ctx, c, id, day); err != nil {
		return 0, false, err
	}
	if c.used+units > limit {
		return c.used, false, nil
	}
	c.used += units
	l.wb.Add(id, day, units)
	return c.used, true, nil
}

// RefundQuota implements ports.QuotaStore.
func (l *Local) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	c := l.entry(id, day)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := l.seed(ctx, c, id, day); err != nil {
		return err
	}
	units = min(units, c.used)
	if units <= 0 {
		return nil
	}
	c.used -= units
	return l.wb.Refund(ctx, id, day, units, func(ctx context.Context, n int) error { return l.db.RefundQuota(ctx, id, day, n) })
}

// QuotaUsed implements ports.QuotaStore: the count in process once the
// user counted that day, the database's before.
func (l *Local) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	k := keyOf(id, day)
	l.mu.Lock()
	c, ok := l.counts[k]
	l.mu.Unlock()
	if !ok {
		return l.db.QuotaUsed(ctx, id, day)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seeded {
		return l.db.QuotaUsed(ctx, id, day)
	}
	return c.used, nil
}
