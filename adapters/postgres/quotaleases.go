package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/adapters/quotacount"
)

var _ quotacount.LeaseStore = (*DB)(nil)

// TakeQuotaLease implements quotacount.LeaseStore in one round trip: the
// day's quota_usage row is locked first (as every change of the day's
// leases does), then TakeQuotaLease sizes the block and grows the lease in
// one statement whose snapshot (READ COMMITTED: one per statement) is taken
// once the lock is held, so that no two instances grant from the same free
// units. Both run in the implicit transaction of one pipeline, so the lock
// is held for the server's time only.
func (db *DB) TakeQuotaLease(ctx context.Context, instance string, r quotacount.LeaseRequest) (quotacount.Lease, error) {
	uid, ok := parseID(r.UserID)
	if !ok {
		return quotacount.Lease{}, errUserNotFound
	}
	iid, err := uuid.Parse(instance)
	if err != nil {
		return quotacount.Lease{}, fmt.Errorf("take quota lease: instance id: %w", err)
	}
	b := &pgx.Batch{}
	q := sqlcgen.New(batchQueue{b})
	// Queued, not run: the results are read from the batch below.
	_, _ = q.LockQuotaUsage(ctx, sqlcgen.LockQuotaUsageParams{UserID: uid, Day: r.Day})
	_, _ = q.TakeQuotaLease(ctx, sqlcgen.TakeQuotaLeaseParams{
		DailyLimit: sqlval.ClampInt32(int64(r.Limit)), InstanceID: iid, Returned: int32(r.Return),
		UserID: uid, Day: r.Day, Need: int32(r.Need), Want: int32(r.Want), TtlMs: int32(r.TTL.Milliseconds()),
	})
	var used, granted int32
	err = db.conns.sendBatch(ctx, b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		return br.QueryRow().Scan(&used, &granted)
	})
	if err != nil {
		return quotacount.Lease{}, storeErr("take quota lease", err)
	}
	return quotacount.Lease{Granted: int(granted), Used: int(used)}, nil
}

// SettleQuotaLeases implements quotacount.LeaseStore in one round trip
// (one implicit transaction): the grants are added to quota_usage (rows
// locked in key order, as every instance does, so that concurrent writes
// never deadlock), then taken with the returned units from the leases,
// which are renewed, and those left empty dropped. The caller keeps
// batches small, so that a take never waits long behind one.
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
	if len(rows) == 0 {
		return nil
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
	b := &pgx.Batch{}
	q := sqlcgen.New(batchQueue{b})
	// Queued, not run: sent below.
	if len(usage.UserIds) > 0 {
		_ = q.AddQuotaUsage(ctx, usage)
	}
	_ = q.SettleQuotaLeases(ctx, leases)
	_ = q.DeleteEmptyQuotaLeases(ctx, sqlcgen.DeleteEmptyQuotaLeasesParams{UserIds: leases.UserIds, Days: leases.Days, InstanceID: iid})
	err = db.conns.sendBatch(ctx, b, func(br pgx.BatchResults) error {
		for range b.Len() {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
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
