// Package apikeys is the personal API key use case: users create named
// keys that act for them as bearer credentials, list and revoke them; the
// gateway authenticates requests that carry one.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

const (
	// secretBytes is the randomness of a key: 256 bits, URL-safe base64.
	secretBytes = 32
	// keyLen is the length of a key: the marker and 43 base64 characters.
	keyLen = len(domain.APIKeyMarker) + (secretBytes*8+5)/6
	// prefixLen is how much of a key lists show: the marker and 8 characters
	// (48 bits: enough to tell keys apart, far too little to guess the rest).
	prefixLen = len(domain.APIKeyMarker) + 8
)

// Config bounds the keys.
type Config struct {
	// MaxPerUser is the most keys a user may have at once.
	MaxPerUser int
	// TouchEvery spaces the writes of a key's last use: a key used all the
	// time costs one UPDATE per interval, not one per request.
	TouchEvery time.Duration
}

// Store keeps the keys and the audit log, where admin-scoped keys are
// recorded.
type Store interface {
	ports.APIKeyStore
	ports.AuditLog
}

// Service manages and checks personal API keys.
type Service struct {
	store  Store
	clock  ports.Clock
	random io.Reader
	cfg    Config
}

// New builds a Service; random is crypto/rand's Reader unless given (tests).
func New(store Store, clock ports.Clock, random io.Reader, cfg Config) *Service {
	if random == nil {
		random = rand.Reader
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = time.Minute
	}
	return &Service{store: store, clock: clock, random: random, cfg: cfg}
}

var (
	errInvalidKey  = domain.Errorf(domain.CodeUnauthorized, "Invalid API key")
	errDisabled    = domain.Errorf(domain.CodeForbidden, "Account is disabled")
	errAdminScope  = domain.Errorf(domain.CodeForbidden, "Only admins can create keys with the admin scope")
	errExpiryTwice = domain.Errorf(domain.CodeInvalid, "expires_in_days: give it or expires_at, not both")
)

// CreateRequest is what a user asks for in a new key.
type CreateRequest struct {
	Name string
	// Scopes are scope names; none means domain.DefaultScopes.
	Scopes []string
	// ExpiresInDays, when not nil, makes the key expire that many days
	// from now (domain.MinAPIKeyDays to domain.MaxAPIKeyDays).
	ExpiresInDays *int
	// ExpiresAt, when not nil, is when the key expires: after now and at
	// most domain.MaxAPIKeyDays away. At most one of the two is given.
	ExpiresAt *time.Time
}

// RequireScope refuses a request made with key k when k lacks scope.
// CodeForbidden, naming the missing scope.
func RequireScope(k domain.APIKey, scope domain.Scope) error {
	if k.HasScope(scope) {
		return nil
	}
	return domain.Errorf(domain.CodeForbidden, "This API key lacks the %q scope this route needs (it has: %s)",
		scope, strings.Join(domain.ScopeStrings(k.Scopes), ", "))
}

// IsKey reports whether a bearer credential is shaped like an API key (as
// opposed to a JWT, which never starts with the marker).
func IsKey(credential string) bool { return strings.HasPrefix(credential, domain.APIKeyMarker) }

// hash is what stores keep of a key.
func hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Create makes a key for u as req asks and returns its record and the key
// itself, which is never available again. The admin scope is for admins
// only (u is the live account), and every admin-scoped key is recorded in
// the audit log with requestID. Errors: CodeInvalid (name, scopes,
// expiry), CodeForbidden (admin scope for a non-admin), CodeConflict (u
// has MaxPerUser keys), CodeUnavailable.
func (s *Service) Create(ctx context.Context, u domain.User, requestID string, req CreateRequest) (domain.APIKey, string, error) {
	name, err := domain.NormalizeAPIKeyName(req.Name)
	if err != nil {
		return domain.APIKey{}, "", err
	}
	scopes, err := domain.NormalizeScopes(req.Scopes)
	if err != nil {
		return domain.APIKey{}, "", err
	}
	admin := slices.Contains(scopes, domain.ScopeAdmin)
	if admin && !u.IsAdmin {
		return domain.APIKey{}, "", errAdminScope
	}
	now := s.clock.Now()
	expires, err := expiry(now, req)
	if err != nil {
		return domain.APIKey{}, "", err
	}
	raw := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return domain.APIKey{}, "", fmt.Errorf("generate api key: %w", err)
	}
	key := domain.APIKeyMarker + base64.RawURLEncoding.EncodeToString(raw)
	k, err := s.store.CreateAPIKey(ctx, domain.NewAPIKey{
		UserID: u.ID, Name: name, Prefix: key[:prefixLen], Hash: hash(key), CreatedAt: now,
		Scopes: scopes, ExpiresAt: expires,
	}, s.cfg.MaxPerUser)
	if err != nil {
		return domain.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	if admin {
		details := map[string]any{"key_id": string(k.ID), "name": k.Name, "prefix": k.Prefix, "scopes": domain.ScopeStrings(k.Scopes)}
		if k.ExpiresAt != nil {
			details["expires_at"] = k.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if _, err := s.store.RecordAudit(ctx, domain.AuditEntry{
			ActorID: u.ID, Actor: u.Email, Action: domain.AuditAdminKeyCreated, TargetID: u.ID, Target: u.Email,
			Details: details, RequestID: requestID, CreatedAt: now,
		}); err != nil {
			// An admin key nobody can see in the audit log must not exist.
			_ = s.store.DeleteAPIKey(ctx, u.ID, k.ID)
			return domain.APIKey{}, "", fmt.Errorf("record audit: %w", err)
		}
	}
	return k, key, nil
}

// expiry is when a key asked for at now expires; nil: never.
func expiry(now time.Time, req CreateRequest) (*time.Time, error) {
	max := now.Add(domain.MaxAPIKeyDays * 24 * time.Hour)
	switch {
	case req.ExpiresInDays != nil && req.ExpiresAt != nil:
		return nil, errExpiryTwice
	case req.ExpiresInDays != nil:
		d := *req.ExpiresInDays
		if d < domain.MinAPIKeyDays || d > domain.MaxAPIKeyDays {
			return nil, domain.Errorf(domain.CodeInvalid, "expires_in_days: must be %d to %d", domain.MinAPIKeyDays, domain.MaxAPIKeyDays)
		}
		t := now.Add(time.Duration(d) * 24 * time.Hour)
		return &t, nil
	case req.ExpiresAt != nil:
		t := req.ExpiresAt.UTC()
		if !t.After(now) || t.After(max) {
			return nil, domain.Errorf(domain.CodeInvalid, "expires_at: must be in the future and at most %d days away", domain.MaxAPIKeyDays)
		}
		return &t, nil
	}
	return nil, nil
}

// List returns u's keys, oldest first.
func (s *Service) List(ctx context.Context, u domain.User) ([]domain.APIKey, error) {
	keys, err := s.store.APIKeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// Revoke deletes one of u's keys; it stops working with the next request,
// on every instance. CodeNotFound when u has no key with that id.
func (s *Service) Revoke(ctx context.Context, u domain.User, id domain.APIKeyID) error {
	if err := s.store.DeleteAPIKey(ctx, u.ID, id); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// Authenticate returns the owner of key and the key's record: one store
// lookup, like a JWT's account check. CodeUnauthorized for a malformed,
// unknown, revoked or expired key, CodeForbidden when the owner is
// disabled. The caller checks the key's scopes against the route
// (RequireScope); the user returned is the live account, so an admin-scoped
// key of an account that is no longer admin opens no admin route.
func (s *Service) Authenticate(ctx context.Context, key string) (domain.User, domain.APIKey, error) {
	if len(key) != keyLen || !IsKey(key) {
		return domain.User{}, domain.APIKey{}, errInvalidKey
	}
	if _, err := base64.RawURLEncoding.DecodeString(key[len(domain.APIKeyMarker):]); err != nil {
		return domain.User{}, domain.APIKey{}, errInvalidKey
	}
	k, u, err := s.store.APIKeyOwner(ctx, hash(key))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.APIKey{}, errInvalidKey
	}
	if err != nil {
		return domain.User{}, domain.APIKey{}, fmt.Errorf("look up api key: %w", err)
	}
	now := s.clock.Now()
	if k.Expired(now) {
		return domain.User{}, domain.APIKey{}, domain.Errorf(domain.CodeUnauthorized, "API key expired at %s: create a new one", k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if u.Disabled {
		return domain.User{}, domain.APIKey{}, errDisabled
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= s.cfg.TouchEvery {
		// Best effort: a missed last-use stamp must not fail the request.
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err == nil {
			k.LastUsedAt = &now
		}
	}
	return u, k, nil
}
