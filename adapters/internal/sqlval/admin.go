package sqlval

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// ContainsPattern is the LIKE pattern, with backslash as its escape
// character, that matches text containing query lower-cased: LIKE's
// wildcards and the escape character in query match themselves.
func ContainsPattern(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 2)
	b.WriteByte('%')
	for _, r := range strings.ToLower(query) {
		if r == '\\' || r == '%' || r == '_' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}

// CheckFeedback refuses, with CodeInvalid, feedback the feedback table's
// constraints would reject, and text PostgreSQL cannot store (NUL, invalid
// UTF-8), so that both engines answer the same.
func CheckFeedback(f domain.Feedback) error {
	switch {
	case !f.Rating.Valid():
		return domain.Errorf(domain.CodeInvalid, "rating: must be up or down")
	case !utf8.ValidString(f.Comment) || strings.ContainsRune(f.Comment, 0):
		return domain.Errorf(domain.CodeInvalid, "comment: must be text")
	case utf8.RuneCountInString(f.Comment) > domain.MaxFeedbackComment:
		return domain.Errorf(domain.CodeInvalid, "comment: must be at most %d characters", domain.MaxFeedbackComment)
	}
	return nil
}

// CheckConversationText refuses, with CodeInvalid, text PostgreSQL cannot
// store (NUL, invalid UTF-8) in a conversation's title or a message, so
// that both engines answer the same.
func CheckConversationText(field, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return domain.Invalid(field, "must be text")
	}
	return nil
}

// DayOf is the entry of days for day, nil when there is none (the
// analytics queries read one snapshot, so none should be missing: a figure
// for a day without requests is left out).
func DayOf(days []domain.DayActivity, day time.Time) *domain.DayActivity {
	for i := range days {
		if days[i].Day.Equal(day) {
			return &days[i]
		}
	}
	return nil
}

// AddDayOutcome counts n requests of outcome on day into the entry of days
// for that day.
func AddDayOutcome(days []domain.DayActivity, day time.Time, outcome domain.Outcome, n int) {
	d := DayOf(days, day)
	if d == nil {
		return
	}
	if d.Outcomes == nil {
		d.Outcomes = make(map[domain.Outcome]int, len(domain.Outcomes))
	}
	d.Outcomes[outcome] += n
}
