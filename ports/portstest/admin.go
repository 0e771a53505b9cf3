package portstest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Admin is what the admin and feedback suites need from one implementation:
// stores that share their data, and a way to fill the request log.
type Admin struct {
	Users    ports.UserStore
	Quota    ports.QuotaStore
	Admin    ports.AdminStore
	Feedback ports.FeedbackStore
	// Log writes request records as given (UserID included) where Admin and
	// Feedback read them, and returns once they are readable. Records
	// written by one call get increasing ids in the order given.
	Log func(t *testing.T, records ...domain.RequestRecord)
	// Keys and Conversations share the data too (RunAccountDeletion).
	Keys          ports.APIKeyStore
	Conversations ports.ConversationStore
	// Audit shares the users too (RunAccountDeletion).
	Audit ports.AuditLog
}

// adminDay is a UTC midnight; the analytics data lie around it.
var adminDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// percentileDelta is how far a percentile may be from the exact value: the
// engines interpolate in floating point.
const percentileDelta = 1e-9

func ptrTo[T any](v T) *T { return &v }

func (a Admin) user(t *testing.T, email string) domain.UserID {
	t.Helper()
	u, err := a.Users.CreateUser(context.Background(), domain.NewUser{Email: email})
	require.NoError(t, err)
	return u.ID
}

// setUsed makes the user's quota count for day n (a row at 0 when n is 0).
func (a Admin) setUsed(t *testing.T, id domain.UserID, day time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	_, granted, err := a.Quota.ConsumeQuota(ctx, id, day, max(n, 1), max(n, 1))
	require.NoError(t, err)
	require.True(t, granted)
	if n == 0 {
		require.NoError(t, a.Quota.RefundQuota(ctx, id, day, 1))
	}
	used, err := a.Quota.QuotaUsed(ctx, id, day)
	require.NoError(t, err)
	require.Equal(t, n, used)
}

// RunAdminStore checks the ports.AdminStore contract; newAdmin returns
// empty stores for each subtest.
func RunAdminStore(t *testing.T, newAdmin func(t *testing.T) Admin) {
	t.Run("analytics", func(t *testing.T) {
		t.Parallel()
		runAnalytics(t, newAdmin(t))
	})
	t.Run("conversations and messages per day", func(t *testing.T) {
		t.Parallel()
		runConversationDays(t, newAdmin(t))
	})
	t.Run("requests by kind", func(t *testing.T) {
		t.Parallel()
		runKinds(t, newAdmin(t))
	})
	t.Run("list users", func(t *testing.T) {
		t.Parallel()
		runListUsers(t, newAdmin(t))
	})
	t.Run("update user", func(t *testing.T) {
		t.Parallel()
		runUpdateUser(t, newAdmin(t))
	})
	t.Run("list requests", func(t *testing.T) {
		t.Parallel()
		runListRequests(t, newAdmin(t))
	})
}

// analyticsRow is a request log row of the analytics data.
type analyticsRow struct {
	user      string
	at        time.Duration // after adminDay
	tier      domain.Tier
	provider  domain.Provider
	outcome   domain.Outcome
	latencyMs int
	ttftMs    int // -1: no first token
	requestID string
}

// runAnalytics seeds four users' requests, quota counts and ratings around
// adminDay (D10 below; D12 is two days later) and checks every figure of
// several periods against values worked out by hand.
func runAnalytics(t *testing.T, a Admin) {
	ctx := context.Background()
	const day = 24 * time.Hour
	ids := map[string]domain.UserID{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		ids[name] = a.user(t, name+"@example.com")
	}
	const us = time.Microsecond
	rows := []analyticsRow{
		// D10, from its first instant to its last.
		{"alice", 0, domain.TierFast, domain.ProviderGroq, domain.OutcomeSuccess, 100, 10, "a-1"},
		{"alice", 12 * time.Hour, domain.TierFast, domain.ProviderGroq, domain.OutcomeSuccess, 200, 20, "a-2"},
		{"bob", day - us, domain.TierFast, domain.ProviderGroq, domain.OutcomeError, 5000, -1, "b-3"},
		{"bob", 13 * time.Hour, domain.TierSmart, "", domain.OutcomeQuota, 1, -1, "b-4"},
		{"carol", 14 * time.Hour, domain.TierSmart, domain.ProviderOpenRouter, domain.OutcomeSuccess, 400, 40, "c-5"},
		// D11 has no requests. D12, from its first instant.
		{"alice", 2 * day, domain.TierSmart, domain.ProviderOpenRouter, domain.OutcomeInterrupted, 800, 80, "a-6"},
		{"alice", 2*day + 2*time.Hour, domain.TierFast, "", domain.OutcomeInvalid, 0, -1, "a-7"},
		{"carol", 2*day + 3*time.Hour, domain.TierFast, domain.ProviderGroq, domain.OutcomeCancelled, 300, 30, "c-8"},
		{"carol", 2*day + 4*time.Hour, domain.TierFast, domain.ProviderGroq, domain.OutcomeSuccess, 1000, -1, "c-9"},
		{"bob", 2*day + 5*time.Hour, domain.TierBalanced, domain.ProviderHuggingFace, domain.OutcomeSuccess, 600, 60, "b-10"},
		// Just before D10 and at the first instant of D13.
		{"dave", -us, domain.TierFast, domain.ProviderGroq, domain.OutcomeSuccess, 99999, 9999, "d-o1"},
		{"dave", 3 * day, domain.TierFast, domain.ProviderGroq, domain.OutcomeError, 99999, 9999, "d-o2"},
		// Alone on D5.
		{"dave", -5*day + 6*time.Hour, domain.TierFast, domain.ProviderGroq, domain.OutcomeSuccess, 250, 25, "d-s1"},
	}
	// How the requests met the response cache; the others had it off. D10
	// has two hits and a miss (and a bypass, which is neither), D12 two
	// misses and no hit; the hits just outside D10 to D12 do not count.
	cache := map[string]domain.CacheStatus{
		"a-1": domain.CacheMiss, "a-2": domain.CacheHit, "b-3": domain.CacheBypass, "c-5": domain.CacheHit,
		"a-6": domain.CacheMiss, "c-8": domain.CacheBypass, "c-9": domain.CacheMiss,
		"d-o1": domain.CacheHit, "d-o2": domain.CacheHit,
	}
	records := make([]domain.RequestRecord, len(rows))
	for i, r := range rows {
		records[i] = domain.RequestRecord{
			RequestID: r.requestID, UserID: ids[r.user], Tier: r.tier, Provider: r.provider, Outcome: r.outcome,
			Latency: time.Duration(r.latencyMs) * time.Millisecond, CreatedAt: adminDay.Add(r.at), Cache: cache[r.requestID],
		}
		if r.ttftMs >= 0 {
			records[i].FirstToken = ptrTo(time.Duration(r.ttftMs) * time.Millisecond)
		}
	}
	a.Log(t, records...)

	// Quota counts: D10 averages (3+2+6)/3 over the counts above zero
	// (carol's row is at zero); D11 has counts but no requests.
	for _, q := range []struct {
		user string
		day  int
		used int
	}{
		{"alice", 0, 3}, {"bob", 0, 2}, {"carol", 0, 0}, {"dave", 0, 6},
		{"alice", 1, 5}, {"carol", 2, 1}, {"alice", -1, 9}, {"dave", 3, 4},
	} {
		a.setUsed(t, ids[q.user], adminDay.AddDate(0, 0, q.day), q.used)
	}

	// Ratings: three inside [D10, D13), one at D13 and one before D10.
	for _, f := range []struct {
		user, requestID string
		rating          domain.Rating
		comment         string
		at              time.Duration
	}{
		{"alice", "a-1", domain.RatingUp, "great", time.Hour},
		{"alice", "a-6", domain.RatingDown, "", 2*day + 2*time.Hour},
		{"carol", "c-5", domain.RatingDown, "slow", day},
		{"bob", "b-10", domain.RatingUp, "", 3 * day},
		{"dave", "d-o1", domain.RatingUp, "meh", -time.Hour},
	} {
		at := adminDay.Add(f.at)
		_, err := a.Feedback.SaveFeedback(ctx, domain.Feedback{
			UserID: ids[f.user], RequestID: f.requestID, Rating: f.rating, Comment: f.comment, CreatedAt: at, UpdatedAt: at,
		})
		require.NoError(t, err, f.requestID)
	}

	d := func(n int) time.Time { return adminDay.AddDate(0, 0, n) }
	top := func(pairs ...any) []domain.UserActivity {
		out := []domain.UserActivity{}
		for i := 0; i < len(pairs); i += 2 {
			name := pairs[i].(string)
			out = append(out, domain.UserActivity{UserID: ids[name], Email: name + "@example.com", Requests: pairs[i+1].(int)})
		}
		return out
	}
	pct := func(vs ...float64) domain.Percentiles {
		p := domain.Percentiles{P50: &vs[0], P95: &vs[1]}
		if len(vs) > 2 {
			p.P99 = &vs[2]
		}
		return p
	}
	day0Outcomes := map[domain.Outcome]int{domain.OutcomeSuccess: 3, domain.OutcomeError: 1, domain.OutcomeQuota: 1}
	day2Outcomes := map[domain.Outcome]int{
		domain.OutcomeSuccess: 2, domain.OutcomeInterrupted: 1, domain.OutcomeInvalid: 1, domain.OutcomeCancelled: 1,
	}
	periodAll := domain.Analytics{
		Days: []domain.DayActivity{
			{Day: d(0), ActiveUsers: 3, Requests: 5, AvgQuotaUsed: 11.0 / 3, CacheHits: 2, CacheMisses: 1, Outcomes: day0Outcomes, Latency: pct(200, 380, 396)},
			{Day: d(2), ActiveUsers: 3, Requests: 5, AvgQuotaUsed: 1, CacheMisses: 2, Outcomes: day2Outcomes, Latency: pct(800, 980, 996)},
		},
		ActiveUsers: 3, Requests: 10, ClientErrors: 2, ServerErrors: 2,
		TopUsers: top("alice", 4, "bob", 3),
		Routes: []domain.RouteActivity{
			{Tier: domain.TierBalanced, Provider: domain.ProviderHuggingFace, Requests: 1},
			{Tier: domain.TierFast, Provider: "", Requests: 1, Errors: 1},
			{Tier: domain.TierFast, Provider: domain.ProviderGroq, Requests: 5, Errors: 1},
			{Tier: domain.TierSmart, Provider: "", Requests: 1, Errors: 1},
			{Tier: domain.TierSmart, Provider: domain.ProviderOpenRouter, Requests: 2, Errors: 1},
		},
		// Successes: 100 200 400 600 1000; first tokens: 10 20 30 40 60 80.
		Latency:    pct(400, 920, 984),
		FirstToken: pct(35, 75, 79),
		Feedback:   domain.FeedbackSummary{Up: 1, Down: 2, WithComment: 2},
	}
	withTop := func(a domain.Analytics, users []domain.UserActivity) domain.Analytics {
		a.TopUsers = users
		return a
	}
	empty := domain.Analytics{Days: []domain.DayActivity{}, TopUsers: []domain.UserActivity{}, Routes: []domain.RouteActivity{}}

	for _, tc := range []struct {
		name     string
		from, to time.Time
		topUsers int
		want     domain.Analytics
	}{
		{name: "three days, one without requests", from: d(0), to: d(3), topUsers: 2, want: periodAll},
		{
			name: "top users beyond the active ones", from: d(0), to: d(3), topUsers: 10,
			want: withTop(periodAll, top("alice", 4, "bob", 3, "carol", 3)),
		},
		{name: "no top users", from: d(0), to: d(3), topUsers: 0, want: withTop(periodAll, []domain.UserActivity{})},
		{
			name: "first day: its last microsecond counts, the one before it does not", from: d(0), to: d(1), topUsers: 2,
			want: domain.Analytics{
				Days:        []domain.DayActivity{{Day: d(0), ActiveUsers: 3, Requests: 5, AvgQuotaUsed: 11.0 / 3, CacheHits: 2, CacheMisses: 1, Outcomes: day0Outcomes, Latency: pct(200, 380, 396)}},
				ActiveUsers: 3, Requests: 5, ClientErrors: 1, ServerErrors: 1,
				TopUsers: top("alice", 2, "bob", 2),
				Routes: []domain.RouteActivity{
					{Tier: domain.TierFast, Provider: domain.ProviderGroq, Requests: 3, Errors: 1},
					{Tier: domain.TierSmart, Provider: "", Requests: 1, Errors: 1},
					{Tier: domain.TierSmart, Provider: domain.ProviderOpenRouter, Requests: 1},
				},
				// Successes: 100 200 400; first tokens: 10 20 40.
				Latency:    pct(200, 380, 396),
				FirstToken: pct(20, 38, 39.6),
				Feedback:   domain.FeedbackSummary{Up: 1, WithComment: 1},
			},
		},
		{
			name: "last day: its first microsecond counts, the next day's does not", from: d(2), to: d(3), topUsers: 2,
			want: domain.Analytics{
				Days:        []domain.DayActivity{{Day: d(2), ActiveUsers: 3, Requests: 5, AvgQuotaUsed: 1, CacheMisses: 2, Outcomes: day2Outcomes, Latency: pct(800, 980, 996)}},
				ActiveUsers: 3, Requests: 5, ClientErrors: 1, ServerErrors: 1,
				TopUsers: top("alice", 2, "carol", 2),
				Routes: []domain.RouteActivity{
					{Tier: domain.TierBalanced, Provider: domain.ProviderHuggingFace, Requests: 1},
					{Tier: domain.TierFast, Provider: "", Requests: 1, Errors: 1},
					{Tier: domain.TierFast, Provider: domain.ProviderGroq, Requests: 2},
					{Tier: domain.TierSmart, Provider: domain.ProviderOpenRouter, Requests: 1, Errors: 1},
				},
				// Successes: 600 1000; first tokens: 30 60 80.
				Latency:    pct(800, 980, 996),
				FirstToken: pct(60, 78, 79.6),
				Feedback:   domain.FeedbackSummary{Down: 1},
			},
		},
		{
			name: "one sample, no quota counts", from: d(-5), to: d(-4), topUsers: 2,
			want: domain.Analytics{
				Days:        []domain.DayActivity{{Day: d(-5), ActiveUsers: 1, Requests: 1, Outcomes: map[domain.Outcome]int{domain.OutcomeSuccess: 1}, Latency: pct(250, 250, 250)}},
				ActiveUsers: 1, Requests: 1,
				TopUsers:   top("dave", 1),
				Routes:     []domain.RouteActivity{{Tier: domain.TierFast, Provider: domain.ProviderGroq, Requests: 1}},
				Latency:    pct(250, 250, 250),
				FirstToken: pct(25, 25, 25),
			},
		},
		{name: "no requests", from: d(10), to: d(11), topUsers: 2, want: empty},
		{name: "empty period", from: d(0), to: d(0), topUsers: 2, want: empty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: tc.from, To: tc.to, TopUsers: tc.topUsers})
			require.NoError(t, err)
			assertAnalytics(t, tc.want, got)
		})
	}
}

// assertAnalytics compares analytics, percentiles and averages within
// floating-point tolerance; slices may be nil where they are expected empty.
func assertAnalytics(t *testing.T, want, got domain.Analytics) {
	t.Helper()
	require.Len(t, got.Days, len(want.Days), "days: %+v", got.Days)
	for i := range want.Days {
		w, g := want.Days[i], got.Days[i]
		assert.True(t, w.Day.Equal(g.Day), "day %d: want %s, got %s", i, w.Day, g.Day)
		assert.Equal(t, w.ActiveUsers, g.ActiveUsers, "day %s active users", w.Day)
		assert.Equal(t, w.Requests, g.Requests, "day %s requests", w.Day)
		assert.InDelta(t, w.AvgQuotaUsed, g.AvgQuotaUsed, percentileDelta, "day %s average quota", w.Day)
		assert.Equal(t, w.CacheHits, g.CacheHits, "day %s cache hits", w.Day)
		assert.Equal(t, w.CacheMisses, g.CacheMisses, "day %s cache misses", w.Day)
		assert.Equal(t, w.Outcomes, g.Outcomes, "day %s outcomes", w.Day)
		assertPercentiles(t, "day "+w.Day.Format(time.DateOnly)+" latency", w.Latency, g.Latency)
	}
	assert.Equal(t, want.ActiveUsers, got.ActiveUsers, "active users")
	assert.Equal(t, want.Requests, got.Requests, "requests")
	assert.Equal(t, want.ClientErrors, got.ClientErrors, "client errors")
	assert.Equal(t, want.ServerErrors, got.ServerErrors, "server errors")
	assert.Equal(t, want.TopUsers, orEmpty(got.TopUsers), "top users")
	assert.Equal(t, want.Routes, orEmpty(got.Routes), "routes")
	assertPercentiles(t, "latency", want.Latency, got.Latency)
	assertPercentiles(t, "first token", want.FirstToken, got.FirstToken)
	assert.Equal(t, want.Feedback, got.Feedback, "feedback")
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func assertPercentiles(t *testing.T, name string, want, got domain.Percentiles) {
	t.Helper()
	for _, p := range []struct {
		label     string
		want, got *float64
	}{{"p50", want.P50, got.P50}, {"p95", want.P95, got.P95}, {"p99", want.P99, got.P99}} {
		if p.want == nil {
			assert.Nil(t, p.got, "%s %s", name, p.label)
			continue
		}
		if assert.NotNil(t, p.got, "%s %s", name, p.label) {
			assert.InDelta(t, *p.want, *p.got, percentileDelta, "%s %s", name, p.label)
		}
	}
}

func runListUsers(t *testing.T, a Admin) {
	ctx := context.Background()
	// In byte order; LIKE's wildcards and escape character are in some.
	emails := []string{
		"a%b@example.com", "a_b@example.com", "ada@example.com", "axb@example.com",
		`back\slash@example.com`, "carol@example.org", "zed@example.com",
	}
	ids := map[string]domain.UserID{}
	for _, i := range []int{6, 2, 0, 5, 1, 4, 3} { // created out of order
		ids[emails[i]] = a.user(t, emails[i])
	}
	today := adminDay
	a.setUsed(t, ids["ada@example.com"], today, 3)
	a.setUsed(t, ids["ada@example.com"], today.AddDate(0, 0, -1), 7)
	a.setUsed(t, ids["zed@example.com"], today.AddDate(0, 0, 1), 2)
	usedToday := map[string]int{"ada@example.com": 3}

	list := func(t *testing.T, f domain.UserFilter) []string {
		t.Helper()
		got, err := a.Admin.ListUsers(ctx, f, today)
		require.NoError(t, err)
		out := []string{}
		for _, u := range got {
			stored, err := a.Users.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, stored, u.User, "the account as stored")
			assert.Equal(t, usedToday[u.Email], u.UsedToday, "%s used today", u.Email)
			out = append(out, u.Email)
		}
		return out
	}

	for _, tc := range []struct {
		name string
		f    domain.UserFilter
		want []string
	}{
		{name: "all, by email", f: domain.UserFilter{Limit: 100}, want: emails},
		{name: "limit", f: domain.UserFilter{Limit: 2}, want: emails[:2]},
		{name: "after an email", f: domain.UserFilter{AfterEmail: "axb@example.com", Limit: 100}, want: emails[4:]},
		{name: "after an email that is not there", f: domain.UserFilter{AfterEmail: "b", Limit: 100}, want: emails[4:]},
		{name: "after the last", f: domain.UserFilter{AfterEmail: "zed@example.com", Limit: 100}, want: []string{}},
		{name: "substring", f: domain.UserFilter{Query: "xb", Limit: 100}, want: []string{"axb@example.com"}},
		{name: "any case", f: domain.UserFilter{Query: "EXAMPLE.ORG", Limit: 100}, want: []string{"carol@example.org"}},
		{name: "underscore is literal", f: domain.UserFilter{Query: "_", Limit: 100}, want: []string{"a_b@example.com"}},
		{name: "percent is literal", f: domain.UserFilter{Query: "%", Limit: 100}, want: []string{"a%b@example.com"}},
		{name: "backslash is literal", f: domain.UserFilter{Query: `\`, Limit: 100}, want: []string{`back\slash@example.com`}},
		{name: "escaped wildcard in a longer query", f: domain.UserFilter{Query: "A_B@", Limit: 100}, want: []string{"a_b@example.com"}},
		{name: "query and after", f: domain.UserFilter{Query: ".com", AfterEmail: "ada@example.com", Limit: 2}, want: []string{"axb@example.com", `back\slash@example.com`}},
		{name: "no match", f: domain.UserFilter{Query: "nobody", Limit: 100}, want: []string{}},
		{name: "zero limit", f: domain.UserFilter{}, want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, list(t, tc.f))
		})
	}

	t.Run("pages", func(t *testing.T) {
		for _, size := range []int{1, 2, 3, 7, 8} {
			var all []string
			after := ""
			for range len(emails) + 1 {
				page := list(t, domain.UserFilter{AfterEmail: after, Limit: size})
				all = append(all, page...)
				if len(page) < size {
					break
				}
				after = page[len(page)-1]
			}
			assert.Equal(t, emails, all, "page size %d", size)
		}
	})
}

func runUpdateUser(t *testing.T, a Admin) {
	ctx := context.Background()
	// at is when each patch applies; a change of disabled revokes tokens up to it.
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	for i, tc := range []struct {
		name  string
		patch domain.UserPatch
		want  func(u *domain.User)
	}{
		{name: "set quota", patch: domain.UserPatch{SetDailyQuota: true, DailyQuota: ptrTo(25)}, want: func(u *domain.User) { u.DailyQuota = ptrTo(25) }},
		{name: "set quota to zero", patch: domain.UserPatch{SetDailyQuota: true, DailyQuota: ptrTo(0)}, want: func(u *domain.User) { u.DailyQuota = ptrTo(0) }},
		{name: "reset quota to the default", patch: domain.UserPatch{SetDailyQuota: true}, want: func(u *domain.User) { u.DailyQuota = nil }},
		{name: "quota not set", patch: domain.UserPatch{DailyQuota: ptrTo(99), IsAdmin: ptrTo(true)}, want: func(u *domain.User) { u.IsAdmin = true }},
		{name: "grant admin", patch: domain.UserPatch{IsAdmin: ptrTo(true)}, want: func(u *domain.User) { u.IsAdmin = true }},
		{name: "revoke admin", patch: domain.UserPatch{IsAdmin: ptrTo(false)}, want: func(u *domain.User) { u.IsAdmin = false }},
		{name: "disable", patch: domain.UserPatch{Disabled: ptrTo(true)}, want: func(u *domain.User) { u.Disabled, u.TokensValidAfter = true, &at }},
		{name: "enable an enabled account changes nothing", patch: domain.UserPatch{Disabled: ptrTo(false)}, want: func(u *domain.User) { u.Disabled = false }},
		{
			name:  "everything at once",
			patch: domain.UserPatch{SetDailyQuota: true, DailyQuota: ptrTo(7), IsAdmin: ptrTo(false), Disabled: ptrTo(true)},
			want: func(u *domain.User) {
				u.DailyQuota, u.IsAdmin, u.Disabled, u.TokensValidAfter = ptrTo(7), false, true, &at
			},
		},
		{name: "empty patch", want: func(*domain.User) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from an admin with a quota of 10, enabled.
			id := a.user(t, fmt.Sprintf("u%d@example.com", i))
			before, err := a.Admin.UpdateUser(ctx, id, domain.UserPatch{SetDailyQuota: true, DailyQuota: ptrTo(10), IsAdmin: ptrTo(true)})
			require.NoError(t, err)
			require.Equal(t, ptrTo(10), before.DailyQuota)
			require.True(t, before.IsAdmin)
			require.False(t, before.Disabled)

			tc.patch.At = at
			got, err := a.Admin.UpdateUser(ctx, id, tc.patch)
			require.NoError(t, err)
			want := before
			tc.want(&want)
			assert.Equal(t, want, got)
			stored, err := a.Users.UserByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, want, stored)
		})
	}

	t.Run("every change of disabled revokes tokens, forward only", func(t *testing.T) {
		id := a.user(t, "toggle@example.com")
		steps := []struct {
			disabled bool
			at       time.Time
			want     time.Time
		}{
			{disabled: true, at: at, want: at},
			{disabled: false, at: at.Add(time.Minute), want: at.Add(time.Minute)}, // re-enabling revokes again
			{disabled: true, at: at.Add(-time.Hour), want: at.Add(time.Minute)},   // never backwards
		}
		for _, st := range steps {
			got, err := a.Admin.UpdateUser(ctx, id, domain.UserPatch{Disabled: ptrTo(st.disabled), At: st.at})
			require.NoError(t, err)
			assert.Equal(t, st.disabled, got.Disabled)
			require.NotNil(t, got.TokensValidAfter)
			assert.True(t, st.want.Equal(*got.TokensValidAfter), "got %v, want %v", got.TokensValidAfter, st.want)
		}
		got, err := a.Admin.UpdateUser(ctx, id, domain.UserPatch{IsAdmin: ptrTo(true), At: at.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, at.Add(time.Minute).Equal(*got.TokensValidAfter), "a patch that leaves disabled alone revokes nothing")
	})

	t.Run("missing users are not found", func(t *testing.T) {
		for _, id := range []domain.UserID{"5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "not-a-uuid", ""} {
			_, err := a.Admin.UpdateUser(ctx, id, domain.UserPatch{IsAdmin: ptrTo(true)})
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "id %q: %v", id, err)
		}
	})
}

func runListRequests(t *testing.T, a Admin) {
	ctx := context.Background()
	alice, bob := a.user(t, "alice@example.com"), a.user(t, "bob@example.com")
	base := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	// Twelve records, three to an instant, logged out of time order; every
	// field set on some. An API of "" is the native API.
	apis := []string{domain.APIOpenAI, "", domain.APINative}
	outcomes := []domain.Outcome{domain.OutcomeSuccess, domain.OutcomeError, domain.OutcomeSuccess, domain.OutcomeInterrupted}
	providers := []domain.Provider{domain.ProviderGroq, domain.ProviderOpenRouter, ""}
	var records []domain.RequestRecord
	for i := range 12 {
		r := domain.RequestRecord{
			RequestID: fmt.Sprintf("req-%02d", i),
			API:       apis[i/2%3],
			UserID:    []domain.UserID{alice, bob}[i%2],
			Tier:      domain.TierFast,
			Provider:  providers[i%3],
			Outcome:   outcomes[i%4],
			Latency:   time.Duration(100+i) * time.Millisecond,
			CreatedAt: base.Add(time.Duration((11-i)/3) * time.Second),
		}
		if r.Provider != "" {
			r.UpstreamModel = "model-" + string(r.Provider)
			r.KeyIndex = ptrTo(i % 2)
			r.FirstToken = ptrTo(time.Duration(10+i) * time.Millisecond)
			r.Usage = domain.Usage{PromptTokens: 10 * i, CompletionTokens: 20 * i}
			r.Stream = i%2 == 0
		}
		if r.Outcome == domain.OutcomeError {
			r.ErrorCode = "providers_unavailable"
			r.Attempts = []domain.Attempt{
				{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: ptrTo(1)},
				{Provider: domain.ProviderHuggingFace, Reason: "timeout"},
			}
		}
		records = append(records, r)
	}
	records[5].RequestID = "" // logged without an id
	// An image: no tier, its kind kept.
	records[7].Kind, records[7].Tier = domain.RequestKindImage, ""
	a.Log(t, records...)
	byRequest := map[string]domain.RequestRecord{}
	for _, r := range records {
		if r.API == "" {
			r.API = domain.APINative
		}
		if r.Kind == "" {
			r.Kind = domain.RequestKindChat // a record without one is a chat
		}
		byRequest[r.RequestID] = r
	}

	list := func(t *testing.T, f domain.RequestFilter) []domain.LoggedRequest {
		t.Helper()
		got, err := a.Admin.ListRequests(ctx, f)
		require.NoError(t, err)
		return got
	}

	all := list(t, domain.RequestFilter{Limit: 100})
	require.Len(t, all, len(records))
	for i, r := range all {
		assert.Equal(t, byRequest[r.RequestID], r.RequestRecord, "record %q round trips", r.RequestID)
		if i > 0 {
			prev := all[i-1]
			newer := prev.CreatedAt.After(r.CreatedAt) || prev.CreatedAt.Equal(r.CreatedAt) && prev.ID > r.ID
			assert.True(t, newer, "row %d (%s, %d) comes after row %d (%s, %d)", i, r.CreatedAt, r.ID, i-1, prev.CreatedAt, prev.ID)
		}
	}
	// Rows logged together at one instant: the one logged last comes first.
	assert.Equal(t, []string{"req-02", "req-01", "req-00"}, requestIDs(all[:3]))

	// filtered is all's rows that keep says, in all's order.
	filtered := func(keep func(domain.LoggedRequest) bool) []string {
		out := []string{}
		for _, r := range all {
			if keep(r) {
				out = append(out, r.RequestID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    domain.RequestFilter
		want []string
	}{
		{name: "user", f: domain.RequestFilter{UserID: alice}, want: filtered(func(r domain.LoggedRequest) bool { return r.UserID == alice })},
		{name: "provider", f: domain.RequestFilter{Provider: domain.ProviderGroq}, want: filtered(func(r domain.LoggedRequest) bool { return r.Provider == domain.ProviderGroq })},
		{name: "outcome", f: domain.RequestFilter{Outcome: domain.OutcomeError}, want: filtered(func(r domain.LoggedRequest) bool { return r.Outcome == domain.OutcomeError })},
		{
			name: "user, provider and outcome",
			f:    domain.RequestFilter{UserID: bob, Provider: domain.ProviderOpenRouter, Outcome: domain.OutcomeError},
			want: filtered(func(r domain.LoggedRequest) bool {
				return r.UserID == bob && r.Provider == domain.ProviderOpenRouter && r.Outcome == domain.OutcomeError
			}),
		},
		{name: "limit", f: domain.RequestFilter{Limit: 4}, want: requestIDs(all[:4])},
		{name: "before a row", f: domain.RequestFilter{Before: &domain.RequestCursor{CreatedAt: all[4].CreatedAt, ID: all[4].ID}}, want: requestIDs(all[5:])},
		{
			name: "before an instant",
			f:    domain.RequestFilter{Before: &domain.RequestCursor{CreatedAt: base.Add(2 * time.Second)}},
			want: filtered(func(r domain.LoggedRequest) bool { return r.CreatedAt.Before(base.Add(2 * time.Second)) }),
		},
		{name: "unknown provider", f: domain.RequestFilter{Provider: "nobody"}, want: []string{}},
		{name: "unknown user", f: domain.RequestFilter{UserID: "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"}, want: []string{}},
		{name: "user id that is not one", f: domain.RequestFilter{UserID: "not-a-uuid"}, want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.Limit == 0 {
				tc.f.Limit = 100
			}
			assert.Equal(t, tc.want, requestIDs(list(t, tc.f)))
		})
	}

	t.Run("zero limit", func(t *testing.T) {
		assert.Empty(t, list(t, domain.RequestFilter{}))
	})

	t.Run("pages", func(t *testing.T) {
		for _, tc := range []struct {
			user domain.UserID
			want []domain.LoggedRequest
		}{
			{want: all},
			{user: bob, want: slices.DeleteFunc(slices.Clone(all), func(r domain.LoggedRequest) bool { return r.UserID != bob })},
		} {
			for _, size := range []int{1, 2, 3, 5, 12, 13} {
				var got []domain.LoggedRequest
				f := domain.RequestFilter{UserID: tc.user, Limit: size}
				for range len(all) + 1 {
					page := list(t, f)
					got = append(got, page...)
					if len(page) < size {
						break
					}
					last := page[len(page)-1]
					f.Before = &domain.RequestCursor{CreatedAt: last.CreatedAt, ID: last.ID}
				}
				assert.Equal(t, tc.want, got, "user %q, page size %d: every row once, in order", tc.user, size)
			}
		}
	})
}

func requestIDs(rs []domain.LoggedRequest) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.RequestID)
	}
	return out
}

// RunFeedbackStore checks the ports.FeedbackStore contract; newAdmin
// returns empty stores for each subtest.
func RunFeedbackStore(t *testing.T, newAdmin func(t *testing.T) Admin) {
	ctx := context.Background()
	at := adminDay.Add(9*time.Hour + 123456*time.Microsecond)

	// seed logs alice's and bob's requests.
	seed := func(t *testing.T, a Admin) (alice, bob domain.UserID) {
		t.Helper()
		alice, bob = a.user(t, "alice@example.com"), a.user(t, "bob@example.com")
		rec := func(user domain.UserID, id string, outcome domain.Outcome) domain.RequestRecord {
			return domain.RequestRecord{RequestID: id, UserID: user, Tier: domain.TierFast, Provider: domain.ProviderGroq, Outcome: outcome, CreatedAt: at}
		}
		a.Log(t,
			rec(alice, "r-success", domain.OutcomeSuccess),
			rec(alice, "r-interrupted", domain.OutcomeInterrupted),
			rec(alice, "r-error", domain.OutcomeError),
			rec(alice, "r-cancelled", domain.OutcomeCancelled),
			rec(alice, "r-quota", domain.OutcomeQuota),
			rec(alice, "r-invalid", domain.OutcomeInvalid),
			rec(bob, "r-bob", domain.OutcomeSuccess),
			// A client reusing an id: one of the two was answered.
			rec(alice, "r-reused", domain.OutcomeError),
			rec(alice, "r-reused", domain.OutcomeSuccess),
			rec(alice, "", domain.OutcomeSuccess),
		)
		return alice, bob
	}

	t.Run("only the user's own answered requests", func(t *testing.T) {
		t.Parallel()
		a := newAdmin(t)
		alice, bob := seed(t, a)
		for _, tc := range []struct {
			user      domain.UserID
			requestID string
			found     bool
		}{
			{alice, "r-success", true},
			{alice, "r-interrupted", true},
			{alice, "r-reused", true},
			{bob, "r-bob", true},
			{alice, "r-error", false},
			{alice, "r-cancelled", false},
			{alice, "r-quota", false},
			{alice, "r-invalid", false},
			{alice, "r-bob", false},
			{bob, "r-success", false},
			{alice, "r-unknown", false},
			{alice, "", false},
			{"not-a-uuid", "r-success", false},
			{"5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "r-success", false},
		} {
			f := domain.Feedback{UserID: tc.user, RequestID: tc.requestID, Rating: domain.RatingUp, Comment: "thanks", CreatedAt: at, UpdatedAt: at}
			got, err := a.Feedback.SaveFeedback(ctx, f)
			if !tc.found {
				assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "%s %q: %v", tc.user, tc.requestID, err)
				continue
			}
			if assert.NoError(t, err, "%s %q", tc.user, tc.requestID) {
				assert.Equal(t, f, got)
			}
		}
	})

	t.Run("rating again replaces the rating and keeps created_at", func(t *testing.T) {
		t.Parallel()
		a := newAdmin(t)
		alice, _ := seed(t, a)
		first := domain.Feedback{UserID: alice, RequestID: "r-success", Rating: domain.RatingUp, Comment: "great answer, é", CreatedAt: at, UpdatedAt: at}
		got, err := a.Feedback.SaveFeedback(ctx, first)
		require.NoError(t, err)
		assert.Equal(t, first, got)

		later := at.Add(90 * time.Minute)
		second := domain.Feedback{UserID: alice, RequestID: "r-success", Rating: domain.RatingDown, CreatedAt: later, UpdatedAt: later}
		got, err = a.Feedback.SaveFeedback(ctx, second)
		require.NoError(t, err)
		assert.Equal(t, domain.Feedback{UserID: alice, RequestID: "r-success", Rating: domain.RatingDown, CreatedAt: at, UpdatedAt: later}, got)

		// One rating, counted on the day it was first given, without a comment now.
		for _, tc := range []struct {
			from time.Time
			want domain.FeedbackSummary
		}{
			{adminDay, domain.FeedbackSummary{Down: 1}},
			{adminDay.AddDate(0, 0, 1), domain.FeedbackSummary{}},
		} {
			an, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: tc.from, To: tc.from.AddDate(0, 0, 1)})
			require.NoError(t, err)
			assert.Equal(t, tc.want, an.Feedback, "from %s", tc.from)
		}
	})

	t.Run("an empty comment is none", func(t *testing.T) {
		t.Parallel()
		a := newAdmin(t)
		alice, bob := seed(t, a)
		for _, f := range []domain.Feedback{
			{UserID: alice, RequestID: "r-success", Rating: domain.RatingUp, CreatedAt: at, UpdatedAt: at},
			{UserID: alice, RequestID: "r-interrupted", Rating: domain.RatingDown, Comment: "cut off", CreatedAt: at, UpdatedAt: at},
			{UserID: bob, RequestID: "r-bob", Rating: domain.RatingDown, CreatedAt: at, UpdatedAt: at},
		} {
			got, err := a.Feedback.SaveFeedback(ctx, f)
			require.NoError(t, err)
			assert.Equal(t, f, got)
		}
		an, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: adminDay, To: adminDay.AddDate(0, 0, 1)})
		require.NoError(t, err)
		assert.Equal(t, domain.FeedbackSummary{Up: 1, Down: 2, WithComment: 1}, an.Feedback)
	})

	t.Run("a user's ratings, oldest first, theirs only", func(t *testing.T) {
		t.Parallel()
		a := newAdmin(t)
		alice, bob := seed(t, a)
		later := at.Add(time.Hour)
		mine := []domain.Feedback{
			{UserID: alice, RequestID: "r-success", Rating: domain.RatingUp, Comment: "thanks", CreatedAt: at, UpdatedAt: later},
			{UserID: alice, RequestID: "r-interrupted", Rating: domain.RatingDown, CreatedAt: later, UpdatedAt: later},
		}
		for _, f := range append([]domain.Feedback{mine[1], {UserID: bob, RequestID: "r-bob", Rating: domain.RatingDown, CreatedAt: at, UpdatedAt: at}}, mine[0]) {
			_, err := a.Feedback.SaveFeedback(ctx, f)
			require.NoError(t, err)
		}
		got, err := a.Feedback.UserFeedback(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, mine, got)
		for _, none := range []domain.UserID{"not-a-uuid", "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"} {
			got, err := a.Feedback.UserFeedback(ctx, none)
			require.NoError(t, err)
			assert.Empty(t, got, none)
			assert.NotNil(t, got, none)
		}
	})
}

// runKinds checks Analytics.Kinds: every kind of request counted with its
// client and server errors, kinds without requests at zero, in
// domain.RequestKinds order.
func runKinds(t *testing.T, a Admin) {
	ctx := context.Background()
	alice := a.user(t, "kinds@example.com")
	at := adminDay.Add(time.Hour)
	var records []domain.RequestRecord
	for i, r := range []struct {
		kind    domain.RequestKind
		tier    domain.Tier
		outcome domain.Outcome
	}{
		{domain.RequestKindChat, domain.TierFast, domain.OutcomeSuccess},
		{domain.RequestKindChat, domain.TierSmart, domain.OutcomeInterrupted},
		{domain.RequestKindImage, "", domain.OutcomeSuccess},
		{domain.RequestKindImage, "", domain.OutcomeQuota},
		{domain.RequestKindImage, "", domain.OutcomeError},
		{domain.RequestKindSpeech, "", domain.OutcomeInvalid},
	} {
		rec := domain.RequestRecord{RequestID: fmt.Sprintf("k-%d", i), UserID: alice, Kind: r.kind, Tier: r.tier,
			Outcome: r.outcome, CreatedAt: at.Add(time.Duration(i) * time.Minute)}
		if r.outcome == domain.OutcomeSuccess {
			rec.Provider = domain.ProviderGroq
		}
		records = append(records, rec)
	}
	a.Log(t, records...)

	an, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: adminDay, To: adminDay.AddDate(0, 0, 1)})
	require.NoError(t, err)
	assert.Equal(t, []domain.KindActivity{
		{Kind: domain.RequestKindChat, Requests: 2, ServerErrors: 1},
		{Kind: domain.RequestKindImage, Requests: 3, ClientErrors: 1, ServerErrors: 1},
		{Kind: domain.RequestKindTranscription},
		{Kind: domain.RequestKindSpeech, Requests: 1, ClientErrors: 1},
	}, an.Kinds)
	assert.Equal(t, 6, an.Requests, "the kinds add up to the total")

	none, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: adminDay.AddDate(0, 0, 5), To: adminDay.AddDate(0, 0, 6)})
	require.NoError(t, err)
	assert.Equal(t, domain.NewKindActivities(), none.Kinds, "every kind, at zero")
}

// runConversationDays checks Analytics.ConversationDays: conversations
// started and messages stored per UTC day of the period, days without
// either left out, what is deleted not counted.
func runConversationDays(t *testing.T, a Admin) {
	if a.Conversations == nil {
		t.Skip("no conversation store")
	}
	ctx := context.Background()
	alice, bob := a.user(t, "alice@example.com"), a.user(t, "bob@example.com")
	start := func(u domain.UserID, at time.Time) domain.ConversationID {
		c, err := a.Conversations.CreateConversation(ctx, domain.NewConversation{UserID: u, CreatedAt: at}, 100)
		require.NoError(t, err)
		return c.ID
	}
	say := func(u domain.UserID, c domain.ConversationID, at time.Time) {
		_, err := a.Conversations.AppendMessage(ctx, domain.NewConversationMessage{UserID: u, Message: domain.ConversationMessage{
			ConversationID: c, Role: domain.MessageFromUser, Content: "hi", Status: domain.MessageComplete, CreatedAt: at,
		}})
		require.NoError(t, err)
	}
	day0, day1, day3 := adminDay, adminDay.AddDate(0, 0, 1), adminDay.AddDate(0, 0, 3)
	c1 := start(alice, day0.Add(23*time.Hour+59*time.Minute))
	say(alice, c1, day0.Add(23*time.Hour+59*time.Minute))
	say(alice, c1, day1) // midnight: the next day
	c2 := start(bob, day1.Add(time.Hour))
	say(bob, c2, day3.Add(time.Hour))
	say(bob, c2, day3.Add(2*time.Hour))
	gone := start(bob, day0.Add(time.Hour))
	say(bob, gone, day0.Add(time.Hour))
	require.NoError(t, a.Conversations.DeleteConversation(ctx, bob, gone))
	start(alice, day0.AddDate(0, 0, -1)) // before the period
	start(alice, day0.AddDate(0, 0, 4))  // after it

	an, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: day0, To: day0.AddDate(0, 0, 4)})
	require.NoError(t, err)
	want := []domain.ConversationDay{
		{Day: day0, Conversations: 1, Messages: 1},
		{Day: day1, Conversations: 1, Messages: 1},
		{Day: day3, Conversations: 0, Messages: 2},
	}
	require.Len(t, an.ConversationDays, len(want), "%+v", an.ConversationDays)
	for i, w := range want {
		g := an.ConversationDays[i]
		assert.True(t, w.Day.Equal(g.Day), "day %d: want %s, got %s", i, w.Day, g.Day)
		assert.Equal(t, w.Conversations, g.Conversations, "day %s conversations", w.Day)
		assert.Equal(t, w.Messages, g.Messages, "day %s messages", w.Day)
	}

	none, err := a.Admin.Analytics(ctx, domain.AnalyticsQuery{From: day0.AddDate(0, 0, 10), To: day0.AddDate(0, 0, 11)})
	require.NoError(t, err)
	assert.Empty(t, none.ConversationDays)
}
