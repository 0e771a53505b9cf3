package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
	"github.com/genzai/genzai/domain/email"
)

var noon = time.Date(2025, 12, 25, 12, 0, 0, 0, time.UTC)

// fakeStore is an AdminStore over fixed rows that records what it was asked.
type fakeStore struct {
	users    []domain.UserUsage // sorted by email
	requests []domain.LoggedRequest
	analytic domain.Analytics

	userFilter    domain.UserFilter
	userDay       time.Time
	requestFilter domain.RequestFilter
	query         domain.AnalyticsQuery
	patched       domain.UserPatch
	audit         []domain.AuditEntry
}

func (f *fakeStore) RevokeAPIKeys(context.Context, domain.UserID) error { return nil }

func (f *fakeStore) UserByID(_ context.Context, id domain.UserID) (domain.User, error) {
	for _, u := range f.users {
		if u.ID == id {
			return u.User, nil
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no such user")
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (domain.User, error) {
	for _, u := range f.users {
		if u.Email == email {
			return u.User, nil
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no such user")
}

func (f *fakeStore) RecordAudit(_ context.Context, e domain.AuditEntry) (domain.AuditEntry, error) {
	e.ID = int64(len(f.audit) + 1)
	f.audit = append(f.audit, e)
	return e, nil
}

func (f *fakeStore) AuditEntries(_ context.Context, af domain.AuditFilter) ([]domain.AuditEntry, error) {
	var out []domain.AuditEntry
	for i := len(f.audit) - 1; i >= 0 && len(out) < af.Limit; i-- {
		if af.BeforeID == 0 || f.audit[i].ID < af.BeforeID {
			out = append(out, f.audit[i])
		}
	}
	return out, nil
}

// The pending change tests run over SQLite (pending_test.go); these are
// never reached from the tests here.
func (f *fakeStore) CreatePendingChange(context.Context, domain.PendingChange) (domain.PendingChange, error) {
	return domain.PendingChange{}, errors.New("not used")
}

func (f *fakeStore) PendingChange(context.Context, domain.PendingChangeID) (domain.PendingChange, error) {
	return domain.PendingChange{}, errors.New("not used")
}

func (f *fakeStore) ConfirmPendingChange(context.Context, domain.PendingChangeID, domain.UserID, time.Time) (domain.PendingChange, domain.User, error) {
	return domain.PendingChange{}, domain.User{}, errors.New("not used")
}

func (f *fakeStore) ListUsers(_ context.Context, uf domain.UserFilter, day time.Time) ([]domain.UserUsage, error) {
	f.userFilter, f.userDay = uf, day
	var out []domain.UserUsage
	for _, u := range f.users {
		if u.Email > uf.AfterEmail && len(out) < uf.Limit {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *fakeStore) UpdateUser(_ context.Context, id domain.UserID, p domain.UserPatch) (domain.User, error) {
	f.patched = p
	for _, u := range f.users {
		if u.ID == id {
			if p.SetDailyQuota {
				u.DailyQuota = p.DailyQuota
			}
			return u.User, nil
		}
	}
	return domain.User{}, domain.Errorf(domain.CodeNotFound, "no such user")
}

func (f *fakeStore) ListRequests(_ context.Context, rf domain.RequestFilter) ([]domain.LoggedRequest, error) {
	f.requestFilter = rf
	var out []domain.LoggedRequest
	for _, r := range f.requests {
		if rf.Before != nil && !r.CreatedAt.Before(rf.Before.CreatedAt) && !(r.CreatedAt.Equal(rf.Before.CreatedAt) && r.ID < rf.Before.ID) {
			continue
		}
		if len(out) < rf.Limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeStore) Analytics(_ context.Context, q domain.AnalyticsQuery) (domain.Analytics, error) {
	f.query = q
	return f.analytic, nil
}

var (
	adminUser = domain.User{ID: "a", Email: "admin@example.com", IsAdmin: true}
	plainUser = domain.User{ID: "u", Email: "user@example.com"}
)

func newService(store *fakeStore) (*admin.Service, *memory.Store) {
	quotas := memory.NewStore()
	return admin.New(store, quotas, memory.NewClock(noon), 50, email.New(idn.Lookup{}), nil), quotas
}

func TestEveryMethodRefusesNonAdmins(t *testing.T) {
	t.Parallel()
	svc, _ := newService(&fakeStore{})
	ctx := context.Background()
	yes := true
	calls := map[string]func() error{
		"analytics": func() error { _, err := svc.Analytics(ctx, plainUser, 7); return err },
		"users":     func() error { _, err := svc.ListUsers(ctx, plainUser, "", nil, ""); return err },
		"update": func() error {
			_, err := svc.UpdateUser(ctx, plainUser, "", plainUser.ID, domain.UserPatch{IsAdmin: &yes})
			return err
		},
		"confirm":  func() error { _, err := svc.ConfirmChange(ctx, plainUser, "", "c"); return err },
		"audit":    func() error { _, err := svc.Audit(ctx, plainUser, nil, ""); return err },
		"requests": func() error { _, err := svc.ListRequests(ctx, plainUser, admin.RequestQuery{}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Error(t, err)
			assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
			assert.Contains(t, err.Error(), "Admin access required")
		})
	}
}

func TestAnalyticsPeriodAndFilledDays(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2025, 12, d, 0, 0, 0, 0, time.UTC) }
	store := &fakeStore{analytic: domain.Analytics{
		Requests: 9,
		Routes: []domain.RouteActivity{
			{Tier: domain.TierSmart, Provider: "groq"},
			{Tier: domain.TierFast, Provider: ""},
			{Tier: domain.TierBalanced, Provider: "openrouter"},
			{Tier: domain.TierFast, Provider: "openrouter"},
			{Tier: domain.TierFast, Provider: "groq"},
		},
		Days: []domain.DayActivity{
			{Day: day(23), ActiveUsers: 2, Requests: 5, AvgQuotaUsed: 2.5},
			{Day: day(25), ActiveUsers: 1, Requests: 4, AvgQuotaUsed: 4},
		},
	}}
	svc, _ := newService(store)
	r, err := svc.Analytics(context.Background(), adminUser, 4)
	require.NoError(t, err)

	assert.Equal(t, domain.AnalyticsQuery{From: day(22), To: day(26), TopUsers: admin.TopUsers}, store.query)
	assert.Equal(t, 4, r.Days)
	assert.Equal(t, day(22), r.From)
	assert.Equal(t, day(25), r.To, "the period ends today")
	assert.Equal(t, []domain.DayActivity{
		{Day: day(22)},
		{Day: day(23), ActiveUsers: 2, Requests: 5, AvgQuotaUsed: 2.5},
		{Day: day(24)},
		{Day: day(25), ActiveUsers: 1, Requests: 4, AvgQuotaUsed: 4},
	}, r.Analytics.Days)
	assert.Equal(t, 9, r.Requests)
	assert.Equal(t, []domain.RouteActivity{
		{Tier: domain.TierFast, Provider: "groq"},
		{Tier: domain.TierFast, Provider: "openrouter"},
		{Tier: domain.TierFast, Provider: ""},
		{Tier: domain.TierBalanced, Provider: "openrouter"},
		{Tier: domain.TierSmart, Provider: "groq"},
	}, r.Routes, "tiers in their order, providers by name, unanswered last")
}

func TestAnalyticsDaysBounds(t *testing.T) {
	t.Parallel()
	svc, _ := newService(&fakeStore{})
	for _, days := range []int{-1, 0, 91, 1000} {
		_, err := svc.Analytics(context.Background(), adminUser, days)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "days=%d", days)
	}
	for _, days := range []int{1, 90} {
		_, err := svc.Analytics(context.Background(), adminUser, days)
		assert.NoError(t, err, "days=%d", days)
	}
}

func TestListUsersPages(t *testing.T) {
	t.Parallel()
	own := 7
	store := &fakeStore{users: []domain.UserUsage{
		{User: domain.User{ID: "1", Email: "a@example.com"}, UsedToday: 3},
		{User: domain.User{ID: "2", Email: "b@example.com", DailyQuota: &own}},
		{User: domain.User{ID: "3", Email: "c@example.com"}},
	}}
	svc, _ := newService(store)
	ctx := context.Background()

	p1, err := svc.ListUsers(ctx, adminUser, "  EXAMPLE ", ptr(2), "")
	require.NoError(t, err)
	assert.Equal(t, "example", store.userFilter.Query, "the query is trimmed and lower-cased")
	assert.Equal(t, 3, store.userFilter.Limit, "one more than the page tells whether there is a next")
	assert.Equal(t, domain.QuotaDay(noon), store.userDay)
	require.Len(t, p1.Users, 2)
	assert.Equal(t, 50, p1.Users[0].EffectiveQuota)
	assert.Equal(t, 3, p1.Users[0].UsedToday)
	assert.Equal(t, 7, p1.Users[1].EffectiveQuota)
	require.NotEmpty(t, p1.NextCursor)

	p2, err := svc.ListUsers(ctx, adminUser, "", ptr(2), p1.NextCursor)
	require.NoError(t, err)
	assert.Equal(t, "b@example.com", store.userFilter.AfterEmail)
	require.Len(t, p2.Users, 1)
	assert.Equal(t, "c@example.com", p2.Users[0].Email)
	assert.Empty(t, p2.NextCursor, "the last page has no cursor")
}

func TestListUsersRejects(t *testing.T) {
	t.Parallel()
	svc, _ := newService(&fakeStore{})
	long := make([]byte, 255)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name   string
		query  string
		limit  *int
		cursor string
		want   string
	}{
		{"zero limit", "", ptr(0), "", "limit"},
		{"negative limit", "", ptr(-1), "", "limit"},
		{"limit over the maximum", "", ptr(admin.MaxUserPage + 1), "", "limit"},
		{"cursor not base64", "", nil, "%%%", "cursor"},
		{"empty cursor payload", "", nil, "=", "cursor"},
		{"query too long", string(long), nil, "", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.ListUsers(context.Background(), adminUser, tt.query, tt.limit, tt.cursor)
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	yes, no, big, neg, ten := true, false, admin.MaxDailyQuota+1, -1, 10
	tests := []struct {
		name    string
		id      domain.UserID
		patch   domain.UserPatch
		code    domain.Code
		message string
	}{
		{"empty patch", "u", domain.UserPatch{}, domain.CodeInvalid, "at least one"},
		{"quota too big", "u", domain.UserPatch{SetDailyQuota: true, DailyQuota: &big}, domain.CodeInvalid, "daily_quota"},
		{"negative quota", "u", domain.UserPatch{SetDailyQuota: true, DailyQuota: &neg}, domain.CodeInvalid, "daily_quota"},
		{"disable oneself", "a", domain.UserPatch{Disabled: &yes}, domain.CodeInvalid, "cannot disable themselves"},
		{"demote oneself", "a", domain.UserPatch{IsAdmin: &no}, domain.CodeInvalid, "cannot demote themselves"},
		{"unknown user", "nobody", domain.UserPatch{Disabled: &yes}, domain.CodeNotFound, "no such user"},
		{"set a quota", "u", domain.UserPatch{SetDailyQuota: true, DailyQuota: &ten}, "", ""},
		{"reset the quota", "u", domain.UserPatch{SetDailyQuota: true}, "", ""},
		{"an admin keeps their own flag", "a", domain.UserPatch{IsAdmin: &yes, Disabled: &no}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{users: []domain.UserUsage{{User: adminUser}, {User: plainUser}}}
			svc, quotas := newService(store)
			if tt.code != "" {
				_, err := svc.UpdateUser(context.Background(), adminUser, "", tt.id, tt.patch)
				require.Error(t, err)
				assert.Equal(t, tt.code, domain.ErrorCode(err))
				assert.Contains(t, err.Error(), tt.message)
				return
			}
			u, err := quotas.CreateUser(context.Background(), domain.NewUser{Email: "x@example.com"})
			require.NoError(t, err)
			store.users = append(store.users, domain.UserUsage{User: u})
			_, _, err = quotas.ConsumeQuota(context.Background(), u.ID, domain.QuotaDay(noon), 5, 1)
			require.NoError(t, err)
			if tt.id == "u" {
				tt.id = u.ID
			}
			res, err := svc.UpdateUser(context.Background(), adminUser, "req-1", tt.id, tt.patch)
			require.NoError(t, err)
			require.NotNil(t, res.User)
			assert.Nil(t, res.Pending)
			v := *res.User
			require.NotEmpty(t, store.audit, "every change is audited")
			for _, e := range store.audit {
				assert.Equal(t, adminUser.ID, e.ActorID)
				assert.Equal(t, tt.id, e.TargetID)
				assert.Equal(t, "req-1", e.RequestID)
			}
			want := tt.patch
			want.At = noon // stamped by the service, so a change of disabled revokes tokens up to now
			assert.Equal(t, want, store.patched)
			if tt.id == u.ID {
				assert.Equal(t, 1, v.UsedToday, "today's usage comes with the answer")
			}
			wantQuota := 50
			if tt.patch.DailyQuota != nil {
				wantQuota = *tt.patch.DailyQuota
			}
			assert.Equal(t, wantQuota, v.EffectiveQuota)
		})
	}
}

func TestListRequestsCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := noon.Add(-time.Hour)
	store := &fakeStore{requests: []domain.LoggedRequest{
		{ID: 5, RequestRecord: domain.RequestRecord{CreatedAt: at.Add(2 * time.Microsecond)}},
		{ID: 4, RequestRecord: domain.RequestRecord{CreatedAt: at}},
		{ID: 3, RequestRecord: domain.RequestRecord{CreatedAt: at}},
		{ID: 9, RequestRecord: domain.RequestRecord{CreatedAt: at.Add(-time.Second)}},
	}}
	svc, _ := newService(store)
	ctx := context.Background()
	var seen []int64
	cursor := ""
	for range 10 {
		page, err := svc.ListRequests(ctx, adminUser, admin.RequestQuery{Limit: ptr(2), Cursor: cursor, Outcome: domain.OutcomeSuccess, Provider: "groq", UserID: "u"})
		require.NoError(t, err)
		assert.Equal(t, domain.OutcomeSuccess, store.requestFilter.Outcome)
		assert.Equal(t, domain.Provider("groq"), store.requestFilter.Provider)
		assert.Equal(t, domain.UserID("u"), store.requestFilter.UserID)
		for _, r := range page.Requests {
			seen = append(seen, r.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, []int64{5, 4, 3, 9}, seen, "every row once, newest first, equal times split by id")
}

func TestListRequestsRejects(t *testing.T) {
	t.Parallel()
	svc, _ := newService(&fakeStore{})
	tests := []struct {
		name string
		q    admin.RequestQuery
		want string
	}{
		{"unknown outcome", admin.RequestQuery{Outcome: "exploded"}, "outcome"},
		{"limit too big", admin.RequestQuery{Limit: ptr(admin.MaxLogPage + 1)}, "limit"},
		{"zero limit", admin.RequestQuery{Limit: ptr(0)}, "limit"},
		{"garbage cursor", admin.RequestQuery{Cursor: "bm90LWEtY3Vyc29y"}, "cursor"},
		{"cursor with a negative id", admin.RequestQuery{Cursor: "MTotMQ"}, "cursor"},
		{"provider too long", admin.RequestQuery{Provider: string(make([]byte, 65))}, "provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.ListRequests(context.Background(), adminUser, tt.q)
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func ptr[T any](v T) *T { return &v }
