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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
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
}

// New builds a Service; defaultQuota is the daily limit of users without
// their own.
func New(store Store, quotas ports.QuotaStore, clock ports.Clock, defaultQuota int) *Service {
	return &Service{store: store, quotas: quotas, clock: clock, defaultQuota: defaultQuota}
}

var errAdminOnly = domain.Errorf(domain.CodeForbidden, "Admin access required")

func requireAdmin(actor domain.User) error {
	if !actor.IsAdmin {
		return errAdminOnly
	}
	return nil
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeInvalid, format, args...)
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
		return Report{}, invalid("days: must be 1 to %d", MaxDays)
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
		return UserPage{}, invalid("query: must be at most %d characters", maxQueryChars)
	}
	if !isText(query) {
		return UserPage{}, invalid("query: must be text")
	}
	limit, err := pageSize(pageLimit, DefaultUserPage, MaxUserPage)
	if err != nil {
		return UserPage{}, err
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || !isText(string(b)) {
			return UserPage{}, invalid("cursor: not a cursor this server issued")
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

// UpdateResult is the outcome of UpdateUser: the account as changed, or
// the change waiting for a second admin (exactly one is set).
type UpdateResult struct {
	User    *UserView
	Pending *domain.PendingChange
}

// UpdateUser applies a patch to an account and returns it with today's
// usage. Admins cannot disable or demote themselves, so that a deployment
// never locks out its last admin by mistake. A patch that disables or
// demotes another admin, or makes a new admin, is not applied: it is stored
// as a pending change that a different admin confirms (ConfirmChange), so
// that one admin's stolen credential can neither take the others out nor
// mint an accomplice to confirm its changes. Every change is recorded in
// the audit log with requestID.
// Errors: CodeForbidden, CodeInvalid, CodeNotFound, CodeUnavailable.
func (s *Service) UpdateUser(ctx context.Context, actor domain.User, requestID string, id domain.UserID, p domain.UserPatch) (UpdateResult, error) {
	if err := requireAdmin(actor); err != nil {
		return UpdateResult{}, err
	}
	switch {
	case p.Empty():
		return UpdateResult{}, invalid("body: set at least one of daily_quota, is_admin, disabled")
	case p.SetDailyQuota && p.DailyQuota != nil && (*p.DailyQuota < 0 || *p.DailyQuota > MaxDailyQuota):
		return UpdateResult{}, invalid("daily_quota: must be 0 to %d, or null for the default", MaxDailyQuota)
	case id == actor.ID && p.Disabled != nil && *p.Disabled:
		return UpdateResult{}, invalid("disabled: admins cannot disable themselves")
	case id == actor.ID && p.IsAdmin != nil && !*p.IsAdmin:
		return UpdateResult{}, invalid("is_admin: admins cannot demote themselves")
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("load user: %w", err)
	}
	now := s.clock.Now()
	if needsSecondAdmin(actor, target, p) {
		c, err := s.store.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: target.ID, RequestedBy: actor.ID, Patch: p, RequestID: requestID,
			CreatedAt: now, ExpiresAt: now.Add(PendingChangeTTL),
		})
		if err != nil {
			return UpdateResult{}, fmt.Errorf("create pending change: %w", err)
		}
		details := patchDetails(p)
		details["change_id"] = string(c.ID)
		details["expires_at"] = c.ExpiresAt.UTC().Format(time.RFC3339)
		if err := s.audit(ctx, actorOf(actor), domain.AuditChangeRequested, target, details, requestID); err != nil {
			return UpdateResult{}, err
		}
		return UpdateResult{Pending: &c}, nil
	}
	if err := s.revokeKeysIfDisabling(ctx, id, p); err != nil {
		return UpdateResult{}, err
	}
	p.At = s.clock.Now()
	u, err := s.store.UpdateUser(ctx, id, p)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("update user: %w", err)
	}
	if err := s.auditPatch(ctx, actorOf(actor), target, p, requestID); err != nil {
		return UpdateResult{}, err
	}
	v, err := s.view(ctx, u)
	if err != nil {
		return UpdateResult{}, err
	}
	return UpdateResult{User: &v}, nil
}

// revokeKeysIfDisabling deletes the account's personal API keys when p
// disables it, so that enabling it again revives no credential: its access
// tokens die with the same change (tokens_valid_after), its keys here.
// Before the update on the direct path, so that no key outlives a disable
// that failed half-way.
func (s *Service) revokeKeysIfDisabling(ctx context.Context, id domain.UserID, p domain.UserPatch) error {
	if p.Disabled == nil || !*p.Disabled {
		return nil
	}
	if err := s.store.RevokeAPIKeys(ctx, id); err != nil {
		return fmt.Errorf("revoke api keys: %w", err)
	}
	return nil
}

// needsSecondAdmin reports whether actor's patch of target waits for a
// second admin: disabling or demoting another admin, and making a new
// admin. Promotions are included because otherwise one stolen admin
// credential mints its own "second admin" (issue 19: a key promoted an
// accomplice, who then disabled the admin) and confirms its own changes.
// The operator's CLI grants and revokes without confirmation.
func needsSecondAdmin(actor, target domain.User, p domain.UserPatch) bool {
	promote := p.IsAdmin != nil && *p.IsAdmin && !target.IsAdmin
	takeAway := (p.IsAdmin != nil && !*p.IsAdmin) || (p.Disabled != nil && *p.Disabled)
	return promote || (target.IsAdmin && target.ID != actor.ID && takeAway)
}

// ConfirmResult is a confirmed change and the account it changed.
type ConfirmResult struct {
	Change domain.PendingChange
	User   UserView
}

var errOwnChange = domain.Errorf(domain.CodeForbidden, "You asked for this change: a different admin must confirm it")

// ConfirmChange applies a pending change as a second admin; the admin who
// asked for it cannot. Errors: CodeForbidden (not an admin, or the
// requester), CodeNotFound, CodeConflict (already confirmed, or expired),
// CodeUnavailable.
func (s *Service) ConfirmChange(ctx context.Context, actor domain.User, requestID string, id domain.PendingChangeID) (ConfirmResult, error) {
	if err := requireAdmin(actor); err != nil {
		return ConfirmResult{}, err
	}
	c, err := s.store.PendingChange(ctx, id)
	if err != nil {
		return ConfirmResult{}, fmt.Errorf("load pending change: %w", err)
	}
	now := s.clock.Now()
	switch {
	case c.RequestedBy == actor.ID:
		return ConfirmResult{}, errOwnChange
	case c.ConfirmedAt != nil:
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "This change was already confirmed by %s", c.ConfirmedByEmail)
	case !now.Before(c.ExpiresAt):
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "This change expired at %s: ask for it again", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	// A change outlives neither its requester's admin rights nor their
	// account: an admin removed for cause leaves no change behind to confirm.
	requester, err := s.store.UserByID(ctx, c.RequestedBy)
	switch {
	case domain.ErrorCode(err) == domain.CodeNotFound || (err == nil && (!requester.IsAdmin || requester.Disabled)):
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "%s, who asked for this change, is no longer an admin: it cannot be confirmed", c.RequestedByEmail)
	case err != nil:
		return ConfirmResult{}, fmt.Errorf("load requester: %w", err)
	}
	// The store checks all of the above again atomically: a concurrent
	// confirmation gets CodeConflict.
	c, u, err := s.store.ConfirmPendingChange(ctx, id, actor.ID, now)
	if err != nil {
		return ConfirmResult{}, fmt.Errorf("confirm pending change: %w", err)
	}
	if err := s.revokeKeysIfDisabling(ctx, c.TargetID, c.Patch); err != nil {
		return ConfirmResult{}, err
	}
	details := patchDetails(c.Patch)
	details["change_id"] = string(c.ID)
	details["requested_by"] = c.RequestedByEmail
	target := domain.User{ID: c.TargetID, Email: c.TargetEmail}
	if err := s.audit(ctx, actorOf(actor), domain.AuditChangeConfirmed, target, details, requestID); err != nil {
		return ConfirmResult{}, err
	}
	v, err := s.view(ctx, u)
	if err != nil {
		return ConfirmResult{}, err
	}
	return ConfirmResult{Change: c, User: v}, nil
}

// SetAdminAsOperator grants (admin true) or revokes an account's admin
// rights for the operator, who runs the CLI with the database's URL: no
// admin account and no confirmation needed, since whoever holds the
// database can change it anyway. The change is audited with the actor
// domain.OperatorActor. Errors: CodeInvalid (email), CodeNotFound (no
// account with that email), CodeUnavailable.
func (s *Service) SetAdminAsOperator(ctx context.Context, email string, admin bool) (domain.User, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil {
		return domain.User{}, err
	}
	target, err := s.store.UserByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "No account with the email %s: the person must register (or log in) first", email)
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("load user: %w", err)
	}
	if err := domain.ExactAccount(target, email); err != nil {
		return domain.User{}, err
	}
	p := domain.UserPatch{IsAdmin: &admin}
	u, err := s.store.UpdateUser(ctx, target.ID, p)
	if err != nil {
		return domain.User{}, fmt.Errorf("update user: %w", err)
	}
	if err := s.auditPatch(ctx, auditActor{name: domain.OperatorActor}, target, p, ""); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// auditActor is who acted: an account, or the operator (no id).
type auditActor struct {
	id   domain.UserID
	name string
}

func actorOf(u domain.User) auditActor { return auditActor{id: u.ID, name: u.Email} }

// audit records one entry.
func (s *Service) audit(ctx context.Context, actor auditActor, action domain.AuditAction, target domain.User, details map[string]any, requestID string) error {
	_, err := s.store.RecordAudit(ctx, domain.AuditEntry{
		ActorID: actor.id, Actor: actor.name, Action: action, TargetID: target.ID, Target: target.Email,
		Details: details, RequestID: requestID, CreatedAt: s.clock.Now(),
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// auditPatch records one entry per field p sets, with the value before
// and after.
func (s *Service) auditPatch(ctx context.Context, actor auditActor, before domain.User, p domain.UserPatch, requestID string) error {
	if p.SetDailyQuota {
		d := map[string]any{"from": quotaValue(before.DailyQuota), "to": quotaValue(p.DailyQuota)}
		if err := s.audit(ctx, actor, domain.AuditQuotaChanged, before, d, requestID); err != nil {
			return err
		}
	}
	if p.IsAdmin != nil {
		action := domain.AuditAdminRevoked
		if *p.IsAdmin {
			action = domain.AuditAdminGranted
		}
		if err := s.audit(ctx, actor, action, before, map[string]any{"was_admin": before.IsAdmin}, requestID); err != nil {
			return err
		}
	}
	if p.Disabled != nil {
		action := domain.AuditUserEnabled
		if *p.Disabled {
			action = domain.AuditUserDisabled
		}
		if err := s.audit(ctx, actor, action, before, map[string]any{"was_disabled": before.Disabled}, requestID); err != nil {
			return err
		}
	}
	return nil
}

// quotaValue is a daily quota as audit details show it: the number, or
// "default".
func quotaValue(q *int) any {
	if q == nil {
		return "default"
	}
	return *q
}

// patchDetails describes a patch for the audit log.
func patchDetails(p domain.UserPatch) map[string]any {
	d := map[string]any{}
	if p.SetDailyQuota {
		d["daily_quota"] = quotaValue(p.DailyQuota)
	}
	if p.IsAdmin != nil {
		d["is_admin"] = *p.IsAdmin
	}
	if p.Disabled != nil {
		d["disabled"] = *p.Disabled
	}
	return d
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

// AuditPage is a page of the audit log, newest first; NextCursor is "" on
// the last page.
type AuditPage struct {
	Entries    []domain.AuditEntry
	NextCursor string
}

// Audit returns a page of the audit log, newest first, after the page
// cursor names; a nil limit means the default.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) Audit(ctx context.Context, actor domain.User, limit *int, cursor string) (AuditPage, error) {
	if err := requireAdmin(actor); err != nil {
		return AuditPage{}, err
	}
	return s.AuditAsOperator(ctx, limit, cursor)
}

// AuditAsOperator is Audit for the operator's CLI, which needs no account.
// Errors: CodeInvalid, CodeUnavailable.
func (s *Service) AuditAsOperator(ctx context.Context, limit *int, cursor string) (AuditPage, error) {
	n, err := pageSize(limit, DefaultAuditPage, MaxAuditPage)
	if err != nil {
		return AuditPage{}, err
	}
	f := domain.AuditFilter{Limit: n + 1}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		id, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || id <= 0 {
			return AuditPage{}, invalid("cursor: not a cursor this server issued")
		}
		f.BeforeID = id
	}
	rows, err := s.store.AuditEntries(ctx, f)
	if err != nil {
		return AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	page := AuditPage{Entries: rows}
	if len(rows) > n {
		page.Entries = rows[:n]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(rows[n-1].ID, 10)))
	}
	return page, nil
}

// RequestQuery selects request log rows; empty fields match everything and
// a nil Limit means the default.
type RequestQuery struct {
	UserID   domain.UserID
	Provider string
	Outcome  domain.Outcome
	Limit    *int
	Cursor   string
}

// RequestPage is a page of the request log; NextCursor is "" on the last page.
type RequestPage struct {
	Requests   []domain.LoggedRequest
	NextCursor string
}

var outcomes = map[domain.Outcome]bool{
	domain.OutcomeSuccess: true, domain.OutcomeError: true, domain.OutcomeCancelled: true,
	domain.OutcomeInvalid: true, domain.OutcomeQuota: true, domain.OutcomeInterrupted: true,
}

// ListRequests returns a page of the request log, newest first.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) ListRequests(ctx context.Context, actor domain.User, q RequestQuery) (RequestPage, error) {
	if err := requireAdmin(actor); err != nil {
		return RequestPage{}, err
	}
	if q.Outcome != "" && !outcomes[q.Outcome] {
		return RequestPage{}, invalid("outcome: must be one of success, error, cancelled, invalid, quota_exceeded, interrupted")
	}
	if len(q.Provider) > maxProviderChars {
		return RequestPage{}, invalid("provider: must be at most %d characters", maxProviderChars)
	}
	if !isText(q.Provider) {
		return RequestPage{}, invalid("provider: must be text")
	}
	limit, err := pageSize(q.Limit, DefaultLogPage, MaxLogPage)
	if err != nil {
		return RequestPage{}, err
	}
	f := domain.RequestFilter{UserID: q.UserID, Provider: domain.Provider(q.Provider), Outcome: q.Outcome, Limit: limit + 1}
	if q.Cursor != "" {
		c, ok := decodeRequestCursor(q.Cursor)
		if !ok {
			return RequestPage{}, invalid("cursor: not a cursor this server issued")
		}
		f.Before = &c
	}
	rows, err := s.store.ListRequests(ctx, f)
	if err != nil {
		return RequestPage{}, fmt.Errorf("list requests: %w", err)
	}
	page := RequestPage{Requests: rows}
	if len(rows) > limit {
		page.Requests = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = encodeRequestCursor(domain.RequestCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

// isText reports whether s is text a store can hold and compare: UTF-8
// without NUL (PostgreSQL refuses both, which would be a 500).
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func pageSize(limit *int, def, max int) (int, error) {
	switch {
	case limit == nil:
		return def, nil
	case *limit < 1 || *limit > max:
		return 0, invalid("limit: must be 1 to %d", max)
	}
	return *limit, nil
}

// A request cursor is "<unix microseconds>:<id>", base64url encoded: the
// store keeps microseconds, so the position is exact.
func encodeRequestCursor(c domain.RequestCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + ":" + strconv.FormatInt(c.ID, 10)))
}

func decodeRequestCursor(s string) (domain.RequestCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return domain.RequestCursor{}, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return domain.RequestCursor{}, false
	}
	micros, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return domain.RequestCursor{}, false
	}
	return domain.RequestCursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: n}, true
}
