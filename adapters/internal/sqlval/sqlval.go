// Package sqlval turns domain values into the column values the SQL adapters
// store and back, so that PostgreSQL and SQLite keep exactly the same thing:
// bounded valid text, whole milliseconds, non-negative 32-bit counts and the
// JSON form of a request's attempts.
package sqlval

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
)

// MaxText bounds every logged text column: the tier of an invalid request is
// whatever the client sent.
const MaxText = 128

// ClipText makes s storable and bounded: valid UTF-8 without NUL bytes
// (PostgreSQL text refuses both, which would fail a whole batch) and at most
// MaxText runes.
func ClipText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	n := 0
	for i := range s {
		if n == MaxText {
			return s[:i]
		}
		n++
	}
	return s
}

// OptText is nil for "" (the column is NULL), else the clipped text.
func OptText(s string) *string {
	if s == "" {
		return nil
	}
	s = ClipText(s)
	return &s
}

// Deref is the text of a nullable column, "" for NULL.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// DurationMs is d in whole milliseconds, clamped to a non-negative 32-bit
// integer column.
func DurationMs(d time.Duration) int32 { return ClampInt32(d.Milliseconds()) }

// ClampInt32 fits n into a non-negative 32-bit integer column.
func ClampInt32(n int64) int32 { return int32(min(max(n, 0), math.MaxInt32)) }

// attempt is an attempt as stored in request_log.attempts.
type attempt struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
	KeyIndex *int   `json:"key_index,omitempty"`
}

// EncodeAttempts is the JSON array stored in request_log.attempts:
// [{"provider": "groq", "reason": "server_error", "key_index": 0}, ...],
// with key_index absent when no key was picked; texts are clipped and key
// indexes clamped to zero.
func EncodeAttempts(as []domain.Attempt) ([]byte, error) {
	out := make([]attempt, 0, len(as))
	for _, a := range as {
		la := attempt{Provider: ClipText(string(a.Provider)), Reason: ClipText(string(a.Reason))}
		if a.KeyIndex != nil {
			k := max(*a.KeyIndex, 0)
			la.KeyIndex = &k
		}
		out = append(out, la)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode attempts: %w", err)
	}
	return b, nil
}

// DecodeAttempts reads request_log.attempts back; an empty array gives nil.
func DecodeAttempts(b []byte) ([]domain.Attempt, error) {
	var as []attempt
	if err := json.Unmarshal(b, &as); err != nil {
		return nil, fmt.Errorf("decode attempts: %w", err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	out := make([]domain.Attempt, len(as))
	for i, a := range as {
		out[i] = domain.Attempt{Provider: domain.Provider(a.Provider), Reason: domain.AttemptReason(a.Reason), KeyIndex: a.KeyIndex}
	}
	return out, nil
}

// API is the api column of a request log record: "" stands for the native
// API; an API the column does not allow makes the record unstorable.
func API(api string) (string, error) {
	switch api {
	case "", domain.APINative:
		return domain.APINative, nil
	case domain.APIOpenAI:
		return domain.APIOpenAI, nil
	}
	return "", fmt.Errorf("unknown API %q", api)
}

// Kind is the kind column of a request log record: "" is a chat (records
// from before kinds); a kind the column does not allow makes the record
// unstorable.
func Kind(k domain.RequestKind) (string, error) {
	switch k {
	case "":
		return string(domain.RequestKindChat), nil
	case domain.RequestKindChat, domain.RequestKindImage, domain.RequestKindTranscription, domain.RequestKindSpeech:
		return string(k), nil
	}
	return "", fmt.Errorf("unknown request kind %q", k)
}

// Cache is the cache column of a request log record: NULL when the cache
// is off (""); a status the column does not allow makes the record
// unstorable.
func Cache(c domain.CacheStatus) (*string, error) {
	switch c {
	case "":
		return nil, nil
	case domain.CacheHit, domain.CacheMiss, domain.CacheBypass:
		s := string(c)
		return &s, nil
	}
	return nil, fmt.Errorf("unknown cache status %q", c)
}

// Strings spells typed words (codes, reasons) as a never-nil []string for
// an array parameter: = ANY (NULL) matches nothing too, but an empty array
// says so plainly.
func Strings[T ~string](words []T) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = string(w)
	}
	return out
}
