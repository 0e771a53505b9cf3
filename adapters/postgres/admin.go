package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.AdminStore = (*DB)(nil)

// ListUsers implements ports.AdminStore. Emails are compared and ordered
// byte by byte (COLLATE "C"), as on SQLite, whatever the database's
// collation. A limit below 1 gives no accounts.
func (db *DB) ListUsers(ctx context.Context, f domain.UserFilter, day time.Time) ([]domain.UserUsage, error) {
	if f.Limit <= 0 {
		return []domain.UserUsage{}, nil
	}
	rows, err := db.q.ListUsersWithUsage(ctx, sqlcgen.ListUsersWithUsageParams{
		Day:        day,
		Pattern:    sqlval.ContainsPattern(f.Query),
		AfterEmail: f.AfterEmail,
		RowLimit:   sqlval.ClampInt32(int64(f.Limit)),
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
// or beyond the column.
func (db *DB) UpdateUser(ctx context.Context, id domain.UserID, p domain.UserPatch) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	arg := sqlcgen.UpdateUserParams{ID: uid, SetDailyQuota: p.SetDailyQuota, IsAdmin: p.IsAdmin, Disabled: p.Disabled, At: p.At.UTC()}
	if p.SetDailyQuota && p.DailyQuota != nil {
		if *p.DailyQuota < 0 || *p.DailyQuota > math.MaxInt32 {
			return domain.User{}, domain.Errorf(domain.CodeInvalid, "daily_quota: out of range")
		}
		q := int32(*p.DailyQuota)
		arg.DailyQuota = &q
	}
	var r sqlcgen.User
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		r, err = q.UpdateUser(ctx, arg)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("update user", err)
	}
	return toUser(r), nil
}

// requestLogColumns are the columns ListRequests reads, in the order
// scanLogRow scans them.
const requestLogColumns = `id, request_id, api, user_id, tier, provider, upstream_model, key_index, outcome,
	error_code, attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache, created_at, kind`

// ListRequests implements ports.AdminStore. A user id that is not a UUID
// names no user and has no rows; a limit below 1 gives none.
//
// The statement is built here from the filters given rather than by sqlc:
// sqlc generates one fixed statement, and one that makes every filter
// optional ("$1 IS NULL OR user_id = $1") gets a generic plan once
// prepared, which cannot choose the index the filters given call for
// (request_log_user_created_at_idx for a user,
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
		return "$" + strconv.Itoa(len(args))
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
		at, id := arg(f.Before.CreatedAt.UTC()), arg(f.Before.ID)
		where = append(where, fmt.Sprintf("created_at <= %s AND (created_at < %s OR id < %s)", at, at, id))
	}
	query := "SELECT " + requestLogColumns + " FROM request_log"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT " + arg(sqlval.ClampInt32(int64(f.Limit)))

	rows, err := db.conns.Query(ctx, query, args...)
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

// Analytics implements ports.AdminStore with seven queries in one read-only
// repeatable-read transaction, so that every figure comes from the same
// snapshot: per day, per day and outcome, the latency per day, per user (top users and the
// active count), per route (totals and errors are their sums), the
// percentiles with the feedback counts, and the conversations per day. The
// request log's read the period from request_log_created_at_idx, which
// carries the columns they need. An empty period gives zeros.
func (db *DB) Analytics(ctx context.Context, q domain.AnalyticsQuery) (domain.Analytics, error) {
	out := domain.Analytics{Days: []domain.DayActivity{}, TopUsers: []domain.UserActivity{}, Routes: []domain.RouteActivity{},
		ConversationDays: []domain.ConversationDay{}, Kinds: domain.NewKindActivities()}
	from, to := q.From.UTC(), q.To.UTC()
	if !from.Before(to) {
		return out, nil
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, db.conns, opts, func(tx pgx.Tx) error {
		qtx := db.q.WithTx(tx)

		days, err := qtx.AnalyticsDays(ctx, sqlcgen.AnalyticsDaysParams{
			FromAt: from, ToAt: to, Hit: string(domain.CacheHit), Miss: string(domain.CacheMiss),
		})
		if err != nil {
			return fmt.Errorf("days: %w", err)
		}
		for _, d := range days {
			out.Days = append(out.Days, domain.DayActivity{
				Day:          domain.QuotaDay(d.Day),
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
			sqlval.AddDayOutcome(out.Days, domain.QuotaDay(o.Day), domain.Outcome(o.Outcome), int(o.Requests))
		}
		dayLatency, err := qtx.AnalyticsDayLatency(ctx, sqlcgen.AnalyticsDayLatencyParams{FromAt: from, ToAt: to, Success: string(domain.OutcomeSuccess)})
		if err != nil {
			return fmt.Errorf("day latency: %w", err)
		}
		for _, l := range dayLatency {
			if d := sqlval.DayOf(out.Days, domain.QuotaDay(l.Day)); d != nil && len(l.Latency) == 3 {
				d.Latency = domain.Percentiles{P50: &l.Latency[0], P95: &l.Latency[1], P99: &l.Latency[2]}
			}
		}

		// At least one row, so that the active count comes back.
		users, err := qtx.AnalyticsUsers(ctx, sqlcgen.AnalyticsUsersParams{
			FromAt: from, ToAt: to, RowLimit: max(sqlval.ClampInt32(int64(q.TopUsers)), 1),
		})
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		for i, u := range users {
			out.ActiveUsers = int(u.ActiveUsers)
			if i < q.TopUsers {
				out.TopUsers = append(out.TopUsers, domain.UserActivity{
					UserID: domain.UserID(u.UserID.String()), Email: u.Email, Requests: int(u.Requests),
				})
			}
		}

		routes, err := qtx.AnalyticsRoutes(ctx, sqlcgen.AnalyticsRoutesParams{
			ClientOutcomes: []string{string(domain.OutcomeQuota), string(domain.OutcomeInvalid)},
			ServerOutcomes: []string{string(domain.OutcomeError), string(domain.OutcomeInterrupted)},
			FromAt:         from,
			ToAt:           to,
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

		p, err := qtx.AnalyticsPercentiles(ctx, sqlcgen.AnalyticsPercentilesParams{Success: string(domain.OutcomeSuccess), FromAt: from, ToAt: to})
		if err != nil {
			return fmt.Errorf("percentiles: %w", err)
		}
		if len(p.Latency) == 3 {
			out.Latency = domain.Percentiles{P50: &p.Latency[0], P95: &p.Latency[1], P99: &p.Latency[2]}
		}
		if len(p.FirstToken) == 3 {
			out.FirstToken = domain.Percentiles{P50: &p.FirstToken[0], P95: &p.FirstToken[1], P99: &p.FirstToken[2]}
		}
		out.Feedback = domain.FeedbackSummary{Up: int(p.Up), Down: int(p.Down), WithComment: int(p.WithComment)}

		convDays, err := qtx.AnalyticsConversationDays(ctx, sqlcgen.AnalyticsConversationDaysParams{FromAt: from, ToAt: to})
		if err != nil {
			return fmt.Errorf("conversation days: %w", err)
		}
		for _, d := range convDays {
			out.ConversationDays = append(out.ConversationDays, domain.ConversationDay{
				Day: domain.QuotaDay(d.Day), Conversations: int(d.Conversations), Messages: int(d.Messages),
			})
		}
		return nil
	})
	if err != nil {
		return domain.Analytics{}, storeErr("analytics", err)
	}
	return out, nil
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
