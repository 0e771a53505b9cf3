package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/api"
)

// Tokens the fake admin API knows.
const (
	adminToken = "admin-token"
	userToken  = "user-token"
)

// fakeAdminAPI serves the admin and feedback operations of api/openapi.yaml
// on httptest, with the spec's JSON and error bodies, so that the commands'
// output can be checked on figures no real traffic would produce.
type fakeAdminAPI struct {
	url string
	// maxPage caps listUsers pages below the limit asked for, as a server may.
	maxPage      int
	defaultQuota int

	mu        sync.Mutex
	users     []api.AdminUser // ordered by email
	requests  []api.RequestLogEntry
	analytics api.Analytics
	providers []api.ProviderState
	patches   []string     // "id body" of every updateUser
	queries   []url.Values // of every listUsers, listRequests and getAnalytics
	feedback  []string     // the bodies of submitFeedback
}

func newFakeAdminAPI(t *testing.T) *fakeAdminAPI {
	t.Helper()
	f := &fakeAdminAPI{maxPage: 200, defaultQuota: 50}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/admin/analytics", f.admin(f.getAnalytics))
	mux.HandleFunc("GET /api/v1/admin/users", f.admin(f.listUsers))
	mux.HandleFunc("PATCH /api/v1/admin/users/{id}", f.admin(f.updateUser))
	mux.HandleFunc("GET /api/v1/admin/requests", f.admin(f.listRequests))
	mux.HandleFunc("GET /api/v1/admin/providers", f.admin(f.listProviderStates))
	mux.HandleFunc("POST /api/v1/feedback", f.authenticated(f.submitFeedback))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// addUser adds an account; quota < 0 means the default applies.
func (f *fakeAdminAPI) addUser(email string, quota int) api.AdminUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := api.AdminUser{Id: uuid.New(), Email: email, EffectiveQuota: f.defaultQuota, CreatedAt: time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)}
	if quota >= 0 {
		u.DailyQuota, u.EffectiveQuota = &quota, quota
	}
	f.users = append(f.users, u)
	slices.SortFunc(f.users, func(a, b api.AdminUser) int { return strings.Compare(a.Email, b.Email) })
	return u
}

func (f *fakeAdminAPI) calls() (patches []string, queries []url.Values, feedback []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.patches), slices.Clone(f.queries), slices.Clone(f.feedback)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: msg, Code: code, RequestId: "req-" + strconv.Itoa(status)})
}

func (f *fakeAdminAPI) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + adminToken, "Bearer " + userToken:
			f.mu.Lock()
			defer f.mu.Unlock()
			next(w, r)
		default:
			writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid authentication token")
		}
	}
}

func (f *fakeAdminAPI) admin(next http.HandlerFunc) http.HandlerFunc {
	return f.authenticated(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adminToken {
			writeError(w, http.StatusForbidden, "forbidden", "Admin access required")
			return
		}
		next(w, r)
	})
}

func (f *fakeAdminAPI) getAnalytics(w http.ResponseWriter, r *http.Request) {
	f.queries = append(f.queries, r.URL.Query())
	writeJSON(w, http.StatusOK, f.analytics)
}

// listUsers pages by email; the cursor is the last email of the page.
func (f *fakeAdminAPI) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.queries = append(f.queries, q)
	limit := 50
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	limit = min(limit, f.maxPage)
	page := api.AdminUserPage{Users: []api.AdminUser{}}
	for _, u := range f.users {
		if !strings.Contains(u.Email, strings.ToLower(q.Get("query"))) || u.Email <= q.Get("cursor") {
			continue
		}
		if len(page.Users) == limit {
			page.NextCursor = &page.Users[limit-1].Email
			break
		}
		page.Users = append(page.Users, u)
	}
	writeJSON(w, http.StatusOK, page)
}

func (f *fakeAdminAPI) updateUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		DailyQuota json.RawMessage `json:"daily_quota"`
		IsAdmin    *bool           `json:"is_admin"`
		Disabled   *bool           `json:"disabled"`
	}
	raw := readBody(r)
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f.patches = append(f.patches, r.PathValue("id")+" "+raw)
	i := slices.IndexFunc(f.users, func(u api.AdminUser) bool { return u.Id.String() == r.PathValue("id") })
	if i < 0 {
		writeError(w, http.StatusNotFound, "not_found", "User not found")
		return
	}
	u := &f.users[i]
	switch string(body.DailyQuota) {
	case "":
	case "null":
		u.DailyQuota, u.EffectiveQuota = nil, f.defaultQuota
	default:
		var n int
		_ = json.Unmarshal(body.DailyQuota, &n)
		u.DailyQuota, u.EffectiveQuota = &n, n
	}
	if body.IsAdmin != nil {
		u.IsAdmin = *body.IsAdmin
	}
	if body.Disabled != nil {
		u.Disabled = *body.Disabled
	}
	writeJSON(w, http.StatusOK, u)
}

func (f *fakeAdminAPI) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.queries = append(f.queries, q)
	page := api.RequestLogPage{Requests: []api.RequestLogEntry{}}
	for _, e := range f.requests {
		if s := q.Get("user_id"); s != "" && (e.UserId == nil || e.UserId.String() != s) {
			continue
		}
		page.Requests = append(page.Requests, e)
	}
	if s := q.Get("limit"); s != "" {
		n, _ := strconv.Atoi(s)
		if n < len(page.Requests) {
			page.Requests = page.Requests[:n]
			page.NextCursor = ptr("next-" + s)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

func (f *fakeAdminAPI) listProviderStates(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, api.ProviderStates{Providers: f.providers})
}

func (f *fakeAdminAPI) submitFeedback(w http.ResponseWriter, r *http.Request) {
	raw := readBody(r)
	var body api.FeedbackRequest
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f.feedback = append(f.feedback, raw)
	if body.RequestId == "nope" {
		writeError(w, http.StatusNotFound, "not_found", "Request not found")
		return
	}
	now := time.Date(2025, 12, 25, 10, 31, 2, 0, time.UTC)
	writeJSON(w, http.StatusOK, api.Feedback{RequestId: body.RequestId, Rating: body.Rating, Comment: body.Comment, CreatedAt: now, UpdatedAt: now})
}

// readBody is the request body as text, without the encoder's newline.
func readBody(r *http.Request) string {
	var b strings.Builder
	_, _ = io.Copy(&b, r.Body)
	return strings.TrimSpace(b.String())
}

// adminUser is a CLI user of the fake with token.
func adminUser(t *testing.T, f *fakeAdminAPI, token string) *user {
	u := newUser(t, f.url)
	u.env["GENZAI_TOKEN"] = token
	return u
}

func TestAdminUsersList(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	ada := f.addUser("ada@example.com", -1)
	bob := f.addUser("bob@example.com", 200)
	f.addUser("cy@other.org", -1)
	f.mu.Lock()
	login := time.Date(2025, 12, 25, 8, 12, 44, 0, time.UTC)
	f.users[0].LastLoginAt, f.users[0].UsedToday, f.users[0].IsAdmin = &login, 12, true
	f.users[1].Disabled = true
	f.mu.Unlock()
	tm := adminUser(t, f, adminToken)
	ctx := context.Background()

	out, errOut, code := tm.run(ctx, "", "admin", "users", "list", "--query", "EXAMPLE.com")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, strings.Join([]string{
		"EMAIL            ID                                    ADMIN  DISABLED  USED TODAY  DAILY QUOTA   LAST LOGIN",
		"ada@example.com  " + ada.Id.String() + "  yes    no        12          50 (default)  2025-12-25 08:12:44",
		"bob@example.com  " + bob.Id.String() + "  no     yes       0           200           never",
		"",
	}, "\n"), out)
	assert.Empty(t, errOut, "the last page")
	_, queries, _ := f.calls()
	assert.Equal(t, "EXAMPLE.com", queries[0].Get("query"))
	assert.False(t, queries[0].Has("limit"), "the server's default page size")

	out, errOut, code = tm.run(ctx, "", "admin", "users", "list", "--limit", "2")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 3, strings.Count(out, "\n"), "a header and one page:\n%s", out)
	assert.Equal(t, "(more accounts: add --all, or --cursor bob@example.com)\n", errOut)

	out, errOut, code = tm.run(ctx, "", "admin", "users", "list", "--limit", "2", "--cursor", "bob@example.com")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "cy@other.org")
	assert.NotContains(t, out, "ada@example.com")

	out, errOut, code = tm.run(ctx, "", "admin", "users", "list", "--limit", "1", "--all", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var page api.AdminUserPage
	require.NoError(t, json.Unmarshal([]byte(out), &page), out)
	assert.Len(t, page.Users, 3, "--all follows next_cursor")
	assert.Nil(t, page.NextCursor)

	out, _, code = tm.run(ctx, "", "admin", "users", "list", "--limit", "1", "-o", "json")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &page), out)
	assert.Len(t, page.Users, 1, "without --all, the server's page as it came")
	assert.Equal(t, "ada@example.com", *page.NextCursor)

	out, _, code = tm.run(ctx, "", "admin", "users", "list", "--query", "nobody")
	require.Equal(t, 0, code)
	assert.Equal(t, "no accounts\n", out)
}

func TestAdminUserChanges(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	f.maxPage = 1 // the lookup has to follow the pages
	f.addUser("aada@example.com", -1)
	ada := f.addUser("ada@example.com", -1)
	f.addUser("ada@example.com.au", -1)
	tm := adminUser(t, f, adminToken)
	id := ada.Id.String()

	for _, tc := range []struct {
		args      []string
		wantPatch string
		wantOut   string
	}{
		{[]string{"set-quota", "Ada@Example.com", "200"}, `{"daily_quota":200}`, "ada@example.com: daily quota 200, 0 used today\n"},
		{[]string{"set-quota", "ada@example.com", "0"}, `{"daily_quota":0}`, "ada@example.com: daily quota 0, 0 used today\n"},
		{[]string{"set-quota", id, "default"}, `{"daily_quota":null}`, "ada@example.com: daily quota 50 (default), 0 used today\n"},
		{[]string{"promote", "ada@example.com"}, `{"is_admin":true}`, "ada@example.com is now an admin\n"},
		{[]string{"demote", id}, `{"is_admin":false}`, "ada@example.com is no longer an admin\n"},
		{[]string{"disable", "ada@example.com"}, `{"disabled":true}`, "ada@example.com is disabled; its tokens are refused from now on\n"},
		{[]string{"enable", "ada@example.com"}, `{"disabled":false}`, "ada@example.com is enabled; log in again: older tokens stay refused\n"},
	} {
		before, _, _ := f.calls()
		out, errOut, code := tm.run(context.Background(), "", append([]string{"admin", "users"}, tc.args...)...)
		require.Equal(t, 0, code, "%v: %s", tc.args, errOut)
		assert.Equal(t, tc.wantOut, out, "%v", tc.args)
		patches, _, _ := f.calls()
		require.Len(t, patches, len(before)+1, "%v", tc.args)
		assert.Equal(t, id+" "+tc.wantPatch, patches[len(before)], "%v: the exact account, the exact change", tc.args)
	}

	out, errOut, code := tm.run(context.Background(), "", "admin", "users", "promote", "ada@example.com", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var u api.AdminUser
	require.NoError(t, json.Unmarshal([]byte(out), &u), out)
	assert.True(t, u.IsAdmin)

	_, errOut, code = tm.run(context.Background(), "", "admin", "users", "disable", "da@example.com")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: no account with the email da@example.com (see: genzai admin users list --query da@example.com)\n", errOut,
		"a query match that is not the email is not the account")

	_, errOut, code = tm.run(context.Background(), "", "admin", "users", "disable", uuid.NewString())
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: User not found [request req-404]\n", errOut)
}

func TestAdminAnalyticsReport(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	day := func(d int) api.DailyActivity {
		return api.DailyActivity{Date: openapi_types.Date{Time: time.Date(2025, 12, d, 0, 0, 0, 0, time.UTC)}}
	}
	d24, d25 := day(24), day(25)
	d24.ActiveUsers, d24.Requests, d24.AvgQuotaUsed = 12, 240, 20
	d25.ActiveUsers, d25.Requests, d25.AvgQuotaUsed = 9, 131, 14.6
	d25.CacheHitRatio, d25.ProviderCallsSaved = ptr(0.25), 32
	d24.Outcomes = api.OutcomeCounts{Success: 229, Error: 1, Cancelled: 3, Invalid: 5, QuotaExceeded: 2}
	d25.Outcomes = api.OutcomeCounts{Success: 123, Error: 1, Cancelled: 1, Invalid: 3, QuotaExceeded: 2, Interrupted: 1}
	f.analytics = api.Analytics{
		Days: 2, From: d24.Date, To: d25.Date,
		Daily:    []api.DailyActivity{d24, d25},
		Totals:   api.AnalyticsTotals{Requests: 371, ActiveUsers: 15, Errors4xx: 12, Errors5xx: 3, ErrorRate4xx: 0.0323, ErrorRate5xx: 0.0081},
		TopUsers: []api.UserActivity{{UserId: uuid.MustParse("0b6f5a0e-2f6e-4c4b-9a57-5c1f2b9d8e11"), Email: "ada@example.com", Requests: 88}},
		ByRoute: []api.RouteActivity{
			{Tier: api.Fast, Provider: ptr("groq"), Requests: 300, Errors: 1},
			{Tier: api.Fast, Requests: 14, Errors: 14},
		},
		ByKind: []api.KindActivity{
			{Kind: api.RequestKindChat, Requests: 314, Errors4xx: 10, Errors5xx: 2},
			{Kind: api.RequestKindImage, Requests: 57, Errors4xx: 2, Errors5xx: 1},
			{Kind: api.RequestKindTranscription},
			{Kind: api.RequestKindSpeech},
		},
		LatencyMs: api.LatencyPercentiles{P50: ptr(812.0), P95: ptr(2310.4), P99: ptr(4022.0)},
		TtftMs:    api.FirstTokenPercentiles{},
		Feedback:  api.FeedbackSummary{Up: 31, Down: 4, WithComment: 6},
	}
	tm := adminUser(t, f, adminToken)

	out, errOut, code := tm.run(context.Background(), "", "admin", "analytics", "--days", "2")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `Last 2 day(s), 2025-12-24 to 2025-12-25 (UTC)

DATE        ACTIVE USERS  REQUESTS  AVG QUOTA USED  CACHE HIT RATIO  CALLS SAVED
2025-12-24  12            240       20.0            -                0
2025-12-25  9             131       14.6            25.00%           32

DATE        SUCCESS  ERROR  CANCELLED  INVALID  QUOTA EXCEEDED  INTERRUPTED
2025-12-24  229      1      3          5        2               0
2025-12-25  123      1      1          3        2               1

Totals: 371 request(s) from 15 user(s)
  4xx errors (refused for the caller)  12  3.23%
  5xx errors (gateway or providers)    3   0.81%

By kind
KIND           REQUESTS  4XX ERRORS  5XX ERRORS
chat           314       10          2
image          57        2           1
transcription  0         0           0
speech         0         0           0

Top users
EMAIL            REQUESTS  USER ID
ada@example.com  88        0b6f5a0e-2f6e-4c4b-9a57-5c1f2b9d8e11

By route
TIER  PROVIDER         REQUESTS  ERRORS  ERROR RATE
fast  groq             300       1       0.33%
fast  (none answered)  14        14      100.00%

Latency (ms)           p50  p95   p99
  successful requests  812  2310  4022
  time to first token  -    -     -

Feedback: 31 up, 4 down, 6 with a comment
`, out)
	_, queries, _ := f.calls()
	assert.Equal(t, "2", queries[0].Get("days"))

	out, _, code = tm.run(context.Background(), "", "admin", "analytics", "-o", "json")
	require.Equal(t, 0, code)
	var a api.Analytics
	require.NoError(t, json.Unmarshal([]byte(out), &a), out)
	assert.Equal(t, f.analytics.Totals, a.Totals)
	_, queries, _ = f.calls()
	assert.False(t, queries[1].Has("days"), "the server's default period")
}

func TestAdminRequests(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	ada := f.addUser("ada@example.com", -1)
	bob := f.addUser("bob@example.com", -1)
	at := time.Date(2025, 12, 25, 10, 31, 0, 0, time.UTC)
	f.requests = []api.RequestLogEntry{
		{Id: 2, RequestId: ptr("req-b"), UserId: &bob.Id, Kind: api.KindChat, Tier: ptr(api.Smart), Outcome: api.RequestOutcomeError, ErrorCode: ptr("providers_unavailable"),
			Attempts: []api.Attempt{{Provider: api.Openrouter, Reason: "timeout"}, {Provider: api.Groq, Reason: "rate_limited"}}, LatencyMs: 30001, CreatedAt: at.Add(time.Minute)},
		{Id: 1, RequestId: ptr("req-a"), UserId: &ada.Id, Kind: api.KindChat, Tier: ptr(api.Fast), Provider: ptr("groq"), Outcome: api.RequestOutcomeSuccess,
			Attempts: []api.Attempt{}, LatencyMs: 812, TtftMs: ptr(205), PromptTokens: 12, CompletionTokens: 96, Stream: true, CreatedAt: at},
		// The request of an account deleted since: kept, without its user.
		{Id: 0, RequestId: ptr("req-0"), Kind: api.KindChat, Tier: ptr(api.Fast), Provider: ptr("groq"), Outcome: api.RequestOutcomeSuccess,
			Attempts: []api.Attempt{}, LatencyMs: 700, PromptTokens: 1, CompletionTokens: 2, CreatedAt: at.Add(-time.Minute)},
	}
	tm := adminUser(t, f, adminToken)
	ctx := context.Background()

	out, errOut, code := tm.run(ctx, "", "admin", "requests")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, strings.Join([]string{
		"TIME (UTC)           REQUEST ID  USER                                  TIER   PROVIDER  OUTCOME                        LATENCY  TTFT   TOKENS  TRIED BEFORE",
		"2025-12-25 10:32:00  req-b       " + bob.Id.String() + "  smart  -         error (providers_unavailable)  30001ms  -      0+0     openrouter: timeout, groq: rate_limited",
		"2025-12-25 10:31:00  req-a       " + ada.Id.String() + "  fast   groq      success                        812ms    205ms  12+96   -",
		"2025-12-25 10:30:00  req-0       (deleted)                             fast   groq      success                        700ms    -      1+2     -",
		"",
	}, "\n"), out)

	out, errOut, code = tm.run(ctx, "", "admin", "requests", "--user", "ada@example.com", "--provider", "groq", "--outcome", "success", "--limit", "1")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "TIME (UTC)           REQUEST ID  TIER  PROVIDER  OUTCOME  LATENCY  TTFT   TOKENS  TRIED BEFORE\n"+
		"2025-12-25 10:31:00  req-a       fast  groq      success  812ms    205ms  12+96   -\n", out, "no user column for one user's requests")
	_, queries, _ := f.calls()
	last := queries[len(queries)-1]
	assert.Equal(t, url.Values{"user_id": {ada.Id.String()}, "provider": {"groq"}, "outcome": {"success"}, "limit": {"1"}}, last)

	out, errOut, code = tm.run(ctx, "", "admin", "requests", "--limit", "1", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var page api.RequestLogPage
	require.NoError(t, json.Unmarshal([]byte(out), &page), out)
	assert.Equal(t, "req-b", *page.Requests[0].RequestId)

	_, errOut, code = tm.run(ctx, "", "admin", "requests", "--limit", "1")
	require.Equal(t, 0, code)
	assert.Equal(t, "(more requests: add --cursor next-1)\n", errOut)

	_, errOut, code = tm.run(ctx, "", "admin", "requests", "--user", "zed@example.com")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "error: no account with the email zed@example.com")
}

func TestAdminProviders(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	at := time.Date(2025, 12, 25, 10, 31, 20, 0, time.UTC)
	f.providers = []api.ProviderState{
		{Name: api.Groq, Breaker: api.BreakerClosed, Keys: []api.ProviderKeyState{
			{Index: 0, RequestsLastMinute: 4, CoolingDown: true, CoolingDownUntil: &at},
			{Index: 1, RequestsLastMinute: 5},
		}},
		{Name: api.Openrouter, Breaker: api.BreakerOpen, Down: true, Keys: []api.ProviderKeyState{
			{Index: 0, Rejected: true, RejectedUntil: ptr(at.Add(10 * time.Minute))},
		}},
		{Name: api.Huggingface, Breaker: api.BreakerHalfOpen, Keys: []api.ProviderKeyState{}},
	}
	tm := adminUser(t, f, adminToken)
	ctx := context.Background()

	out, errOut, code := tm.run(ctx, "", "admin", "providers")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, strings.Join([]string{
		"PROVIDER     BREAKER    DOWN  KEY  LAST MINUTE  STATE",
		"groq         closed     no    0    4            cooling down until 2025-12-25 10:31:20",
		"groq         closed     no    1    5            ready",
		"openrouter   open       yes   0    0            rejected until 2025-12-25 10:41:20",
		"huggingface  half_open  no    -    -            no keys",
		"",
	}, "\n"), out)

	out, errOut, code = tm.run(ctx, "", "admin", "providers", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var body api.ProviderStates
	require.NoError(t, json.Unmarshal([]byte(out), &body), out)
	assert.Len(t, body.Providers, 3)

	f.providers = nil
	out, errOut, code = tm.run(ctx, "", "admin", "providers")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "no providers configured\n", out)
}

func TestFeedbackCommand(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	tm := adminUser(t, f, userToken)
	ctx := context.Background()

	out, errOut, code := tm.run(ctx, "", "feedback", "req-1", "up")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "rated req-1 up\n", out)

	out, errOut, code = tm.run(ctx, "", "feedback", "req-1", "down", "--comment", "Wrong year")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "rated req-1 down: \"Wrong year\"\n", out)

	out, _, code = tm.run(ctx, "", "feedback", "req-2", "up", "-o", "json")
	require.Equal(t, 0, code)
	var fb api.Feedback
	require.NoError(t, json.Unmarshal([]byte(out), &fb), out)
	assert.Equal(t, api.RatingUp, fb.Rating)
	assert.Nil(t, fb.Comment)

	_, errOut, code = tm.run(ctx, "", "feedback", "nope", "up")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: Request not found [request req-404]\n", errOut)

	_, _, _ = tm.run(ctx, "", "feedback", "req-1", "meh")
	_, _, bodies := f.calls()
	assert.Equal(t, []string{
		`{"rating":"up","request_id":"req-1"}`,
		`{"comment":"Wrong year","rating":"down","request_id":"req-1"}`,
		`{"rating":"up","request_id":"req-2"}`,
		`{"rating":"up","request_id":"nope"}`,
	}, bodies, "a bad rating is not sent")
}

func TestAdminCommandsRefuseNonAdmins(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	f.addUser("ada@example.com", -1)
	tm := adminUser(t, f, userToken)
	for _, args := range [][]string{
		{"admin", "analytics"},
		{"admin", "users", "list"},
		{"admin", "users", "set-quota", "ada@example.com", "10"},
		{"admin", "users", "promote", "ada@example.com"},
		{"admin", "requests", "-o", "json"},
		{"admin", "providers"},
	} {
		out, errOut, code := tm.run(context.Background(), "", args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.Contains(t, errOut, "Admin access required [request req-403]\n", "%v", args)
	}
	patches, _, _ := f.calls()
	assert.Empty(t, patches)
}

func TestAdminUsageErrors(t *testing.T) {
	t.Parallel()
	f := newFakeAdminAPI(t)
	tm := adminUser(t, f, adminToken)
	for _, args := range [][]string{
		{"admin", "bogus"},
		{"admin", "users", "lst"},
		{"admin", "analytics", "--days", "0"},
		{"admin", "analytics", "--days", "91"},
		{"admin", "analytics", "extra"},
		{"admin", "users", "list", "--limit", "201"},
		{"admin", "users", "set-quota", "ada@example.com"},
		{"admin", "users", "set-quota", "ada@example.com", "-1"},
		{"admin", "users", "set-quota", "ada@example.com", "lots"},
		{"admin", "users", "promote", "ada"},
		{"admin", "users", "enable"},
		{"admin", "requests", "--provider", "openai"},
		{"admin", "requests", "--outcome", "failed"},
		{"admin", "requests", "--limit", "501"},
		{"admin", "requests", "--user", "ada"},
		{"admin", "providers", "extra"},
		{"feedback", "req-1"},
		{"feedback", "req-1", "sideways"},
		{"admin", "users", "list", "-o", "yaml"},
	} {
		_, errOut, code := tm.run(context.Background(), "", args...)
		assert.Equal(t, 2, code, "%v is a usage error: %s", args, errOut)
	}
	_, queries, bodies := f.calls()
	assert.Empty(t, queries, "nothing was sent")
	assert.Empty(t, bodies)
}
