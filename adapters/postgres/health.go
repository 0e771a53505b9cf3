package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.HealthStore = (*DB)(nil)

// errBadInterval refuses a probe interval that would let every caller claim.
var errBadInterval = errors.New("claim probe: interval must be positive")

// ClaimProbe implements ports.HealthStore with one guarded upsert on
// provider_probe_schedule, so that exactly one caller across every instance
// sharing the database wins each interval. The caller's clock decides: now
// and now+interval are compared at PostgreSQL's microsecond precision
// (sub-microsecond parts are truncated).
func (db *DB) ClaimProbe(ctx context.Context, provider domain.Provider, now time.Time, interval time.Duration) (bool, error) {
	if interval <= 0 {
		return false, errBadInterval
	}
	_, err := db.q.ClaimProbe(ctx, sqlcgen.ClaimProbeParams{
		Provider: string(provider),
		NextDue:  now.Add(interval).UTC(),
		Now:      now.UTC(),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// Another caller holds this interval.
		return false, nil
	}
	if err != nil {
		return false, storeErr("claim probe", err)
	}
	return true, nil
}

// RecordCheck implements ports.HealthStore. The latency is stored in whole
// milliseconds; a status of 0 (no answer) and an empty error class are
// stored as NULL.
func (db *DB) RecordCheck(ctx context.Context, c domain.ProviderCheck) error {
	row := sqlcgen.InsertProviderCheckParams{
		Provider:   string(c.Provider),
		Ok:         c.OK,
		LatencyMs:  sqlval.DurationMs(c.Latency),
		ErrorClass: sqlval.OptText(string(c.ErrorClass)),
		CheckedAt:  c.CheckedAt.UTC(),
	}
	if c.Status > 0 {
		s := sqlval.ClampInt32(int64(c.Status))
		row.StatusCode = &s
	}
	if err := db.q.InsertProviderCheck(ctx, row); err != nil {
		return storeErr("record provider check", err)
	}
	return nil
}

// RecentChecks implements ports.HealthStore; checks at the same instant come
// newest recorded first. A limit below 1 gives no checks.
func (db *DB) RecentChecks(ctx context.Context, provider domain.Provider, limit int) ([]domain.ProviderCheck, error) {
	if limit <= 0 {
		return []domain.ProviderCheck{}, nil
	}
	rows, err := db.q.RecentProviderChecks(ctx, sqlcgen.RecentProviderChecksParams{
		Provider: string(provider),
		RowLimit: sqlval.ClampInt32(int64(limit)),
	})
	if err != nil {
		return nil, storeErr("list provider checks", err)
	}
	out := make([]domain.ProviderCheck, 0, len(rows))
	for _, r := range rows {
		out = append(out, toCheck(r))
	}
	return out, nil
}

// Uptime implements ports.HealthStore; a check at since counts.
func (db *DB) Uptime(ctx context.Context, provider domain.Provider, since time.Time) (domain.Uptime, error) {
	r, err := db.q.ProviderUptime(ctx, sqlcgen.ProviderUptimeParams{Provider: string(provider), Since: since.UTC()})
	if err != nil {
		return domain.Uptime{}, storeErr("count provider checks", err)
	}
	return domain.Uptime{OK: int(r.Ok), Total: int(r.Total)}, nil
}

// Traffic implements ports.HealthStore over request_log: Answered counts the
// requests the provider answered with at least a first token, Failed the
// attempts on the provider whose reason is one of failureReasons (a request
// can hold several). A request created at since counts.
func (db *DB) Traffic(ctx context.Context, provider domain.Provider, since time.Time, failureReasons []domain.AttemptReason) (domain.TrafficStats, error) {
	r, err := db.q.ProviderTraffic(ctx, sqlcgen.ProviderTrafficParams{
		Provider: string(provider),
		Reasons:  sqlval.Strings(failureReasons),
		Since:    since.UTC(),
	})
	if err != nil {
		return domain.TrafficStats{}, storeErr("count provider traffic", err)
	}
	return domain.TrafficStats{Answered: int(r.Answered), Failed: int(r.Failed)}, nil
}

// PruneChecks implements ports.HealthStore; a check at before is kept.
func (db *DB) PruneChecks(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.q.PruneProviderChecks(ctx, before.UTC())
	if err != nil {
		return 0, storeErr("prune provider checks", err)
	}
	return n, nil
}

func toCheck(r sqlcgen.ProviderCheck) domain.ProviderCheck {
	c := domain.ProviderCheck{
		Provider:   domain.Provider(r.Provider),
		OK:         r.Ok,
		Latency:    time.Duration(r.LatencyMs) * time.Millisecond,
		ErrorClass: domain.AttemptReason(sqlval.Deref(r.ErrorClass)),
		CheckedAt:  r.CheckedAt.UTC(),
	}
	if r.StatusCode != nil {
		c.Status = int(*r.StatusCode)
	}
	return c
}
