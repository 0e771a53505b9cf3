package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/adapters/quotacount"
)

var _ quotacount.Sink = (*DB)(nil)

// AddQuotaUsage implements quotacount.Sink in one statement. Deltas with a
// malformed user id or a count below one are skipped.
func (db *DB) AddQuotaUsage(ctx context.Context, deltas []quotacount.Delta) error {
	p := sqlcgen.AddQuotaUsageParams{
		UserIds: make([]uuid.UUID, 0, len(deltas)),
		Days:    make([]time.Time, 0, len(deltas)),
		Counts:  make([]int32, 0, len(deltas)),
	}
	for _, d := range deltas {
		uid, ok := parseID(d.UserID)
		if !ok || d.N < 1 {
			continue
		}
		p.UserIds = append(p.UserIds, uid)
		p.Days = append(p.Days, d.Day)
		p.Counts = append(p.Counts, int32(d.N))
	}
	if len(p.UserIds) == 0 {
		return nil
	}
	if err := db.q.AddQuotaUsage(ctx, p); err != nil {
		return storeErr("add quota usage", err)
	}
	return nil
}
