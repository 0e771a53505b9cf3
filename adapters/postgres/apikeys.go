package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.APIKeyStore = (*DB)(nil)

var (
	errAPIKeyNotFound = domain.Errorf(domain.CodeNotFound, "No API key of yours with this id")
	errNoSuchAPIKey   = domain.Errorf(domain.CodeNotFound, "API key not found")
)

func apiKey(id, user uuid.UUID, name, prefix string, created time.Time, lastUsed *time.Time, scopes []string, expires *time.Time) domain.APIKey {
	k := domain.APIKey{
		ID: domain.APIKeyID(id.String()), UserID: domain.UserID(user.String()), Name: name, Prefix: prefix,
		CreatedAt: created.UTC(), Scopes: domain.ScopesFromStrings(scopes),
	}
	if lastUsed != nil {
		t := lastUsed.UTC()
		k.LastUsedAt = &t
	}
	if expires != nil {
		t := expires.UTC()
		k.ExpiresAt = &t
	}
	return k
}

// utcPtr is t in UTC, nil for nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateAPIKey implements ports.APIKeyStore. The owner's row is locked for
// the transaction, so creations for one user are counted one after another
// (READ COMMITTED: the insert's snapshot is taken after the lock).
func (db *DB) CreateAPIKey(ctx context.Context, k domain.NewAPIKey, max int) (domain.APIKey, error) {
	uid, ok := parseID(k.UserID)
	if !ok {
		return domain.APIKey{}, errUserNotFound
	}
	var out domain.APIKey
	err := pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		if _, err := q.LockUserForKeys(ctx, uid); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errUserNotFound
			}
			return fmt.Errorf("lock user: %w", err)
		}
		r, err := q.CreateAPIKey(ctx, sqlcgen.CreateAPIKeyParams{
			UserID: uid, Name: k.Name, Prefix: k.Prefix, KeyHash: k.Hash,
			CreatedAt: k.CreatedAt.UTC(), MaxKeys: sqlval.ClampInt32(int64(max)),
			Scopes: sqlval.KeyScopes(k.Scopes), ExpiresAt: utcPtr(k.ExpiresAt),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.APIKeyLimitError(max)
		}
		if err != nil {
			return err
		}
		out = apiKey(r.ID, r.UserID, r.Name, r.Prefix, r.CreatedAt, r.LastUsedAt, r.Scopes, r.ExpiresAt)
		return nil
	})
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return domain.APIKey{}, err
		}
		return domain.APIKey{}, storeErr("create api key", err)
	}
	return out, nil
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
	var n int64
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		n, err = q.DeleteAPIKey(ctx, sqlcgen.DeleteAPIKeyParams{ID: kid, UserID: uid})
		return err
	})
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
	if errors.Is(err, pgx.ErrNoRows) {
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
	if err := db.q.TouchAPIKey(ctx, sqlcgen.TouchAPIKeyParams{ID: kid, At: at.UTC()}); err != nil {
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
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) error { return q.DeleteUserAPIKeys(ctx, uid) })
	if err != nil {
		return storeErr("delete api keys", err)
	}
	return nil
}
