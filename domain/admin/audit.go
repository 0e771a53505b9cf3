package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/genzai/genzai/domain"
)

// auditActor is who acted: an account, or the operator (no id).
type auditActor struct {
	id   domain.UserID
	name string
}

func actorOf(u domain.User) auditActor { return auditActor{id: u.ID, name: u.Email} }

// audit records one entry.
func (s *Service) audit(ctx context.Context, actor auditActor, action domain.AuditAction, target domain.User, details map[string]any, requestID string) error {
	_, err := s.store.RecordAudit(ctx, domain.AuditEntry{
		ActorID: actor.id, Actor: actor.name, Action: action, TargetID: target.ID, Target: target.Email,
		Details: details, RequestID: requestID, CreatedAt: s.clock.Now(),
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// auditPatch records one entry per field p sets, with the value before
// and after.
func (s *Service) auditPatch(ctx context.Context, actor auditActor, before domain.User, p domain.UserPatch, requestID string) error {
	if p.SetDailyQuota {
		d := map[string]any{"from": quotaValue(before.DailyQuota), "to": quotaValue(p.DailyQuota)}
		if err := s.audit(ctx, actor, domain.AuditQuotaChanged, before, d, requestID); err != nil {
			return err
		}
	}
	if p.IsAdmin != nil {
		action := domain.AuditAdminRevoked
		if *p.IsAdmin {
			action = domain.AuditAdminGranted
		}
		if err := s.audit(ctx, actor, action, before, map[string]any{"was_admin": before.IsAdmin}, requestID); err != nil {
			return err
		}
	}
	if p.Disabled != nil {
		action := domain.AuditUserEnabled
		if *p.Disabled {
			action = domain.AuditUserDisabled
		}
		if err := s.audit(ctx, actor, action, before, map[string]any{"was_disabled": before.Disabled}, requestID); err != nil {
			return err
		}
	}
	return nil
}

// quotaValue is a daily quota as audit details show it: the number, or
// "default".
func quotaValue(q *int) any {
	if q == nil {
		return "default"
	}
	return *q
}

// patchDetails describes a patch for the audit log.
func patchDetails(p domain.UserPatch) map[string]any {
	d := map[string]any{}
	if p.SetDailyQuota {
		d["daily_quota"] = quotaValue(p.DailyQuota)
	}
	if p.IsAdmin != nil {
		d["is_admin"] = *p.IsAdmin
	}
	if p.Disabled != nil {
		d["disabled"] = *p.Disabled
	}
	return d
}

// AuditPage is a page of the audit log, newest first; NextCursor is "" on
// the last page.
type AuditPage struct {
	Entries    []domain.AuditEntry
	NextCursor string
}

// Audit returns a page of the audit log, newest first, after the page
// cursor names; a nil limit means the default.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) Audit(ctx context.Context, actor domain.User, limit *int, cursor string) (AuditPage, error) {
	if err := requireAdmin(actor); err != nil {
		return AuditPage{}, err
	}
	return s.AuditAsOperator(ctx, limit, cursor)
}

// AuditAsOperator is Audit for the operator's CLI, which needs no account.
// Errors: CodeInvalid, CodeUnavailable.
func (s *Service) AuditAsOperator(ctx context.Context, limit *int, cursor string) (AuditPage, error) {
	n, err := pageSize(limit, DefaultAuditPage, MaxAuditPage)
	if err != nil {
		return AuditPage{}, err
	}
	f := domain.AuditFilter{Limit: n + 1}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		id, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || id <= 0 {
			return AuditPage{}, domain.Invalid("cursor", "not a cursor this server issued")
		}
		f.BeforeID = id
	}
	rows, err := s.store.AuditEntries(ctx, f)
	if err != nil {
		return AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	page := AuditPage{Entries: rows}
	if len(rows) > n {
		page.Entries = rows[:n]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(rows[n-1].ID, 10)))
	}
	return page, nil
}
