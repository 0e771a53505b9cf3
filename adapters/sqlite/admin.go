package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.AdminStore = (*DB)(nil)

// microsPerDay is one UTC day in the unit of stored instants.
const microsPerDay = 86_400_000_000

// ListUsers implements ports.AdminStore. Emails are compared and ordered
// byte by byte (SQLite's BINARY collation), as on PostgreSQL. A limit below
// 1 gives no accounts.
func (db *DB) ListUsers(ctx context.Context, f domain.UserFilter, day time.Time) ([]domain.UserUsage, error) {
	if f.Limit <= 0 {
		return []domain.UserUsage{}, nil
	}
	rows, err := db.q.ListUsersWithUsage(ctx, sqlcgen.ListUsersWithUsageParams{
		Day:        dayText(day),
		AfterEmail: f.AfterEmail,
		Pattern:    sqlval.ContainsPattern(f.Query),
		RowLimit:   int64(sqlval.ClampInt32(int64(f.Limit))),
	})
	if err != nil {
		return nil, storeErr("list users", err)
	}
	out := make([]domain.UserUsage, len(rows))
	for i, r := range rows {
		out[i] = domain.UserUsage{User: toUser(r.User), UsedToday: int(r.UsedToday)}
	}
	return out, nil
}

// UpdateUser implements ports.AdminStore in one statement; an empty patch
// returns the account unchanged. CodeInvalid for a daily quota below zero
// or beyond PostgreSQL's column, so that both engines accept the same.
func (db *DB) UpdateUser(ctx context.Context, id domain.UserID, p domain.UserPatch) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	arg := sqlcgen.UpdateUserParams{ID: uid, SetDailyQuota: p.SetDailyQuota, IsAdmin: p.IsAdmin, Disabled: p.Disabled, At: micros(p.At)}
	if p.SetDailyQuota && p.DailyQuota != nil {
		if *p.DailyQuota < 0 || *p.DailyQuota > math.MaxInt32 {
			return domain.User{}, domain.Errorf(domain.CodeInvalid, "daily_quota: out of range")
		}
		q := int64(*p.DailyQuota)
		arg.DailyQuota = &q
	}
	r, err := db.q.UpdateUser(ctx, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("update user", err)
	}
	return toUser(r), nil
}

// requestLogColumns are the columns ListRequests reads, in the order it
// scans them.
const requestLogColumns = `id, request_id, api, user_id, tier, provider, upstream_model, key_index, outcome,
	error_code, attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache, created_at, kind`

// ListRequests implements ports.AdminStore. A user id that is not a UUID
// names no user and has no rows; a limit below 1 gives none.
//
// The statement is built here from the filters given rather than by sqlc:
// sqlc generates one fixed statement, and SQLite plans a statement once,
// without its parameters' values, so one that makes every filter optional
// ("?1 IS NULL OR user_id = ?1") cannot choose the index the filters given
// call for (request_log_user_created_at_idx for a user,
// request_log_provider_created_at_idx for a provider,
// request_log_outcome_created_at_idx for an outcome, the created_at index
// otherwise). Only placeholders carry values.
func (db *DB) ListRequests(ctx context.Context, f domain.RequestFilter) ([]domain.LoggedRequest, error) {
	if f.Limit <= 0 {
		return []domain.LoggedRequest{}, nil
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	if f.UserID != "" {
		uid, ok := parseID(f.UserID)
		if !ok {
			return []domain.LoggedRequest{}, nil
		}
		where = append(where, "user_id = "+arg(uid))
	}
	if f.Provider != "" {
		where = append(where, "provider = "+arg(string(f.Provider)))
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if f.Before != nil {
		// Strictly older than (created_at, id), written so that the first
		// condition bounds the index scan.
		at, id := arg(micros(f.Before.CreatedAt)), arg(f.Before.ID)
		where = append(where, fmt.Sprintf("created_at <= %s AND (created_at < %s OR id < %s)", at, at, id))
	}
	query := "SELECT " + requestLogColumns + " FROM request_log"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT " + arg(int64(sqlval.ClampInt32(int64(f.Limit))))

	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, storeErr("list request log", err)
	}
	defer rows.Close()
	out := []domain.LoggedRequest{}
	for rows.Next() {
		var row sqlcgen.RequestLog
		if err := rows.Scan(&row.ID, &row.RequestID, &row.Api, &row.UserID, &row.Tier, &row.Provider, &row.UpstreamModel,
			&row.KeyIndex, &row.Outcome, &row.ErrorCode, &row.Attempts, &row.Stream, &row.LatencyMs, &row.TtftMs,
			&row.PromptTokens, &row.CompletionTokens, &row.Cache, &row.CreatedAt, &row.Kind); err != nil {
			return nil, storeErr("list request log", err)
		}
		r, err := fromLogRow(row)
		if err != nil {
			return nil, fmt.Errorf("read request log %d: %w", row.ID, err)
		}
		out = append(out, domain.LoggedRequest{ID: row.ID, RequestRecord: r})
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list request log", err)
	}
	return out, nil
}

// dayLatency sets each day's latency percentiles from the counts of each
// latency of its successful requests.
func dayLatency(ctx context.Context, qtx *sqlcgen.Queries, from, to int64, days []domain.DayActivity) error {
	samples, err := qtx.AnalyticsDayLatencySamples(ctx, sqlcgen.AnalyticsDayLatencySamplesParams{
		FromAt: from, ToAt: to, SuccessOutcome: string(domain.OutcomeSuccess),
	})
	if err != nil {
		return fmt.Errorf("day latency: %w", err)
	}
	for i := 0; i < len(samples); {
		day := samples[i].Day
		var h histogram
		for ; i < len(samples) && samples[i].Day == day; i++ {
			h.add(samples[i].Value, samples[i].Samples)
		}
		if d := sqlval.DayOf(days, fromMicros(day*microsPerDay)); d != nil {
			d.Latency = domain.Percentiles{P50: h.percentileCont(0.5), P95: h.percentileCont(0.95), P99: h.percentileCont(0.99)}
		}
	}
	return nil
}

// histogram is one metric's samples as AnalyticsSamples counts them: each
// distinct value, ascending, with how many samples have it.
type histogram struct {
	values, counts []int64
	n              int64 // the number of samples
}

func (h *histogram) add(value, count int64) {
	h.values = append(h.values, value)
	h.counts = append(h.counts, count)
	h.n += count
}

// at is the sample at rank k (from 0) of the sorted samples; k < n.
func (h *histogram) at(k int64) float64 {
	for i, c := range h.counts {
		if k < c {
			return float64(h.values[i])
		}
		k -= c
	}
	return float64(h.values[len(h.values)-1])
}

// percentileCont is PostgreSQL's percentile_cont(q): the value at position
// q*(n-1) of the sorted samples, interpolated linearly between the two
// nearest ranks with the same floating-point steps, so that both engines
// give the same figures; nil when there are no samples.
func (h *histogram) percentileCont(q float64) *float64 {
	if h.n == 0 {
		return nil
	}
	pos := q * float64(h.n-1)
	lo := math.Floor(pos)
	first, second := h.at(int64(lo)), h.at(int64(math.Ceil(pos)))
	v := first + (second-first)*(pos-lo)
	return &v
}

// Analytics implements ports.AdminStore with its queries in one read
// transaction (a snapshot of the file: writers go on meanwhile), so that
// every figure comes from the same data: per day, per day and outcome, per
// user (top users and the active count), per route (totals and errors are their sums), the
// percentiles and the feedback counts. Each reads the period from
// request_log_created_at_idx, which carries the columns they need; the
// queries name it (INDEXED BY) because once ANALYZE has run, SQLite prefers
// a skip-scan of request_log_outcome_created_at_idx, which does not, and
// takes twice as long. Percentiles are computed here from counts of each
// value (SQLite has no percentile function), as percentile_cont computes
// them. An empty period gives zeros.
func (db *DB) Analytics(ctx context.Context, q domain.AnalyticsQuery) (domain.Analytics, error) {
	out := domain.Analytics{Days: []domain.DayActivity{}, TopUsers: []domain.UserActivity{}, Routes: []domain.RouteActivity{},
		ConversationDays: []domain.ConversationDay{}, Kinds: domain.NewKindActivities()}
	from, to := micros(q.From), micros(q.To)
	if from >= to {
		return out, nil
	}
	// A read-only transaction begins DEFERRED, not IMMEDIATE: it takes no
	// write lock.
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return domain.Analytics{}, storeErr("analytics", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := db.analytics(ctx, tx, q, from, to, &out); err != nil {
		return domain.Analytics{}, storeErr("analytics", err)
	}
	return out, nil
}

func (db *DB) analytics(ctx context.Context, tx *sql.Tx, q domain.AnalyticsQuery, from, to int64, out *domain.Analytics) error {
	qtx := db.q.WithTx(tx)

	days, err := qtx.AnalyticsDays(ctx, sqlcgen.AnalyticsDaysParams{
		FromAt: from, ToAt: to, Hit: new(string(domain.CacheHit)), Miss: new(string(domain.CacheMiss)),
		// The quota days the period touches.
		FromDay: dayText(fromMicros(from)), ToDay: dayText(fromMicros(to)),
	})
	if err != nil {
		return fmt.Errorf("days: %w", err)
	}
	for _, d := range days {
		out.Days = append(out.Days, domain.DayActivity{
			Day:          fromMicros(d.Day * microsPerDay),
			ActiveUsers:  int(d.Users),
			Requests:     int(d.Requests),
			AvgQuotaUsed: d.AvgQuotaUsed,
			CacheHits:    int(d.CacheHits),
			CacheMisses:  int(d.CacheMisses),
		})
	}
	outcomes, err := qtx.AnalyticsDayOutcomes(ctx, sqlcgen.AnalyticsDayOutcomesParams{FromAt: from, ToAt: to})
	if err != nil {
		return fmt.Errorf("day outcomes: %w", err)
	}
	for _, o := range outcomes {
		sqlval.AddDayOutcome(out.Days, fromMicros(o.Day*microsPerDay), domain.Outcome(o.Outcome), int(o.Requests))
	}
	if err := dayLatency(ctx, qtx, from, to, out.Days); err != nil {
		return err
	}

	// At least one row, so that the active count comes back.
	users, err := qtx.AnalyticsUsers(ctx, sqlcgen.AnalyticsUsersParams{
		FromAt: from, ToAt: to, RowLimit: int64(max(sqlval.ClampInt32(int64(q.TopUsers)), 1)),
	})
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	for i, u := range users {
		out.ActiveUsers = int(u.ActiveUsers)
		if i < q.TopUsers {
			out.TopUsers = append(out.TopUsers, domain.UserActivity{UserID: domain.UserID(sqlval.Deref(u.UserID)), Email: u.Email, Requests: int(u.Requests)})
		}
	}

	routes, err := qtx.AnalyticsRoutes(ctx, sqlcgen.AnalyticsRoutesParams{
		QuotaOutcome:       string(domain.OutcomeQuota),
		InvalidOutcome:     string(domain.OutcomeInvalid),
		ErrorOutcome:       string(domain.OutcomeError),
		InterruptedOutcome: string(domain.OutcomeInterrupted),
		FromAt:             from,
		ToAt:               to,
	})
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	for _, r := range routes {
		out.AddKind(domain.RequestKind(r.Kind), int(r.Requests), int(r.ClientErrors), int(r.ServerErrors))
		out.Requests += int(r.Requests)
		out.ClientErrors += int(r.ClientErrors)
		out.ServerErrors += int(r.ServerErrors)
		if r.Tier == "" {
			// A request that is not a chat (an image) has no tier: it counts in
			// the totals, not as a tier's route.
			continue
		}
		out.Routes = append(out.Routes, domain.RouteActivity{
			Tier: domain.Tier(r.Tier), Provider: domain.Provider(r.Provider),
			Requests: int(r.Requests), Errors: int(r.ClientErrors + r.ServerErrors),
		})
	}
	sortRoutes(out.Routes)

	samples, err := qtx.AnalyticsSamples(ctx, sqlcgen.AnalyticsSamplesParams{FromAt: from, ToAt: to, SuccessOutcome: string(domain.OutcomeSuccess)})
	if err != nil {
		return fmt.Errorf("percentiles: %w", err)
	}
	var latency, firstToken histogram
	for _, r := range samples {
		if r.Metric == 0 {
			latency.add(r.Value, r.Samples)
		} else {
			firstToken.add(r.Value, r.Samples)
		}
	}
	if latency.n > 0 {
		out.Latency = domain.Percentiles{
			P50: latency.percentileCont(0.5),
			P95: latency.percentileCont(0.95),
			P99: latency.percentileCont(0.99),
		}
	}
	if firstToken.n > 0 {
		out.FirstToken = domain.Percentiles{
			P50: firstToken.percentileCont(0.5),
			P95: firstToken.percentileCont(0.95),
			P99: firstToken.percentileCont(0.99),
		}
	}

	fb, err := qtx.AnalyticsFeedback(ctx, sqlcgen.AnalyticsFeedbackParams{FromAt: from, ToAt: to})
	if err != nil {
		return fmt.Errorf("feedback: %w", err)
	}
	out.Feedback = domain.FeedbackSummary{Up: int(fb.Up), Down: int(fb.Down), WithComment: int(fb.WithComment)}

	convDays, err := qtx.AnalyticsConversationDays(ctx, sqlcgen.AnalyticsConversationDaysParams{FromAt: from, ToAt: to})
	if err != nil {
		return fmt.Errorf("conversation days: %w", err)
	}
	for _, d := range convDays {
		out.ConversationDays = append(out.ConversationDays, domain.ConversationDay{
			Day: fromMicros(d.Day * microsPerDay), Conversations: int(d.Conversations), Messages: int(d.Messages),
		})
	}
	return nil
}

// sortRoutes orders routes by tier, then provider, byte by byte: the order
// the contract promises on every engine.
func sortRoutes(rs []domain.RouteActivity) {
	slices.SortFunc(rs, func(a, b domain.RouteActivity) int {
		if c := strings.Compare(string(a.Tier), string(b.Tier)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Provider), string(b.Provider))
	})
}
