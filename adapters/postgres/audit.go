package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.AuditLog    = (*DB)(nil)
	_ ports.ChangeStore = (*DB)(nil)
)

var (
	errChangeNotFound = domain.Errorf(domain.CodeNotFound, "No pending change with this id")
	errChangeClosed   = domain.Errorf(domain.CodeConflict, "This change is already confirmed, has expired, or is yours to wait on")
)

// optID is a nullable uuid column for an optional id.
func optID(id domain.UserID) pgtype.UUID {
	u, ok := parseID(id)
	return pgtype.UUID{Bytes: u, Valid: ok}
}

// fromOptID reads a nullable uuid column back.
func fromOptID(id pgtype.UUID) domain.UserID {
	if !id.Valid {
		return ""
	}
	return domain.UserID(uuid.UUID(id.Bytes).String())
}

func toAuditEntry(r sqlcgen.AuditLog) domain.AuditEntry {
	return domain.AuditEntry{
		ID: r.ID, ActorID: fromOptID(r.ActorID), Actor: r.Actor, Action: domain.AuditAction(r.Action),
		TargetID: fromOptID(r.TargetID), Target: r.Target, Details: sqlval.ParseAuditDetails(r.Details),
		RequestID: r.RequestID, CreatedAt: r.CreatedAt.UTC(),
	}
}

// RecordAudit implements ports.AuditLog.
func (db *DB) RecordAudit(ctx context.Context, e domain.AuditEntry) (domain.AuditEntry, error) {
	details, err := sqlval.AuditDetails(e.Details)
	if err != nil {
		return domain.AuditEntry{}, err
	}
	r, err := db.q.InsertAudit(ctx, sqlcgen.InsertAuditParams{
		ActorID: optID(e.ActorID), Actor: e.Actor, Action: string(e.Action), TargetID: optID(e.TargetID),
		Target: e.Target, Details: details, RequestID: e.RequestID, CreatedAt: e.CreatedAt.UTC(),
	})
	if err != nil {
		return domain.AuditEntry{}, storeErr("record audit", err)
	}
	return toAuditEntry(r), nil
}

// AuditEntries implements ports.AuditLog.
func (db *DB) AuditEntries(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error) {
	out := []domain.AuditEntry{}
	if f.Limit <= 0 {
		return out, nil
	}
	before := f.BeforeID
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := db.q.ListAudit(ctx, sqlcgen.ListAuditParams{BeforeID: before, RowLimit: sqlval.ClampInt32(int64(f.Limit))})
	if err != nil {
		return nil, storeErr("list audit", err)
	}
	for _, r := range rows {
		out = append(out, toAuditEntry(r))
	}
	return out, nil
}

// CreatePendingChange implements ports.ChangeStore.
func (db *DB) CreatePendingChange(ctx context.Context, c domain.PendingChange) (domain.PendingChange, error) {
	target, ok1 := parseID(c.TargetID)
	by, ok2 := parseID(c.RequestedBy)
	if !ok1 || !ok2 {
		return domain.PendingChange{}, errUserNotFound
	}
	arg := sqlcgen.CreateAdminChangeParams{
		TargetID: target, RequestedBy: by, SetDailyQuota: c.Patch.SetDailyQuota,
		IsAdmin: c.Patch.IsAdmin, Disabled: c.Patch.Disabled, RequestID: c.RequestID,
		CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
	}
	if c.Patch.SetDailyQuota && c.Patch.DailyQuota != nil {
		if *c.Patch.DailyQuota < 0 || *c.Patch.DailyQuota > math.MaxInt32 {
			return domain.PendingChange{}, domain.Errorf(domain.CodeInvalid, "daily_quota: out of range")
		}
		q := int32(*c.Patch.DailyQuota)
		arg.DailyQuota = &q
	}
	id, err := db.q.CreateAdminChange(ctx, arg)
	if err != nil {
		if isForeignKeyViolation(err) {
			return domain.PendingChange{}, errUserNotFound
		}
		return domain.PendingChange{}, storeErr("create pending change", err)
	}
	return db.PendingChange(ctx, domain.PendingChangeID(id.String()))
}

// PendingChange implements ports.ChangeStore.
func (db *DB) PendingChange(ctx context.Context, id domain.PendingChangeID) (domain.PendingChange, error) {
	return db.pendingChange(ctx, db.q, id)
}

func (db *DB) pendingChange(ctx context.Context, q *sqlcgen.Queries, id domain.PendingChangeID) (domain.PendingChange, error) {
	cid, ok := parseID(domain.UserID(id))
	if !ok {
		return domain.PendingChange{}, errChangeNotFound
	}
	r, err := q.GetAdminChange(ctx, cid)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PendingChange{}, errChangeNotFound
	}
	if err != nil {
		return domain.PendingChange{}, storeErr("read pending change", err)
	}
	c := domain.PendingChange{
		ID: domain.PendingChangeID(r.ID.String()), TargetID: domain.UserID(r.TargetID.String()), TargetEmail: r.TargetEmail,
		RequestedBy: domain.UserID(r.RequestedBy.String()), RequestedByEmail: r.RequestedByEmail,
		Patch:     domain.UserPatch{SetDailyQuota: r.SetDailyQuota, IsAdmin: r.IsAdmin, Disabled: r.Disabled},
		RequestID: r.RequestID, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		ConfirmedBy: fromOptID(r.ConfirmedBy), ConfirmedAt: utcPtr(r.ConfirmedAt),
	}
	if r.ConfirmedByEmail != nil {
		c.ConfirmedByEmail = *r.ConfirmedByEmail
	}
	if r.DailyQuota != nil {
		q := int(*r.DailyQuota)
		c.Patch.DailyQuota = &q
	}
	return c, nil
}

// ConfirmPendingChange implements ports.ChangeStore: the claim and the
// account update run in one transaction, and the claim's guarded UPDATE
// lets exactly one of concurrent confirmations through.
func (db *DB) ConfirmPendingChange(ctx context.Context, id domain.PendingChangeID, confirmer domain.UserID, at time.Time) (domain.PendingChange, domain.User, error) {
	cid, ok := parseID(domain.UserID(id))
	if !ok {
		return domain.PendingChange{}, domain.User{}, errChangeNotFound
	}
	by, ok := parseID(confirmer)
	if !ok {
		return domain.PendingChange{}, domain.User{}, errChangeClosed
	}
	var c domain.PendingChange
	var u domain.User
	err := pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		_, err := q.ClaimAdminChange(ctx, sqlcgen.ClaimAdminChangeParams{Confirmer: by, At: at.UTC(), ID: cid})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, gerr := db.pendingChange(ctx, q, id); gerr != nil {
				return gerr
			}
			return errChangeClosed
		}
		if err != nil {
			return storeErr("claim pending change", err)
		}
		if c, err = db.pendingChange(ctx, q, id); err != nil {
			return err
		}
		// At: a change of disabled revokes the target's tokens, as a direct patch does.
		arg := sqlcgen.UpdateUserParams{ID: mustID(c.TargetID), SetDailyQuota: c.Patch.SetDailyQuota, IsAdmin: c.Patch.IsAdmin, Disabled: c.Patch.Disabled, At: at.UTC()}
		if c.Patch.DailyQuota != nil {
			dq := int32(*c.Patch.DailyQuota)
			arg.DailyQuota = &dq
		}
		r, err := q.UpdateUser(ctx, arg)
		if errors.Is(err, pgx.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return storeErr("apply pending change", err)
		}
		u = toUser(r)
		if err := announce(ctx, tx, r.ID); err != nil {
			return storeErr("announce pending change", err)
		}
		return nil
	})
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return domain.PendingChange{}, domain.User{}, err
		}
		return domain.PendingChange{}, domain.User{}, storeErr("confirm pending change", err)
	}
	return c, u, nil
}

// mustID parses an id read back from a uuid column, which is always valid.
func mustID(id domain.UserID) uuid.UUID {
	u, _ := parseID(id)
	return u
}

// isForeignKeyViolation reports a row that names a missing account.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
