package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.UserStore  = (*DB)(nil)
	_ ports.QuotaStore = (*DB)(nil)
	_ ports.Pinger     = (*DB)(nil)
)

var errUserNotFound = domain.Errorf(domain.CodeNotFound, "user not found")

// micros is t as stored: unix microseconds, truncated.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a stored instant back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// dayText is the stored form of a quota day: its UTC date.
func dayText(day time.Time) string { return day.UTC().Format(time.DateOnly) }

func toUser(r sqlcgen.User) domain.User {
	u := domain.User{
		ID:        domain.UserID(r.ID),
		Email:     r.Email,
		IsAdmin:   r.IsAdmin,
		Disabled:  r.Disabled,
		CreatedAt: fromMicros(r.CreatedAt),
	}
	if r.PasswordHash != nil {
		u.PasswordHash = *r.PasswordHash
	}
	if r.DailyQuota != nil {
		q := int(*r.DailyQuota)
		u.DailyQuota = &q
	}
	if r.LastLoginAt != nil {
		t := fromMicros(*r.LastLoginAt)
		u.LastLoginAt = &t
	}
	if r.EmailVerifiedAt != nil {
		t := fromMicros(*r.EmailVerifiedAt)
		u.EmailVerifiedAt = &t
	}
	if r.TokensValidAfter != nil {
		t := fromMicros(*r.TokensValidAfter)
		u.TokensValidAfter = &t
	}
	return u
}

// CreateUser implements ports.UserStore. The id is a random (version 4)
// UUID; created_at is this process's clock.
func (db *DB) CreateUser(ctx context.Context, nu domain.NewUser) (domain.User, error) {
	var hash *string
	if nu.PasswordHash != "" {
		hash = &nu.PasswordHash
	}
	r, err := db.q.CreateUser(ctx, sqlcgen.CreateUserParams{
		ID:           uuid.NewString(),
		Email:        nu.Email,
		EmailKey:     domain.EmailKey(nu.Email),
		PasswordHash: hash,
		IsAdmin:      nu.IsAdmin,
		CreatedAt:    micros(time.Now()),
	})
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
	if errors.Is(err, sql.ErrNoRows) {
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
	if errors.Is(err, sql.ErrNoRows) {
		r, err = db.q.GetUserByEmail(ctx, domain.EmailKey(email))
	}
	if errors.Is(err, sql.ErrNoRows) {
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
	r, err := db.q.RecordLogin(ctx, sqlcgen.RecordLoginParams{ID: uid, At: micros(at)})
	if errors.Is(err, sql.ErrNoRows) {
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
	r, err := db.q.MarkEmailVerified(ctx, sqlcgen.MarkEmailVerifiedParams{ID: uid, At: micros(at), Promote: promote})
	if errors.Is(err, sql.ErrNoRows) {
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
	r, err := db.q.SetPassword(ctx, sqlcgen.SetPasswordParams{ID: uid, PasswordHash: &hash, At: micros(at)})
	if errors.Is(err, sql.ErrNoRows) {
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
	n, err := db.q.RevokeTokens(ctx, sqlcgen.RevokeTokensParams{ID: uid, At: micros(at)})
	if err != nil {
		return storeErr("revoke tokens", err)
	}
	if n == 0 {
		return errUserNotFound
	}
	return nil
}

// ConsumeQuota implements ports.QuotaStore in one immediate transaction:
// create the day's row if missing, then add the units only while they fit
// within limit. The transaction holds the write lock, so concurrent callers
// (in any process on the file) take turns and the count never passes the
// limit; when they do not fit it reports the count it saw under that lock.
func (db *DB) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	uid, ok := parseID(id)
	if !ok {
		return 0, false, errUserNotFound
	}
	key := sqlcgen.EnsureQuotaRowParams{UserID: uid, Day: dayText(day)}
	var used int64
	granted := true
	err := db.inTx(ctx, func(q *sqlcgen.Queries) error {
		if err := q.EnsureQuotaRow(ctx, key); err != nil {
			return err
		}
		n, err := q.IncrementQuota(ctx, sqlcgen.IncrementQuotaParams{Units: int64(units), UserID: key.UserID, Day: key.Day, DailyLimit: int64(limit)})
		if errors.Is(err, sql.ErrNoRows) {
			granted = false
			used, err = q.GetQuotaUsed(ctx, sqlcgen.GetQuotaUsedParams(key))
			return err
		}
		used = n
		return err
	})
	if err != nil {
		return 0, false, storeErr("consume quota", err)
	}
	return int(used), granted, nil
}

// RefundQuota implements ports.QuotaStore.
func (db *DB) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	uid, ok := parseID(id)
	if !ok {
		return nil
	}
	if err := db.q.RefundQuota(ctx, sqlcgen.RefundQuotaParams{Units: int64(units), UserID: uid, Day: dayText(day)}); err != nil {
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
	used, err := db.q.GetQuotaUsed(ctx, sqlcgen.GetQuotaUsedParams{UserID: uid, Day: dayText(day)})
	if err != nil {
		return 0, storeErr("read quota", err)
	}
	return int(used), nil
}

// DeleteUser implements ports.UserStore in one statement (the foreign keys
// do the rest).
func (db *DB) DeleteUser(ctx context.Context, id domain.UserID) error {
	uid, ok := parseID(id)
	if !ok {
		return errUserNotFound
	}
	var n int64
	err := db.inTx(ctx, func(q *sqlcgen.Queries) (err error) {
		if err := q.AnonymiseAuditEntries(ctx, &uid); err != nil {
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
