package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
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

// optID is a nullable id column for an optional id.
func optID(id domain.UserID) *string {
	s, ok := parseID(id)
	if !ok {
		return nil
	}
	return &s
}

func fromOptID(id *string) domain.UserID {
	if id == nil {
		return ""
	}
	return domain.UserID(*id)
}

func fromOptMicros(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}

func toAuditEntry(r sqlcgen.AuditLog) domain.AuditEntry {
	return domain.AuditEntry{
		ID: r.ID, ActorID: fromOptID(r.ActorID), Actor: r.Actor, Action: domain.AuditAction(r.Action),
		TargetID: fromOptID(r.TargetID), Target: r.Target, Details: sqlval.ParseAuditDetails([]byte(r.Details)),
		RequestID: r.RequestID, CreatedAt: fromMicros(r.CreatedAt),
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
		Target: e.Target, Details: string(details), RequestID: e.RequestID, CreatedAt: micros(e.CreatedAt),
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
	rows, err := db.q.ListAudit(ctx, sqlcgen.ListAuditParams{BeforeID: before, RowLimit: int64(sqlval.ClampInt32(int64(f.Limit)))})
	if err != nil {
		return nil, storeErr("list audit", err)
	}
	for _, r := range rows {
		out = append(out, toAuditEntry(r))
	}
	return out, nil
}

// CreatePendingChange implements ports.ChangeStore. The id is a random
// (version 4) UUID.
func (db *DB) CreatePendingChange(ctx context.Context, c domain.PendingChange) (domain.PendingChange, error) {
	target, ok1 := parseID(c.TargetID)
	by, ok2 := parseID(c.RequestedBy)
	if !ok1 || !ok2 {
		return domain.PendingChange{}, errUserNotFound
	}
	arg := sqlcgen.CreateAdminChangeParams{
		ID: uuid.NewString(), TargetID: target, RequestedBy: by, SetDailyQuota: c.Patch.SetDailyQuota,
		IsAdmin: c.Patch.IsAdmin, Disabled: c.Patch.Disabled, RequestID: c.RequestID,
		CreatedAt: micros(c.CreatedAt), ExpiresAt: micros(c.ExpiresAt),
	}
	if c.Patch.SetDailyQuota && c.Patch.DailyQuota != nil {
		if *c.Patch.DailyQuota < 0 || *c.Patch.DailyQuota > math.MaxInt32 {
			return domain.PendingChange{}, domain.Errorf(domain.CodeInvalid, "daily_quota: out of range")
		}
		q := int64(*c.Patch.DailyQuota)
		arg.DailyQuota = &q
	}
	id, err := db.q.CreateAdminChange(ctx, arg)
	if err != nil {
		if sqliteCode(err) == sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY {
			return domain.PendingChange{}, errUserNotFound
		}
		return domain.PendingChange{}, storeErr("create pending change", err)
	}
	return pendingChange(ctx, db.q, domain.PendingChangeID(id))
}

// PendingChange implements ports.ChangeStore.
func (db *DB) PendingChange(ctx context.Context, id domain.PendingChangeID) (domain.PendingChange, error) {
	return pendingChange(ctx, db.q, id)
}

func pendingChange(ctx context.Context, q *sqlcgen.Queries, id domain.PendingChangeID) (domain.PendingChange, error) {
	cid, ok := parseID(domain.UserID(id))
	if !ok {
		return domain.PendingChange{}, errChangeNotFound
	}
	r, err := q.GetAdminChange(ctx, cid)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.PendingChange{}, errChangeNotFound
	}
	if err != nil {
		return domain.PendingChange{}, storeErr("read pending change", err)
	}
	c := domain.PendingChange{
		ID: domain.PendingChangeID(r.ID), TargetID: domain.UserID(r.TargetID), TargetEmail: r.TargetEmail,
		RequestedBy: domain.UserID(r.RequestedBy), RequestedByEmail: r.RequestedByEmail,
		Patch:     domain.UserPatch{SetDailyQuota: r.SetDailyQuota, IsAdmin: r.IsAdmin, Disabled: r.Disabled},
		RequestID: r.RequestID, CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromMicros(r.ExpiresAt),
		ConfirmedBy: fromOptID(r.ConfirmedBy), ConfirmedAt: fromOptMicros(r.ConfirmedAt),
	}
	if r.ConfirmedByEmail != nil {
		c.ConfirmedByEmail = *r.ConfirmedByEmail
	}
	if r.DailyQuota != nil {
		dq := int(*r.DailyQuota)
		c.Patch.DailyQuota = &dq
	}
	return c, nil
}

// ConfirmPendingChange implements ports.ChangeStore in one IMMEDIATE
// transaction: the claim and the account update cannot interleave with
// another writer.
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
	err := db.inTx(ctx, func(q *sqlcgen.Queries) error {
		_, err := q.ClaimAdminChange(ctx, sqlcgen.ClaimAdminChangeParams{Confirmer: by, At: micros(at), ID: cid})
		if errors.Is(err, sql.ErrNoRows) {
			if _, gerr := pendingChange(ctx, q, id); gerr != nil {
				return gerr
			}
			return errChangeClosed
		}
		if err != nil {
			return storeErr("claim pending change", err)
		}
		if c, err = pendingChange(ctx, q, id); err != nil {
			return err
		}
		// At: a change of disabled revokes the target's tokens, as a direct patch does.
		arg := sqlcgen.UpdateUserParams{ID: string(c.TargetID), SetDailyQuota: c.Patch.SetDailyQuota, IsAdmin: c.Patch.IsAdmin, Disabled: c.Patch.Disabled, At: micros(at)}
		if c.Patch.DailyQuota != nil {
			dq := int64(*c.Patch.DailyQuota)
			arg.DailyQuota = &dq
		}
		r, err := q.UpdateUser(ctx, arg)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return storeErr("apply pending change", err)
		}
		u = toUser(r)
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
