package domain

import "time"

// Rating is a user's verdict on one chat answer.
type Rating string

// The ratings.
const (
	RatingUp   Rating = "up"
	RatingDown Rating = "down"
)

// Valid reports whether r is a known rating.
func (r Rating) Valid() bool { return r == RatingUp || r == RatingDown }

// MaxFeedbackComment bounds a feedback comment, in characters.
const MaxFeedbackComment = 2000

// Feedback is a user's rating of one of their chat answers, identified by
// the request id the answer was given under. A user rates a request once;
// rating it again replaces the earlier rating.
type Feedback struct {
	UserID    UserID
	RequestID string
	Rating    Rating
	// Comment is "" when none was given.
	Comment   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserFilter selects a page of accounts for administrators, ordered by email.
type UserFilter struct {
	// Query matches a substring of the email, case-insensitively; "" matches all.
	Query string
	// AfterEmail starts the page after this email ("" = from the start).
	AfterEmail string
	// Limit is the page size (> 0).
	Limit int
}

// UserUsage is an account with its usage on one day.
type UserUsage struct {
	User
	// UsedToday is the requests counted against the quota on the day asked for.
	UsedToday int
}

// UserPatch changes an account; nil fields stay as they are.
type UserPatch struct {
	// DailyQuota, when not nil, sets the user's own limit; a nil *int inside
	// (SetDailyQuota with DailyQuota nil) returns the user to the default.
	SetDailyQuota bool
	DailyQuota    *int
	IsAdmin       *bool
	Disabled      *bool
	// At is when the patch is applied: a change of Disabled revokes every
	// access token issued up to it (see User.TokensValidAfter).
	At time.Time
}

// Empty reports whether the patch changes nothing.
func (p UserPatch) Empty() bool { return !p.SetDailyQuota && p.IsAdmin == nil && p.Disabled == nil }

// RequestCursor is a position in the request log, newest first: rows
// strictly older than (CreatedAt, ID).
type RequestCursor struct {
	CreatedAt time.Time
	ID        int64
}

// RequestFilter selects request log rows for administrators, newest first.
// Empty fields match everything.
type RequestFilter struct {
	UserID   UserID
	Provider Provider
	Outcome  Outcome
	Before   *RequestCursor
	// Limit is the page size (> 0).
	Limit int
}

// LoggedRequest is one row of the request log as stored.
type LoggedRequest struct {
	ID int64
	RequestRecord
}

// AnalyticsQuery asks for analytics over the UTC days [From, To).
type AnalyticsQuery struct {
	From, To time.Time
	// TopUsers is how many of the most active users to list.
	TopUsers int
}

// DayActivity is one UTC day of traffic.
type DayActivity struct {
	Day         time.Time
	ActiveUsers int
	Requests    int
	// AvgQuotaUsed is the mean quota count of the users who used any that day.
	AvgQuotaUsed float64
	// CacheHits are the requests answered from the response cache, and
	// CacheMisses those it was asked for and did not have; bypasses are
	// neither.
	CacheHits, CacheMisses int
	// Outcomes counts the day's requests by outcome; outcomes the day did
	// not have are absent.
	Outcomes map[Outcome]int
	// Latency is over the day's successful requests.
	Latency Percentiles
}

// CacheHitRatio is the share of the day's cache lookups that hit: hits /
// (hits + misses); ok is false when the cache was never asked that day.
func (d DayActivity) CacheHitRatio() (ratio float64, ok bool) {
	lookups := d.CacheHits + d.CacheMisses
	if lookups == 0 {
		return 0, false
	}
	return float64(d.CacheHits) / float64(lookups), true
}

// ProviderCallsSaved is how many provider calls the response cache saved
// that day: one per hit.
func (d DayActivity) ProviderCallsSaved() int { return d.CacheHits }

// UserActivity is one user's request count over a period.
type UserActivity struct {
	UserID   UserID
	Email    string
	Requests int
}

// RouteActivity counts requests and errors of one tier and provider;
// Provider is "" for requests no provider answered.
type RouteActivity struct {
	Tier     Tier
	Provider Provider
	Requests int
	Errors   int
}

// KindActivity counts the requests of one kind over a period, with the
// client and server errors among them (as Analytics counts them).
type KindActivity struct {
	Kind                                 RequestKind
	Requests, ClientErrors, ServerErrors int
}

// NewKindActivities returns one entry per RequestKinds, at zero.
func NewKindActivities() []KindActivity {
	out := make([]KindActivity, len(RequestKinds))
	for i, k := range RequestKinds {
		out[i].Kind = k
	}
	return out
}

// AddKind adds counts to kind's entry of a.Kinds ("" reads as
// RequestKindChat); a kind it does not hold yet is appended.
func (a *Analytics) AddKind(kind RequestKind, requests, clientErrors, serverErrors int) {
	if kind == "" {
		kind = RequestKindChat
	}
	i := 0
	for i < len(a.Kinds) && a.Kinds[i].Kind != kind {
		i++
	}
	if i == len(a.Kinds) {
		a.Kinds = append(a.Kinds, KindActivity{Kind: kind})
	}
	k := &a.Kinds[i]
	k.Requests += requests
	k.ClientErrors += clientErrors
	k.ServerErrors += serverErrors
}

// Percentiles of a duration distribution in milliseconds; nil when there
// were no samples.
type Percentiles struct {
	P50, P95, P99 *float64
}

// FeedbackSummary counts ratings given over a period.
type FeedbackSummary struct {
	Up, Down, WithComment int
}

// Analytics is what the request log, quotas and feedback say about a period.
type Analytics struct {
	// Days has one entry per day of the period that had traffic, oldest first.
	Days []DayActivity
	// ActiveUsers is the distinct users over the whole period.
	ActiveUsers int
	Requests    int
	// ClientErrors are requests refused for the caller's fault
	// (OutcomeQuota, OutcomeInvalid): the 4xx answers. ServerErrors are
	// requests the gateway or its providers failed (OutcomeError,
	// OutcomeInterrupted): the 5xx answers and broken streams. Cancelled
	// requests are neither.
	ClientErrors int
	ServerErrors int
	TopUsers     []UserActivity
	// Routes are ordered by tier, then provider; they are chats' (the
	// other kinds have no tier).
	Routes []RouteActivity
	// Kinds counts the requests of each kind, one entry per RequestKinds
	// in that order (kinds without requests at zero).
	Kinds []KindActivity
	// Latency is over successful requests; FirstToken over requests that
	// produced a token.
	Latency    Percentiles
	FirstToken Percentiles
	Feedback   FeedbackSummary
	// ConversationDays has one entry per day of the period on which
	// conversations were started or messages stored, oldest first. It
	// counts what is stored: deleted and purged conversations drop out.
	ConversationDays []ConversationDay
}

// ConversationDay counts the conversations started and the messages
// stored on one UTC day.
type ConversationDay struct {
	Day           time.Time
	Conversations int
	Messages      int
}
