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

// Service manages and checks personal API keys.
type Service struct {
	store  ports.APIKeyStore
	clock  ports.Clock
	random io.Reader
	cfg    Config
}

// New builds a Service; random is crypto/rand's Reader unless given (tests).
func New(store ports.APIKeyStore, clock ports.Clock, random io.Reader, cfg Config) *Service {
	if random == nil {
		random = rand.Reader
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = time.Minute
	}
	return &Service{store: store, clock: clock, random: random, cfg: cfg}
}

var (
	errInvalidKey = domain.Errorf(domain.CodeUnauthorized, "Invalid API key")
	errDisabled   = domain.Errorf(domain.CodeForbidden, "Account is disabled")
)

// IsKey reports whether a bearer credential is shaped like an API key (as
// opposed to a JWT, which never starts with the marker).
func IsKey(credential string) bool { return strings.HasPrefix(credential, domain.APIKeyMarker) }

// hash is what stores keep of a key.
func hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Create makes a key named name for u and returns its record and the key
// itself, which is never available again. Errors: CodeInvalid (name),
// CodeConflict (u has MaxPerUser keys), CodeUnavailable.
func (s *Service) Create(ctx context.Context, u domain.User, name string) (domain.APIKey, string, error) {
	name, err := domain.NormalizeAPIKeyName(name)
	if err != nil {
		return domain.APIKey{}, "", err
	}
	raw := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return domain.APIKey{}, "", fmt.Errorf("generate api key: %w", err)
	}
	key := domain.APIKeyMarker + base64.RawURLEncoding.EncodeToString(raw)
	k, err := s.store.CreateAPIKey(ctx, domain.NewAPIKey{
		UserID: u.ID, Name: name, Prefix: key[:prefixLen], Hash: hash(key), CreatedAt: s.clock.Now(),
	}, s.cfg.MaxPerUser)
	if err != nil {
		return domain.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, key, nil
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
// unknown or revoked key, CodeForbidden when the owner is disabled.
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
	if u.Disabled {
		return domain.User{}, domain.APIKey{}, errDisabled
	}
	now := s.clock.Now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= s.cfg.TouchEvery {
		// Best effort: a missed last-use stamp must not fail the request.
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err == nil {
			k.LastUsedAt = &now
		}
	}
	return u, k, nil
}
