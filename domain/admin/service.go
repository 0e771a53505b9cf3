// Package admin is the administration use case: analytics over the request
// log, the account list with today's usage, changing an account's quota,
// admin flag or disabled flag (with a second admin's confirmation when it
// disables or demotes another admin), the audit log of those changes, and
// reading the request log. Every method refuses callers who are not admins,
// except the operator's, which the CLI calls with the database's URL.
package admin

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	emailaddr "github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/ports"
)

// Bounds of the inputs.
const (
	MaxDays          = 90
	DefaultDays      = 7
	DefaultUserPage  = 50
	MaxUserPage      = 200
	DefaultLogPage   = 50
	MaxLogPage       = 500
	MaxDailyQuota    = 1_000_000
	TopUsers         = 10
	maxQueryChars    = 254
	maxProviderChars = 64
	DefaultAuditPage = 50
	MaxAuditPage     = 500
	// PendingChangeTTL is how long a change that waits for a second admin
	// can be confirmed.
	PendingChangeTTL = 24 * time.Hour
)

// Store is what the use case reads and changes: accounts, the request log,
// the audit log and pending changes.
type Store interface {
	ports.AdminStore
	ports.AuditLog
	ports.ChangeStore
	// UserByID, UserByEmail and RevokeAPIKeys as in ports.UserStore.
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	UserByEmail(ctx context.Context, email string) (domain.User, error)
	RevokeAPIKeys(ctx context.Context, id domain.UserID) error
}

// Service answers administrators.
type Service struct {
	store        Store
	quotas       ports.QuotaStore
	clock        ports.Clock
	defaultQuota int
	emails       emailaddr.Normalizer
	router       Router
}

// New builds a Service; defaultQuota is the daily limit of users without
// their own, emails normalises the addresses the operator names, router is
// the provider router whose state Providers reports (nil: none, as for the
// operator, who has no router).
func New(store Store, quotas ports.QuotaStore, clock ports.Clock, defaultQuota int, emails emailaddr.Normalizer, router Router) *Service {
	return &Service{store: store, quotas: quotas, clock: clock, defaultQuota: defaultQuota, emails: emails, router: router}
}

var errAdminOnly = domain.Errorf(domain.CodeForbidden, "Admin access required")

func requireAdmin(actor domain.User) error {
	if !actor.IsAdmin {
		return errAdminOnly
	}
	return nil
}

// Report is the analytics of a period of whole UTC days.
type Report struct {
	domain.Analytics
	// Days is the length of the period; From is its first day and To its
	// last (today).
	Days     int
	From, To time.Time
}

// Analytics reports on the last days UTC days, today included; Days then
// holds one entry per day of the period, zeros where there was no traffic.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) Analytics(ctx context.Context, actor domain.User, days int) (Report, error) {
	if err := requireAdmin(actor); err != nil {
		return Report{}, err
	}
	if days < 1 || days > MaxDays {
		return Report{}, domain.Invalid("days", "must be 1 to %d", MaxDays)
	}
	today := domain.QuotaDay(s.clock.Now())
	from := today.AddDate(0, 0, -(days - 1))
	a, err := s.store.Analytics(ctx, domain.AnalyticsQuery{From: from, To: today.AddDate(0, 0, 1), TopUsers: TopUsers})
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	a.Days = fillDays(a.Days, from, days)
	sortRoutes(a.Routes)
	return Report{Analytics: a, Days: days, From: from, To: today}, nil
}

// fillDays returns one entry per day from from on, taking the store's
// entries where it has them.
func fillDays(got []domain.DayActivity, from time.Time, days int) []domain.DayActivity {
	byDay := make(map[time.Time]domain.DayActivity, len(got))
	for _, d := range got {
		byDay[domain.QuotaDay(d.Day)] = d
	}
	out := make([]domain.DayActivity, days)
	for i := range out {
		day := from.AddDate(0, 0, i)
		d := byDay[day]
		d.Day = day
		out[i] = d
	}
	return out
}

// sortRoutes orders routes by tier (fast, balanced, smart, then others),
// then provider, with requests no provider answered last in their tier.
func sortRoutes(routes []domain.RouteActivity) {
	rank := func(t domain.Tier) int {
		if i := slices.Index(domain.Tiers, t); i >= 0 {
			return i
		}
		return len(domain.Tiers)
	}
	slices.SortStableFunc(routes, func(a, b domain.RouteActivity) int {
		if c := cmp.Compare(rank(a.Tier), rank(b.Tier)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Tier, b.Tier); c != 0 {
			return c
		}
		if (a.Provider == "") != (b.Provider == "") {
			if a.Provider == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Provider, b.Provider)
	})
}

// UserView is an account as administrators see it.
type UserView struct {
	domain.UserUsage
	// EffectiveQuota is the daily limit that applies to the user.
	EffectiveQuota int
}

// UserPage is a page of accounts; NextCursor is "" on the last page.
type UserPage struct {
	Users      []UserView
	NextCursor string
}

// ListUsers returns a page of accounts ordered by email whose email
// contains query, after the page cursor names. A nil limit means the default.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) ListUsers(ctx context.Context, actor domain.User, query string, pageLimit *int, cursor string) (UserPage, error) {
	if err := requireAdmin(actor); err != nil {
		return UserPage{}, err
	}
	query = strings.ToLower(strings.TrimSpace(query))
	if utf8.RuneCountInString(query) > maxQueryChars {
		return UserPage{}, domain.Invalid("query", "must be at most %d characters", maxQueryChars)
	}
	if !isText(query) {
		return UserPage{}, domain.Invalid("query", "must be text")
	}
	limit, err := pageSize(pageLimit, DefaultUserPage, MaxUserPage)
	if err != nil {
		return UserPage{}, err
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || !isText(string(b)) {
			return UserPage{}, domain.Invalid("cursor", "not a cursor this server issued")
		}
		after = string(b)
	}
	day := domain.QuotaDay(s.clock.Now())
	// One more than asked tells whether there is a next page.
	rows, err := s.store.ListUsers(ctx, domain.UserFilter{Query: query, AfterEmail: after, Limit: limit + 1}, day)
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	var page UserPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(rows[limit-1].Email))
	}
	page.Users = make([]UserView, len(rows))
	for i, r := range rows {
		page.Users[i] = UserView{UserUsage: r, EffectiveQuota: domain.EffectiveQuota(r.User, s.defaultQuota)}
	}
	return page, nil
}

// view is u as administrators see it, with today's usage.
func (s *Service) view(ctx context.Context, u domain.User) (UserView, error) {
	used, err := s.quotas.QuotaUsed(ctx, u.ID, domain.QuotaDay(s.clock.Now()))
	if err != nil {
		return UserView{}, fmt.Errorf("read quota: %w", err)
	}
	return UserView{
		UserUsage:      domain.UserUsage{User: u, UsedToday: used},
		EffectiveQuota: domain.EffectiveQuota(u, s.defaultQuota),
	}, nil
}
