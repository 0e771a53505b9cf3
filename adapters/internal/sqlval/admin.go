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

// AddDayOutcome counts n requests of outcome on day into the entry of days
// for that day; a day without an entry (the queries read one snapshot, so
// none should be missing) is left out.
func AddDayOutcome(days []domain.DayActivity, day time.Time, outcome domain.Outcome, n int) {
	for i := range days {
		if days[i].Day.Equal(day) {
			if days[i].Outcomes == nil {
				days[i].Outcomes = make(map[domain.Outcome]int, len(domain.Outcomes))
			}
			days[i].Outcomes[outcome] += n
			return
		}
	}
}
