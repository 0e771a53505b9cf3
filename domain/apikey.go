package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIKeyID identifies a personal API key; it is a UUID in text form.
type APIKeyID string

// APIKey is the record of a personal API key: a bearer credential that acts
// for its owner. The key itself is shown once, at creation, and never kept:
// stores hold its SHA-256 only.
type APIKey struct {
	ID     APIKeyID
	UserID UserID
	Name   string
	// Prefix is the key's first characters ("gz-" and 8 more), to tell keys
	// apart in lists; it does not help guess the rest.
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// NewAPIKey is what a store needs to add a key.
type NewAPIKey struct {
	UserID    UserID
	Name      string
	Prefix    string
	Hash      []byte // SHA-256 of the key
	CreatedAt time.Time
}

// APIKeyMarker starts every personal API key, which tells a key from a JWT
// in the Authorization header.
const APIKeyMarker = "gz-"

// APIKeyLimitError is the conflict of a user who already has max keys.
func APIKeyLimitError(max int) error {
	return Errorf(CodeConflict, "You already have %d API keys (the most allowed): revoke one first", max)
}

// MaxAPIKeyNameLen bounds a key's name, in characters.
const MaxAPIKeyNameLen = 100

// NormalizeAPIKeyName trims a key's name and checks it: 1 to
// MaxAPIKeyNameLen characters of valid UTF-8, no control characters.
func NormalizeAPIKeyName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	switch {
	case !utf8.ValidString(name):
		return "", Errorf(CodeInvalid, "name: must be valid UTF-8")
	case name == "":
		return "", Errorf(CodeInvalid, "name: is required")
	case utf8.RuneCountInString(name) > MaxAPIKeyNameLen:
		return "", Errorf(CodeInvalid, "name: must be at most %d characters", MaxAPIKeyNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", Errorf(CodeInvalid, "name: must not contain control characters")
	}
	return name, nil
}
