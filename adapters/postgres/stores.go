package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.UserStore  = (*DB)(nil)
	_ ports.QuotaStore = (*DB)(nil)
	_ ports.Pinger     = (*DB)(nil)
)

var errUserNotFound = domain.Errorf(domain.CodeNotFound, "user not found")

// storeErr wraps a database error with the operation, classifying the
// failures the caller can act on.
func storeErr(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
		return &domain.Error{Code: domain.CodeConflict, Message: "Already exists", Err: fmt.Errorf("%s: %w", op, err)}
	case isUnavailable(err):
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable", Err: fmt.Errorf("%s: %w", op, err)}
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func toUser(r sqlcgen.User) domain.User {
	u := domain.User{
		ID:          domain.UserID(r.ID.String()),
		Email:       r.Email,
		IsAdmin:     r.IsAdmin,
		Disabled:    r.Disabled,
		CreatedAt:   r.CreatedAt.UTC(),
		LastLoginAt: r.LastLoginAt,
	}
	if r.PasswordHash != nil {
		u.PasswordHash = *r.PasswordHash
	}
	if r.DailyQuota != nil {
		q := int(*r.DailyQuota)
		u.DailyQuota = &q
	}
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		u.LastLoginAt = &t
	}
	if r.EmailVerifiedAt != nil {
		t := r.EmailVerifiedAt.UTC()
		u.EmailVerifiedAt = &t
	}
	if r.TokensValidAfter != nil {
		t := r.TokensValidAfter.UTC()
		u.TokensValidAfter = &t
	}
	return u
}

// parseID turns a domain id into a UUID; an id that is not one names no user.
func parseID(id domain.UserID) (uuid.UUID, bool) {
	u, err := uuid.Parse(string(id))
	return u, err == nil
}

// CreateUser implements ports.UserStore.
func (db *DB) CreateUser(ctx context.Context, nu domain.NewUser) (domain.User, error) {
	var hash *string
	if nu.PasswordHash != "" {
		hash = &nu.PasswordHash
	}
	r, err := db.q.CreateUser(ctx, sqlcgen.CreateUserParams{Email: nu.Email, EmailKey: domain.EmailKey(nu.Email), PasswordHash: hash, IsAdmin: nu.IsAdmin})
	if err != nil {
		err = storeErr("create user", err)
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.CodeConflict {
			de.Message = "An account with this email already exists"
		}
		return domain.User{}, err
	}
	return toUser(r), nil
}

// UserByID implements ports.UserStore.
func (db *DB) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	r, err := db.q.GetUserByID(ctx, uid)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("get user", err)
	}
	return toUser(r), nil
}

// UserByEmail implements ports.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	// The exact address first: it is what people type, and it keeps the
	// accounts that collided before email keys existed apart.
	r, err := db.q.GetUserByExactEmail(ctx, email)
	if errors.Is(err, pgx.ErrNoRows) {
		r, err = db.q.GetUserByEmail(ctx, domain.EmailKey(email))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("get user by email", err)
	}
	return toUser(r), nil
}

// RecordLogin implements ports.UserStore.
func (db *DB) RecordLogin(ctx context.Context, id domain.UserID, at time.Time) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	var r sqlcgen.User
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		r, err = q.RecordLogin(ctx, sqlcgen.RecordLoginParams{ID: uid, At: at.UTC()})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("record login", err)
	}
	return toUser(r), nil
}

// MarkEmailVerified implements ports.UserStore.
func (db *DB) MarkEmailVerified(ctx context.Context, id domain.UserID, at time.Time, promote bool) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	var r sqlcgen.User
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		r, err = q.MarkEmailVerified(ctx, sqlcgen.MarkEmailVerifiedParams{ID: uid, At: at.UTC(), Promote: promote})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("mark email verified", err)
	}
	return toUser(r), nil
}

// SetPassword implements ports.UserStore in one statement.
func (db *DB) SetPassword(ctx context.Context, id domain.UserID, hash string, at time.Time) (domain.User, error) {
	uid, ok := parseID(id)
	if !ok {
		return domain.User{}, errUserNotFound
	}
	var r sqlcgen.User
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		r, err = q.SetPassword(ctx, sqlcgen.SetPasswordParams{ID: uid, PasswordHash: &hash, At: at.UTC()})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.User{}, errUserNotFound
	}
	if err != nil {
		return domain.User{}, storeErr("set password", err)
	}
	return toUser(r), nil
}

// RevokeTokens implements ports.UserStore.
func (db *DB) RevokeTokens(ctx context.Context, id domain.UserID, at time.Time) error {
	uid, ok := parseID(id)
	if !ok {
		return errUserNotFound
	}
	var n int64
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		n, err = q.RevokeTokens(ctx, sqlcgen.RevokeTokensParams{ID: uid, At: at.UTC()})
		return err
	})
	if err != nil {
		return storeErr("revoke tokens", err)
	}
	if n == 0 {
		return errUserNotFound
	}
	return nil
}

// ConsumeQuota implements ports.QuotaStore with one guarded upsert.
func (db *DB) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	uid, ok := parseID(id)
	if !ok {
		return 0, false, errUserNotFound
	}
	used, err := db.q.ConsumeQuota(ctx, sqlcgen.ConsumeQuotaParams{UserID: uid, Day: day, Units: int32(units), DailyLimit: int32(limit)})
	if errors.Is(err, pgx.ErrNoRows) {
		// The units do not fit: report the count the guard saw.
		current, err := db.QuotaUsed(ctx, id, day)
		return current, false, err
	}
	if err != nil {
		return 0, false, storeErr("consume quota", err)
	}
	return int(used), true, nil
}

// RefundQuota implements ports.QuotaStore.
func (db *DB) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	uid, ok := parseID(id)
	if !ok {
		return nil
	}
	if err := db.q.RefundQuota(ctx, sqlcgen.RefundQuotaParams{Units: int32(units), UserID: uid, Day: day}); err != nil {
		return storeErr("refund quota", err)
	}
	return nil
}

// QuotaUsed implements ports.QuotaStore.
func (db *DB) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	uid, ok := parseID(id)
	if !ok {
		return 0, nil
	}
	used, err := db.q.GetQuotaUsed(ctx, sqlcgen.GetQuotaUsedParams{UserID: uid, Day: day})
	if err != nil {
		return 0, storeErr("read quota", err)
	}
	return int(used), nil
}

// DeleteUser implements ports.UserStore in one statement (the foreign keys
// do the rest), announced like every change to an account, so that every
// instance's cache forgets it and its tokens and keys stop working.
func (db *DB) DeleteUser(ctx context.Context, id domain.UserID) error {
	uid, ok := parseID(id)
	if !ok {
		return errUserNotFound
	}
	var n int64
	err := db.announced(ctx, uid, func(q *sqlcgen.Queries) (err error) {
		if err := q.AnonymiseAuditEntries(ctx, pgtype.UUID{Bytes: uid, Valid: true}); err != nil {
			return err
		}
		n, err = q.DeleteUser(ctx, uid)
		return err
	})
	if err != nil {
		return storeErr("delete user", err)
	}
	if n == 0 {
		return errUserNotFound
	}
	return nil
}
