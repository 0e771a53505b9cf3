package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.HealthStore = (*DB)(nil)

// errBadInterval refuses a probe interval that would let every caller claim.
var errBadInterval = errors.New("claim probe: interval must be positive")

// ClaimProbe implements ports.HealthStore in one immediate transaction on
// provider_probe_schedule: insert the provider's row if it has none, else
// move next_due_at to now+interval only once it has passed. The transaction
// holds the write lock, so exactly one caller across every process sharing
// the file wins each interval. The caller's clock decides: now and
// now+interval are compared in whole microseconds (sub-microsecond parts
// are truncated), as on PostgreSQL.
func (db *DB) ClaimProbe(ctx context.Context, provider domain.Provider, now time.Time, interval time.Duration) (bool, error) {
	if interval <= 0 {
		return false, errBadInterval
	}
	claimed := false
	err := db.inTx(ctx, func(q *sqlcgen.Queries) error {
		next := micros(now.Add(interval))
		n, err := q.InsertProbeSchedule(ctx, sqlcgen.InsertProbeScheduleParams{Provider: string(provider), NextDue: next})
		if err != nil {
			return err
		}
		if n == 0 {
			// Claimed before: take it only if it is due.
			n, err = q.AdvanceProbeSchedule(ctx, sqlcgen.AdvanceProbeScheduleParams{
				Provider: string(provider),
				NextDue:  next,
				Now:      micros(now),
			})
			if err != nil {
				return err
			}
		}
		claimed = n == 1
		return nil
	})
	if err != nil {
		return false, storeErr("claim probe", err)
	}
	return claimed, nil
}

// RecordCheck implements ports.HealthStore. The latency is stored in whole
// milliseconds; a status of 0 (no answer) and an empty error class are
// stored as NULL.
func (db *DB) RecordCheck(ctx context.Context, c domain.ProviderCheck) error {
	row := sqlcgen.InsertProviderCheckParams{
		Provider:   string(c.Provider),
		Ok:         c.OK,
		LatencyMs:  int64(sqlval.DurationMs(c.Latency)),
		ErrorClass: sqlval.OptText(string(c.ErrorClass)),
		CheckedAt:  micros(c.CheckedAt),
	}
	if c.Status > 0 {
		s := int64(sqlval.ClampInt32(int64(c.Status)))
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
		RowLimit: int64(sqlval.ClampInt32(int64(limit))),
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
	r, err := db.q.ProviderUptime(ctx, sqlcgen.ProviderUptimeParams{Provider: string(provider), Since: micros(since)})
	if err != nil {
		return domain.Uptime{}, storeErr("count provider checks", err)
	}
	return domain.Uptime{OK: int(r.Ok), Total: int(r.Total)}, nil
}

// providerTraffic counts a provider's chat outcomes since a time, inclusive,
// in one range scan of request_log_created_at_idx: answered is the requests
// it answered with at least a first token, failed the attempts on it whose
// reason is one of the reasons (?3, a JSON array of strings; a request can
// hold several failed attempts, one per key tried), counted over json_each
// of the attempts array exactly as PostgreSQL's ProviderTraffic counts over
// jsonb_array_elements.
//
// It is written here rather than in db/queries/sqlite because sqlc's sqlite
// engine cannot resolve the columns of json_each (sqlc-dev/sqlc#1830,
// #3802); the HealthStore contract suite and TestHealthTrafficFromRows
// check it.
const providerTraffic = `
SELECT
    count(*) FILTER (WHERE r.provider = ?1 AND r.ttft_ms IS NOT NULL) AS answered,
    COALESCE(sum((
        SELECT count(*)
        FROM json_each(r.attempts) AS a
        WHERE json_extract(a.value, '$.provider') = ?1
          AND json_extract(a.value, '$.reason') IN (SELECT value FROM json_each(?3))
    )), 0) AS failed
FROM request_log r
WHERE r.created_at >= ?2`

// Traffic implements ports.HealthStore over request_log: Answered counts the
// requests the provider answered with at least a first token, Failed the
// attempts on the provider whose reason is one of failureReasons (a request
// can hold several). A request created at since counts.
func (db *DB) Traffic(ctx context.Context, provider domain.Provider, since time.Time, failureReasons []domain.AttemptReason) (domain.TrafficStats, error) {
	reasons, err := json.Marshal(sqlval.Strings(failureReasons))
	if err != nil {
		return domain.TrafficStats{}, fmt.Errorf("count provider traffic: %w", err)
	}
	var answered, failed int64
	err = db.sql.QueryRowContext(ctx, providerTraffic, string(provider), micros(since), string(reasons)).Scan(&answered, &failed)
	if err != nil {
		return domain.TrafficStats{}, storeErr("count provider traffic", err)
	}
	return domain.TrafficStats{Answered: int(answered), Failed: int(failed)}, nil
}

// PruneChecks implements ports.HealthStore; a check at before is kept.
func (db *DB) PruneChecks(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.q.PruneProviderChecks(ctx, micros(before))
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
		CheckedAt:  fromMicros(r.CheckedAt),
	}
	if r.StatusCode != nil {
		c.Status = int(*r.StatusCode)
	}
	return c
}
