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
	// Scopes are what the key may be used for, in canonical order.
	Scopes []Scope
	// ExpiresAt is when the key stops working; nil: never.
	ExpiresAt *time.Time
}

// NewAPIKey is what a store needs to add a key.
type NewAPIKey struct {
	UserID    UserID
	Name      string
	Prefix    string
	Hash      []byte // SHA-256 of the key
	CreatedAt time.Time
	Scopes    []Scope
	ExpiresAt *time.Time
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

// Scope is what a personal API key may be used for.
type Scope string

// The scopes. A key holds one or both.
const (
	// ScopeChat covers chat (both APIs), models, quota, feedback and web search.
	ScopeChat Scope = "chat"
	// ScopeAdmin covers the administration routes (/api/v1/admin/*); it
	// helps only while the key's owner is an admin.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope in its canonical order.
var Scopes = []Scope{ScopeChat, ScopeAdmin}

// DefaultScopes are the scopes of a key created without asking for any.
func DefaultScopes() []Scope { return []Scope{ScopeChat} }

// Bounds of a key's lifetime, in days, when one is asked for.
const (
	MinAPIKeyDays = 1
	MaxAPIKeyDays = 3650
)

// NormalizeScopes checks scope names and returns them without repeats in
// the canonical order; none given means DefaultScopes.
func NormalizeScopes(raw []string) ([]Scope, error) {
	if len(raw) == 0 {
		return DefaultScopes(), nil
	}
	seen := map[Scope]bool{}
	for _, r := range raw {
		s := Scope(r)
		if s != ScopeChat && s != ScopeAdmin {
			return nil, Errorf(CodeInvalid, "scopes: %q is not a scope (use chat, admin)", r)
		}
		seen[s] = true
	}
	out := make([]Scope, 0, len(seen))
	for _, s := range Scopes {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// HasScope reports whether the key holds scope s.
func (k APIKey) HasScope(s Scope) bool {
	for _, have := range k.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// Expired reports whether the key has expired at now.
func (k APIKey) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// ScopeStrings returns scopes as plain strings (for stores and transports).
func ScopeStrings(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

// ScopesFromStrings reads stored scope names back; stores only hold names
// NormalizeScopes accepted.
func ScopesFromStrings(names []string) []Scope {
	out := make([]Scope, len(names))
	for i, n := range names {
		out[i] = Scope(n)
	}
	return out
}
