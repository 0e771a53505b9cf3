package domain

import "time"

// ResetTimeUTC is when every daily quota resets, as shown to users.
const ResetTimeUTC = "00:00 UTC"

// QuotaDay is the UTC calendar day that t counts against.
func QuotaDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// NextQuotaReset is the first midnight UTC after t.
func NextQuotaReset(t time.Time) time.Time {
	return QuotaDay(t).AddDate(0, 0, 1)
}

// EffectiveQuota is the user's own limit when set, else the default.
func EffectiveQuota(u User, defaultLimit int) int {
	if u.DailyQuota != nil {
		return *u.DailyQuota
	}
	return defaultLimit
}

// QuotaStatus is a user's quota for one day.
type QuotaStatus struct {
	Used     int
	Limit    int
	ResetsAt time.Time
}

// Remaining is what is left today, never negative (a lowered limit can leave
// used above it).
func (q QuotaStatus) Remaining() int {
	return max(q.Limit-q.Used, 0)
}

// QuotaGrant is one consumed unit of quota; Refund takes it back on the day
// it was counted, even after midnight.
type QuotaGrant struct {
	UserID UserID
	Day    time.Time
	Used   int
	Limit  int
	// Units is how many units the request took: 1 for a chat (0 reads as
	// 1), IMAGE_QUOTA_COST for an image.
	Units int
}

// TokenClaims is what an access token says about its holder.
type TokenClaims struct {
	UserID    UserID
	Email     string
	IssuedAt  time.Time
	ExpiresAt time.Time
}
