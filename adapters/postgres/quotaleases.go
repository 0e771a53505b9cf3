package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/adapters/quotacount"
)

var _ quotacount.LeaseStore = (*DB)(nil)

// TakeQuotaLease implements quotacount.LeaseStore. The day's quota_usage
// row is locked first (as every change of the day's leases does), then the
// leases are read in a new snapshot (READ COMMITTED: each statement sees
// what committed before it), so that no two instances grant from the same
// free units.
func (db *DB) TakeQuotaLease(ctx context.Context, instance string, r quotacount.LeaseRequest) (quotacount.Lease, error) {
	uid, ok := parseID(r.UserID)
	if !ok {
		return quotacount.Lease{}, errUserNotFound
	}
	iid, err := uuid.Parse(instance)
	if err != nil {
		return quotacount.Lease{}, fmt.Errorf("take quota lease: instance id: %w", err)
	}
	var out quotacount.Lease
	err = pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		used, err := q.LockQuotaUsage(ctx, sqlcgen.LockQuotaUsageParams{UserID: uid, Day: r.Day})
		if err != nil {
			return err
		}
		sums, err := q.SumQuotaLeases(ctx, sqlcgen.SumQuotaLeasesParams{InstanceID: iid, UserID: uid, Day: r.Day})
		if err != nil {
			return err
		}
		mine := max(int(sums.Mine)-r.Return, 0)
		n := leaseSize(r, r.Limit-int(used)-int(sums.Others)-mine)
		out = quotacount.Lease{Granted: n, Used: int(used)}
		if delta := n - r.Return; delta != 0 || n > 0 {
			return q.GrowQuotaLease(ctx, sqlcgen.GrowQuotaLeaseParams{
				UserID: uid, Day: r.Day, InstanceID: iid, Delta: int32(delta), TtlMs: int32(r.TTL.Milliseconds()),
			})
		}
		return nil
	})
	if err != nil {
		return quotacount.Lease{}, storeErr("take quota lease", err)
	}
	return out, nil
}

// leaseSize is the block granted for r when free units are free: what is
// needed now, and beyond it up to Want but at most a quarter of the rest,
// so that near the limit blocks shrink to the requests waiting.
func leaseSize(r quotacount.LeaseRequest, free int) int {
	if free <= 0 {
		return 0
	}
	need := min(max(r.Need, 1), free)
	extra := min(max(r.Want-need, 0), (free-need)/4)
	return need + extra
}

// SettleQuotaLeases implements quotacount.LeaseStore in one transaction:
// the grants are added to quota_usage (rows locked in key order, as every
// instance does, so that concurrent writes never deadlock), then taken with
// the returned units from the leases, which are renewed, and the empty
// leases dropped.
func (db *DB) SettleQuotaLeases(ctx context.Context, instance string, s []quotacount.Settlement, ttl time.Duration) error {
	iid, err := uuid.Parse(instance)
	if err != nil {
		return fmt.Errorf("settle quota leases: instance id: %w", err)
	}
	type row struct {
		uid            uuid.UUID
		day            time.Time
		written, taken int32
	}
	rows := make([]row, 0, len(s))
	for _, x := range s {
		uid, ok := parseID(x.UserID)
		if !ok {
			continue
		}
		rows = append(rows, row{uid: uid, day: x.Day, written: int32(x.Written), taken: int32(x.Written + x.Returned)})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(a.uid.String(), b.uid.String()); c != 0 {
			return c
		}
		return a.day.Compare(b.day)
	})
	usage := sqlcgen.AddQuotaUsageParams{}
	leases := sqlcgen.SettleQuotaLeasesParams{InstanceID: iid, TtlMs: int32(ttl.Milliseconds())}
	for _, r := range rows {
		if r.written > 0 {
			usage.UserIds = append(usage.UserIds, r.uid)
			usage.Days = append(usage.Days, r.day)
			usage.Counts = append(usage.Counts, r.written)
		}
		leases.UserIds = append(leases.UserIds, r.uid)
		leases.Days = append(leases.Days, r.day)
		leases.Taken = append(leases.Taken, r.taken)
	}
	err = pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		if len(usage.UserIds) > 0 {
			if err := q.AddQuotaUsage(ctx, usage); err != nil {
				return err
			}
		}
		if err := q.SettleQuotaLeases(ctx, leases); err != nil {
			return err
		}
		return q.DeleteEmptyQuotaLeases(ctx, iid)
	})
	if err != nil {
		return storeErr("settle quota leases", err)
	}
	return nil
}

// ReleaseQuotaLeases implements quotacount.LeaseStore.
func (db *DB) ReleaseQuotaLeases(ctx context.Context, instance string) error {
	iid, err := uuid.Parse(instance)
	if err != nil {
		return fmt.Errorf("release quota leases: instance id: %w", err)
	}
	if err := db.q.DeleteQuotaLeases(ctx, iid); err != nil {
		return storeErr("release quota leases", err)
	}
	return nil
}

// PruneQuotaLeases implements quotacount.LeaseStore.
func (db *DB) PruneQuotaLeases(ctx context.Context, grace time.Duration) error {
	if err := db.q.DeleteStaleQuotaLeases(ctx, int32(grace.Milliseconds())); err != nil {
		return storeErr("prune quota leases", err)
	}
	return nil
}
