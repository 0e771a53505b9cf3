package sqlite

import (
	"context"
	"encoding/json"

	"github.com/genzai/genzai/adapters/quotacount"
)

var _ quotacount.Sink = (*DB)(nil)

// AddQuotaUsage implements quotacount.Sink in one statement over a JSON
// array of [user_id, day, count]. Deltas with a malformed user id or a
// count below one are skipped.
func (db *DB) AddQuotaUsage(ctx context.Context, deltas []quotacount.Delta) error {
	rows := make([][3]any, 0, len(deltas))
	for _, d := range deltas {
		uid, ok := parseID(d.UserID)
		if !ok || d.N < 1 {
			continue
		}
		rows = append(rows, [3]any{uid, dayText(d.Day), d.N})
	}
	if len(rows) == 0 {
		return nil
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if err := db.q.AddQuotaUsage(ctx, string(batch)); err != nil {
		return storeErr("add quota usage", err)
	}
	return nil
}
