package httpapi

import (
	"context"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
	"github.com/genzai/genzai/domain/routing"
)

// caller returns the authenticated user of ctx.
func caller(ctx context.Context) (domain.User, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return domain.User{}, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	return u, nil
}

// GetAnalytics implements api.StrictServerInterface.
func (h *handlers) GetAnalytics(ctx context.Context, req api.GetAnalyticsRequestObject) (api.GetAnalyticsResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	days := admin.DefaultDays
	if req.Params.Days != nil {
		days = *req.Params.Days
	}
	r, err := h.s.deps.Admin.Analytics(ctx, u, days)
	if err != nil {
		return nil, err
	}
	return api.GetAnalytics200JSONResponse(toAnalytics(r)), nil
}

func toAnalytics(r admin.Report) api.Analytics {
	out := api.Analytics{
		Days:     r.Days,
		From:     openapi_types.Date{Time: r.From},
		To:       openapi_types.Date{Time: r.To},
		Daily:    make([]api.DailyActivity, len(r.Analytics.Days)),
		TopUsers: make([]api.UserActivity, len(r.TopUsers)),
		ByRoute:  make([]api.RouteActivity, len(r.Routes)),
		ByKind:   make([]api.KindActivity, len(r.Kinds)),
		Totals: api.AnalyticsTotals{
			Requests:     r.Requests,
			ActiveUsers:  r.ActiveUsers,
			Errors4xx:    r.ClientErrors,
			Errors5xx:    r.ServerErrors,
			ErrorRate4xx: rate(r.ClientErrors, r.Requests),
			ErrorRate5xx: rate(r.ServerErrors, r.Requests),
		},
		LatencyMs: api.LatencyPercentiles{P50: r.Latency.P50, P95: r.Latency.P95, P99: r.Latency.P99},
		TtftMs:    api.FirstTokenPercentiles{P50: r.FirstToken.P50, P95: r.FirstToken.P95, P99: r.FirstToken.P99},
		Feedback:  api.FeedbackSummary{Up: r.Feedback.Up, Down: r.Feedback.Down, WithComment: r.Feedback.WithComment},
	}
	for i, d := range r.Analytics.Days {
		out.Daily[i] = api.DailyActivity{
			Date: openapi_types.Date{Time: d.Day}, ActiveUsers: d.ActiveUsers,
			Requests: d.Requests, AvgQuotaUsed: d.AvgQuotaUsed,
			ProviderCallsSaved: d.ProviderCallsSaved(), Outcomes: toOutcomeCounts(d.Outcomes),
			LatencyMs: api.LatencyPercentiles{P50: d.Latency.P50, P95: d.Latency.P95, P99: d.Latency.P99},
		}
		if ratio, ok := d.CacheHitRatio(); ok {
			out.Daily[i].CacheHitRatio = &ratio
		}
	}
	out.Conversations = make([]api.ConversationDay, len(r.ConversationDays))
	for i, d := range r.ConversationDays {
		out.Conversations[i] = api.ConversationDay{Date: openapi_types.Date{Time: d.Day}, Conversations: d.Conversations, Messages: d.Messages}
	}
	for i, a := range r.TopUsers {
		out.TopUsers[i] = api.UserActivity{UserId: parseUUID(a.UserID), Email: a.Email, Requests: a.Requests}
	}
	for i, a := range r.Routes {
		out.ByRoute[i] = api.RouteActivity{Tier: api.Tier(a.Tier), Provider: optional(string(a.Provider)), Requests: a.Requests, Errors: a.Errors}
	}
	for i, k := range r.Kinds {
		out.ByKind[i] = api.KindActivity{Kind: api.RequestKind(k.Kind), Requests: k.Requests, Errors4xx: k.ClientErrors, Errors5xx: k.ServerErrors}
	}
	return out
}

// toOutcomeCounts lists every outcome, zero where there were none.
func toOutcomeCounts(n map[domain.Outcome]int) api.OutcomeCounts {
	return api.OutcomeCounts{
		Success: n[domain.OutcomeSuccess], Error: n[domain.OutcomeError], Cancelled: n[domain.OutcomeCancelled],
		Invalid: n[domain.OutcomeInvalid], QuotaExceeded: n[domain.OutcomeQuota], Interrupted: n[domain.OutcomeInterrupted],
	}
}

// rate is part/whole, 0 when whole is 0.
func rate(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// optional is nil for "", else a pointer to s.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parseUUID converts a stored id; ids come from the store, so a malformed
// one is a bug and shows as the zero UUID rather than failing the page.
func parseUUID(id domain.UserID) openapi_types.UUID {
	u, _ := uuid.Parse(string(id))
	return u
}

// optionalUUID is nil for an empty id (an anonymised request log row).
func optionalUUID(id domain.UserID) *openapi_types.UUID {
	if id == "" {
		return nil
	}
	u := parseUUID(id)
	return &u
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ListUsers implements api.StrictServerInterface.
func (h *handlers) ListUsers(ctx context.Context, req api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	page, err := h.s.deps.Admin.ListUsers(ctx, u, deref(p.Query), p.Limit, deref(p.Cursor))
	if err != nil {
		return nil, err
	}
	body := api.AdminUserPage{Users: make([]api.AdminUser, len(page.Users)), NextCursor: optional(page.NextCursor)}
	for i, v := range page.Users {
		body.Users[i] = toAdminUser(v)
	}
	return api.ListUsers200JSONResponse(body), nil
}

func toAdminUser(v admin.UserView) api.AdminUser {
	return api.AdminUser{
		Id:             parseUUID(v.ID),
		Email:          v.Email,
		IsAdmin:        v.IsAdmin,
		Disabled:       v.Disabled,
		DailyQuota:     v.DailyQuota,
		EffectiveQuota: v.EffectiveQuota,
		UsedToday:      v.UsedToday,
		CreatedAt:      v.CreatedAt,
		LastLoginAt:    v.LastLoginAt,
	}
}

// UpdateUser implements api.StrictServerInterface.
func (h *handlers) UpdateUser(ctx context.Context, req api.UpdateUserRequestObject) (api.UpdateUserResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := domain.UserPatch{IsAdmin: b.IsAdmin, Disabled: b.Disabled, SetDailyQuota: b.DailyQuota.IsSpecified()}
	if p.SetDailyQuota && !b.DailyQuota.IsNull() {
		q := b.DailyQuota.MustGet()
		p.DailyQuota = &q
	}
	res, err := h.s.deps.Admin.UpdateUser(ctx, u, RequestIDFrom(ctx), domain.UserID(req.Id.String()), p)
	if err != nil {
		return nil, err
	}
	if res.Pending != nil {
		return api.UpdateUser202JSONResponse(toPendingChange(*res.Pending)), nil
	}
	return api.UpdateUser200JSONResponse(toAdminUser(*res.User)), nil
}

func toPendingChange(c domain.PendingChange) api.PendingChange {
	out := api.PendingChange{
		Id:               parseUUID(domain.UserID(c.ID)),
		TargetId:         parseUUID(c.TargetID),
		TargetEmail:      c.TargetEmail,
		RequestedBy:      parseUUID(c.RequestedBy),
		RequestedByEmail: c.RequestedByEmail,
		Change:           api.ChangeFields{IsAdmin: c.Patch.IsAdmin, Disabled: c.Patch.Disabled},
		CreatedAt:        c.CreatedAt,
		ExpiresAt:        c.ExpiresAt,
		ConfirmedAt:      c.ConfirmedAt,
	}
	if c.Patch.SetDailyQuota {
		if c.Patch.DailyQuota == nil {
			out.Change.DailyQuota.SetNull()
		} else {
			out.Change.DailyQuota.Set(*c.Patch.DailyQuota)
		}
	}
	if c.ConfirmedBy != "" {
		id := parseUUID(c.ConfirmedBy)
		out.ConfirmedBy = &id
	}
	return out
}

// ConfirmChange implements api.StrictServerInterface.
func (h *handlers) ConfirmChange(ctx context.Context, req api.ConfirmChangeRequestObject) (api.ConfirmChangeResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.s.deps.Admin.ConfirmChange(ctx, u, RequestIDFrom(ctx), domain.PendingChangeID(req.Id.String()))
	if err != nil {
		return nil, err
	}
	return api.ConfirmChange200JSONResponse{Change: toPendingChange(res.Change), User: toAdminUser(res.User)}, nil
}

// ListAudit implements api.StrictServerInterface.
func (h *handlers) ListAudit(ctx context.Context, req api.ListAuditRequestObject) (api.ListAuditResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	page, err := h.s.deps.Admin.Audit(ctx, u, req.Params.Limit, deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	body := api.AuditPage{Entries: make([]api.AuditEntry, len(page.Entries)), NextCursor: optional(page.NextCursor)}
	for i, e := range page.Entries {
		body.Entries[i] = toAuditEntry(e)
	}
	return api.ListAudit200JSONResponse(body), nil
}

func toAuditEntry(e domain.AuditEntry) api.AuditEntry {
	out := api.AuditEntry{
		Id: e.ID, Actor: e.Actor, Action: api.AuditEntryAction(e.Action), Target: e.Target,
		Details: e.Details, RequestId: optional(e.RequestID), CreatedAt: e.CreatedAt,
	}
	if out.Details == nil {
		out.Details = map[string]any{}
	}
	if e.ActorID != "" {
		id := parseUUID(e.ActorID)
		out.ActorId = &id
	}
	if e.TargetID != "" {
		id := parseUUID(e.TargetID)
		out.TargetId = &id
	}
	return out
}

// ListRequests implements api.StrictServerInterface.
func (h *handlers) ListRequests(ctx context.Context, req api.ListRequestsRequestObject) (api.ListRequestsResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	q := admin.RequestQuery{
		Provider: string(deref(p.Provider)),
		Outcome:  domain.Outcome(deref(p.Outcome)),
		Limit:    p.Limit,
		Cursor:   deref(p.Cursor),
	}
	if p.UserId != nil {
		q.UserID = domain.UserID(p.UserId.String())
	}
	page, err := h.s.deps.Admin.ListRequests(ctx, u, q)
	if err != nil {
		return nil, err
	}
	body := api.RequestLogPage{Requests: make([]api.RequestLogEntry, len(page.Requests)), NextCursor: optional(page.NextCursor)}
	for i, r := range page.Requests {
		body.Requests[i] = toRequestLogEntry(r)
	}
	return api.ListRequests200JSONResponse(body), nil
}

func toRequestLogEntry(r domain.LoggedRequest) api.RequestLogEntry {
	e := api.RequestLogEntry{
		Id:               r.ID,
		RequestId:        optional(r.RequestID),
		Api:              api.Native,
		UserId:           optionalUUID(r.UserID),
		Kind:             api.KindChat,
		Provider:         optional(string(r.Provider)),
		UpstreamModel:    optional(r.UpstreamModel),
		KeyIndex:         r.KeyIndex,
		Outcome:          api.RequestOutcome(r.Outcome),
		ErrorCode:        optional(string(r.ErrorCode)),
		Attempts:         make([]api.Attempt, len(r.Attempts)),
		Stream:           r.Stream,
		LatencyMs:        int(r.Latency.Milliseconds()),
		PromptTokens:     r.Usage.PromptTokens,
		CompletionTokens: r.Usage.CompletionTokens,
		CreatedAt:        r.CreatedAt,
	}
	if r.API == domain.APIOpenAI {
		e.Api = api.Openai
	}
	if r.Kind != "" {
		e.Kind = api.RequestLogEntryKind(r.Kind)
	}
	if r.Tier != "" {
		t := api.Tier(r.Tier)
		e.Tier = &t
	}
	for i, a := range r.Attempts {
		e.Attempts[i] = api.Attempt{Provider: api.Provider(a.Provider), Reason: string(a.Reason)}
	}
	if r.FirstToken != nil {
		ms := int(r.FirstToken.Milliseconds())
		e.TtftMs = &ms
	}
	if r.Cache != "" {
		c := api.RequestLogEntryCache(r.Cache)
		e.Cache = &c
	}
	return e
}

// SubmitFeedback implements api.StrictServerInterface.
func (h *handlers) SubmitFeedback(ctx context.Context, req api.SubmitFeedbackRequestObject) (api.SubmitFeedbackResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	f, err := h.s.deps.Feedback.Submit(ctx, u, b.RequestId, domain.Rating(b.Rating), deref(b.Comment))
	if err != nil {
		return nil, err
	}
	return api.SubmitFeedback200JSONResponse{
		RequestId: f.RequestID,
		Rating:    api.Rating(f.Rating),
		Comment:   optional(f.Comment),
		CreatedAt: f.CreatedAt,
		UpdatedAt: f.UpdatedAt,
	}, nil
}

// ListProviderStates implements api.StrictServerInterface.
func (h *handlers) ListProviderStates(ctx context.Context, _ api.ListProviderStatesRequestObject) (api.ListProviderStatesResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := h.s.deps.Admin.Providers(ctx, u)
	if err != nil {
		return nil, err
	}
	body := api.ProviderStates{Providers: make([]api.ProviderState, len(ps))}
	for i, p := range ps {
		body.Providers[i] = toProviderState(p)
	}
	return api.ListProviderStates200JSONResponse(body), nil
}

func toProviderState(p routing.ProviderStatus) api.ProviderState {
	out := api.ProviderState{
		Name:    api.Provider(p.Provider),
		Breaker: api.ProviderStateBreaker(p.Breaker),
		Down:    p.Down,
		Keys:    make([]api.ProviderKeyState, len(p.Keys)),
	}
	for i, k := range p.Keys {
		out.Keys[i] = api.ProviderKeyState{
			Index:              k.Index,
			RequestsLastMinute: k.RequestsLastMin,
			CoolingDown:        k.CoolingDown,
			CoolingDownUntil:   optionalTime(k.CoolingDownUntil),
			Rejected:           k.Rejected,
			RejectedUntil:      optionalTime(k.RejectedUntil),
		}
	}
	return out
}

// optionalTime is nil for the zero time, else a pointer to t in UTC.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
