package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.APIKeyStore = (*DB)(nil)

var (
	errAPIKeyNotFound = domain.Errorf(domain.CodeNotFound, "No API key of yours with this id")
	errNoSuchAPIKey   = domain.Errorf(domain.CodeNotFound, "API key not found")
)

func apiKey(id, user, name, prefix string, created int64, lastUsed *int64, scopes string, expires *int64) domain.APIKey {
	k := domain.APIKey{
		ID: domain.APIKeyID(id), UserID: domain.UserID(user), Name: name, Prefix: prefix,
		CreatedAt: fromMicros(created), Scopes: domain.ScopesFromStrings(strings.Fields(scopes)),
	}
	if lastUsed != nil {
		t := fromMicros(*lastUsed)
		k.LastUsedAt = &t
	}
	if expires != nil {
		t := fromMicros(*expires)
		k.ExpiresAt = &t
	}
	return k
}

// microsPtr is the stored form of an optional instant.
func microsPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := micros(*t)
	return &us
}

// CreateAPIKey implements ports.APIKeyStore in one statement: SQLite runs
// one writer at a time, so the count and the insert cannot interleave with
// another creation. The id is a random (version 4) UUID.
func (db *DB) CreateAPIKey(ctx context.Context, k domain.NewAPIKey, max int) (domain.APIKey, error) {
	uid, ok := parseID(k.UserID)
	if !ok {
		return domain.APIKey{}, errUserNotFound
	}
	r, err := db.q.CreateAPIKey(ctx, sqlcgen.CreateAPIKeyParams{
		ID: uuid.NewString(), UserID: uid, Name: k.Name, Prefix: k.Prefix, KeyHash: k.Hash,
		CreatedAt: micros(k.CreatedAt), MaxKeys: int64(max),
		// Stored as the names separated by spaces, in canonical order.
		Scopes: strings.Join(sqlval.KeyScopes(k.Scopes), " "), ExpiresAt: microsPtr(k.ExpiresAt),
	})
	if errors.Is(err, sql.ErrNoRows) {
		// Either the owner does not exist or they are at the limit.
		if _, uerr := db.q.GetUserByID(ctx, uid); errors.Is(uerr, sql.ErrNoRows) {
			return domain.APIKey{}, errUserNotFound
		}
		return domain.APIKey{}, domain.APIKeyLimitError(max)
	}
	if err != nil {
		return domain.APIKey{}, storeErr("create api key", err)
	}
	return apiKey(r.ID, r.UserID, r.Name, r.Prefix, r.CreatedAt, r.LastUsedAt, r.Scopes, r.ExpiresAt), nil
}

// APIKeys implements ports.APIKeyStore.
func (db *DB) APIKeys(ctx context.Context, user domain.UserID) ([]domain.APIKey, error) {
	out := []domain.APIKey{}
	uid, ok := parseID(user)
	if !ok {
		return out, nil
	}
	rows, err := db.q.ListAPIKeys(ctx, uid)
	if err != nil {
		return nil, storeErr("list api keys", err)
	}
	for _, r := range rows {
		out = append(out, apiKey(r.ID, r.UserID, r.Name, r.Prefix, r.CreatedAt, r.LastUsedAt, r.Scopes, r.ExpiresAt))
	}
	return out, nil
}

// DeleteAPIKey implements ports.APIKeyStore.
func (db *DB) DeleteAPIKey(ctx context.Context, user domain.UserID, id domain.APIKeyID) error {
	uid, ok := parseID(user)
	kid, kok := parseID(domain.UserID(id))
	if !ok || !kok {
		return errAPIKeyNotFound
	}
	n, err := db.q.DeleteAPIKey(ctx, sqlcgen.DeleteAPIKeyParams{ID: kid, UserID: uid})
	if err != nil {
		return storeErr("delete api key", err)
	}
	if n == 0 {
		return errAPIKeyNotFound
	}
	return nil
}

// APIKeyOwner implements ports.APIKeyStore.
func (db *DB) APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	r, err := db.q.GetAPIKeyOwner(ctx, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.APIKey{}, domain.User{}, errNoSuchAPIKey
	}
	if err != nil {
		return domain.APIKey{}, domain.User{}, storeErr("api key owner", err)
	}
	return apiKey(r.KeyID, r.User.ID, r.KeyName, r.KeyPrefix, r.KeyCreatedAt, r.KeyLastUsedAt, r.KeyScopes, r.KeyExpiresAt), toUser(r.User), nil
}

// TouchAPIKey implements ports.APIKeyStore.
func (db *DB) TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error {
	kid, ok := parseID(domain.UserID(id))
	if !ok {
		return nil
	}
	us := micros(at)
	if err := db.q.TouchAPIKey(ctx, sqlcgen.TouchAPIKeyParams{ID: kid, At: &us}); err != nil {
		return storeErr("touch api key", err)
	}
	return nil
}

// RevokeAPIKeys implements ports.UserStore.
func (db *DB) RevokeAPIKeys(ctx context.Context, id domain.UserID) error {
	uid, ok := parseID(id)
	if !ok {
		return nil
	}
	if err := db.q.DeleteUserAPIKeys(ctx, uid); err != nil {
		return storeErr("delete api keys", err)
	}
	return nil
}
