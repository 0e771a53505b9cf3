package memory

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.APIKeyStore = (*Store)(nil)
	_ ports.AuditLog    = (*Store)(nil)
)

// apiKey is a stored key: the record and the hash it is found by.
type apiKey struct {
	domain.APIKey
	hash []byte
}

// CreateAPIKey implements ports.APIKeyStore.
func (s *Store) CreateAPIKey(_ context.Context, nk domain.NewAPIKey, max int) (domain.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[nk.UserID]; !ok {
		return domain.APIKey{}, domain.Errorf(domain.CodeNotFound, "User not found")
	}
	n := 0
	for _, k := range s.keys {
		if k.UserID == nk.UserID {
			n++
		}
	}
	if n >= max {
		return domain.APIKey{}, domain.APIKeyLimitError(max)
	}
	scopes := slices.Clone(nk.Scopes)
	if len(scopes) == 0 {
		scopes = domain.DefaultScopes()
	}
	k := domain.APIKey{
		ID: domain.APIKeyID(newUUID()), UserID: nk.UserID, Name: nk.Name, Prefix: nk.Prefix,
		CreatedAt: nk.CreatedAt, Scopes: scopes, ExpiresAt: nk.ExpiresAt,
	}
	s.keys = append(s.keys, apiKey{APIKey: k, hash: bytes.Clone(nk.Hash)})
	return k, nil
}

// APIKeys implements ports.APIKeyStore.
func (s *Store) APIKeys(_ context.Context, user domain.UserID) ([]domain.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.APIKey
	for _, k := range s.keys {
		if k.UserID == user {
			out = append(out, k.APIKey)
		}
	}
	slices.SortStableFunc(out, func(a, b domain.APIKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// DeleteAPIKey implements ports.APIKeyStore.
func (s *Store) DeleteAPIKey(_ context.Context, user domain.UserID, id domain.APIKeyID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.keys, func(k apiKey) bool { return k.ID == id && k.UserID == user })
	if i < 0 {
		return domain.Errorf(domain.CodeNotFound, "API key not found")
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	return nil
}

// APIKeyOwner implements ports.APIKeyStore.
func (s *Store) APIKeyOwner(_ context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if bytes.Equal(k.hash, hash) {
			return k.APIKey, s.users[k.UserID], nil
		}
	}
	return domain.APIKey{}, domain.User{}, domain.Errorf(domain.CodeNotFound, "API key not found")
}

// TouchAPIKey implements ports.APIKeyStore.
func (s *Store) TouchAPIKey(_ context.Context, id domain.APIKeyID, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.ID == id && (k.LastUsedAt == nil || at.After(*k.LastUsedAt)) {
			s.keys[i].LastUsedAt = &at
		}
	}
	return nil
}

// RecordAudit implements ports.AuditLog.
func (s *Store) RecordAudit(_ context.Context, e domain.AuditEntry) (domain.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = int64(len(s.audit) + 1)
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	s.audit = append(s.audit, e)
	return e, nil
}

// AuditEntries implements ports.AuditLog.
func (s *Store) AuditEntries(_ context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.AuditEntry
	for i := len(s.audit) - 1; i >= 0 && (f.Limit <= 0 || len(out) < f.Limit); i-- {
		if e := s.audit[i]; f.BeforeID == 0 || e.ID < f.BeforeID {
			out = append(out, e)
		}
	}
	return out, nil
}
