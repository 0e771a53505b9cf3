package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// UserID identifies a user; it is a UUID in text form.
type UserID string

// User is an account of the gateway.
type User struct {
	ID    UserID
	Email string
	// PasswordHash is a PHC string; empty for accounts created by email-only login.
	PasswordHash string
	IsAdmin      bool
	// DailyQuota overrides the default daily limit when not nil.
	DailyQuota  *int
	Disabled    bool
	CreatedAt   time.Time
	LastLoginAt *time.Time
	// EmailVerifiedAt is when the owner proved the address is theirs by
	// following a mailed link; nil while unproven (always, on a server
	// without SMTP).
	EmailVerifiedAt *time.Time
	// TokensValidAfter, when not nil, refuses every access token issued at
	// or before it: logout, a password change and a change of Disabled move
	// it forward.
	TokensValidAfter *time.Time
}

// TokenRevoked reports whether an access token issued at issuedAt was
// revoked: issued at or before TokensValidAfter.
func (u User) TokenRevoked(issuedAt time.Time) bool {
	return u.TokensValidAfter != nil && !issuedAt.After(*u.TokensValidAfter)
}

// EmailVerified reports whether the owner proved the address is theirs.
func (u User) EmailVerified() bool { return u.EmailVerifiedAt != nil }

// HasPassword reports whether the account can log in with a password.
func (u User) HasPassword() bool { return u.PasswordHash != "" }

// NewUser is what a store needs to create a user.
type NewUser struct {
	Email        string
	PasswordHash string
	IsAdmin      bool
}

// Password length bounds, in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// EmailKey is the uniqueness key of a normalised address: the address with
// the local part's "+tag" dropped (carol+1@example.com -> carol@example.com),
// so that sub-addresses of one mailbox are one account. A local part that
// starts with "+" is kept whole (there is nothing before the tag).
func EmailKey(normalized string) string {
	at := strings.LastIndexByte(normalized, '@')
	if at < 0 {
		return normalized
	}
	if plus := strings.IndexByte(normalized[:at], '+'); plus > 0 {
		return normalized[:plus] + normalized[at:]
	}
	return normalized
}

// ValidatePassword checks the password length rule.
func ValidatePassword(password string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return Errorf(CodeInvalid, "password: must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// ExactAccount checks that u, found by UserByEmail(email), is the account
// with exactly that address and not another spelling of the same mailbox
// (UserByEmail finds "+tag" spellings too). Operator commands act only on
// the account they name: a squatter who registered ops+x@ must not become
// the admin the operator meant ops@ to be.
// Errors: CodeNotFound.
func ExactAccount(u User, email string) error {
	if u.Email == email {
		return nil
	}
	return Errorf(CodeNotFound, "No account has exactly the address %s: %s holds it (another spelling of the same mailbox); name that account exactly if it is the one you mean", email, u.Email)
}
