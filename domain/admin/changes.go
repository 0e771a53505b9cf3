package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/genzai/genzai/domain"
)

// UpdateResult is the outcome of UpdateUser: the account as changed, or
// the change waiting for a second admin (exactly one is set).
type UpdateResult struct {
	User    *UserView
	Pending *domain.PendingChange
}

// UpdateUser applies a patch to an account and returns it with today's
// usage. Admins cannot disable or demote themselves, so that a deployment
// never locks out its last admin by mistake. A patch that disables or
// demotes another admin, or makes a new admin, is not applied: it is stored
// as a pending change that a different admin confirms (ConfirmChange), so
// that one admin's stolen credential can neither take the others out nor
// mint an accomplice to confirm its changes. Every change is recorded in
// the audit log with requestID.
// Errors: CodeForbidden, CodeInvalid, CodeNotFound, CodeUnavailable.
func (s *Service) UpdateUser(ctx context.Context, actor domain.User, requestID string, id domain.UserID, p domain.UserPatch) (UpdateResult, error) {
	if err := requireAdmin(actor); err != nil {
		return UpdateResult{}, err
	}
	switch {
	case p.Empty():
		return UpdateResult{}, domain.Errorf(domain.CodeInvalid, "body: set at least one of daily_quota, is_admin, disabled")
	case p.SetDailyQuota && p.DailyQuota != nil && (*p.DailyQuota < 0 || *p.DailyQuota > MaxDailyQuota):
		return UpdateResult{}, domain.Invalid("daily_quota", "must be 0 to %d, or null for the default", MaxDailyQuota)
	case id == actor.ID && p.Disabled != nil && *p.Disabled:
		return UpdateResult{}, domain.Invalid("disabled", "admins cannot disable themselves")
	case id == actor.ID && p.IsAdmin != nil && !*p.IsAdmin:
		return UpdateResult{}, domain.Invalid("is_admin", "admins cannot demote themselves")
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("load user: %w", err)
	}
	now := s.clock.Now()
	if needsSecondAdmin(actor, target, p) {
		c, err := s.store.CreatePendingChange(ctx, domain.PendingChange{
			TargetID: target.ID, RequestedBy: actor.ID, Patch: p, RequestID: requestID,
			CreatedAt: now, ExpiresAt: now.Add(PendingChangeTTL),
		})
		if err != nil {
			return UpdateResult{}, fmt.Errorf("create pending change: %w", err)
		}
		details := patchDetails(p)
		details["change_id"] = string(c.ID)
		details["expires_at"] = c.ExpiresAt.UTC().Format(time.RFC3339)
		if err := s.audit(ctx, actorOf(actor), domain.AuditChangeRequested, target, details, requestID); err != nil {
			return UpdateResult{}, err
		}
		return UpdateResult{Pending: &c}, nil
	}
	if err := s.revokeKeysIfDisabling(ctx, id, p); err != nil {
		return UpdateResult{}, err
	}
	p.At = s.clock.Now()
	u, err := s.store.UpdateUser(ctx, id, p)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("update user: %w", err)
	}
	if err := s.auditPatch(ctx, actorOf(actor), target, p, requestID); err != nil {
		return UpdateResult{}, err
	}
	v, err := s.view(ctx, u)
	if err != nil {
		return UpdateResult{}, err
	}
	return UpdateResult{User: &v}, nil
}

// revokeKeysIfDisabling deletes the account's personal API keys when p
// disables it, so that enabling it again revives no credential: its access
// tokens die with the same change (tokens_valid_after), its keys here.
// Before the update on the direct path, so that no key outlives a disable
// that failed half-way.
func (s *Service) revokeKeysIfDisabling(ctx context.Context, id domain.UserID, p domain.UserPatch) error {
	if p.Disabled == nil || !*p.Disabled {
		return nil
	}
	if err := s.store.RevokeAPIKeys(ctx, id); err != nil {
		return fmt.Errorf("revoke api keys: %w", err)
	}
	return nil
}

// needsSecondAdmin reports whether actor's patch of target waits for a
// second admin: disabling or demoting another admin, and making a new
// admin. Promotions are included because otherwise one stolen admin
// credential mints its own "second admin" (issue 19: a key promoted an
// accomplice, who then disabled the admin) and confirms its own changes.
// The operator's CLI grants and revokes without confirmation.
func needsSecondAdmin(actor, target domain.User, p domain.UserPatch) bool {
	promote := p.IsAdmin != nil && *p.IsAdmin && !target.IsAdmin
	takeAway := (p.IsAdmin != nil && !*p.IsAdmin) || (p.Disabled != nil && *p.Disabled)
	return promote || (target.IsAdmin && target.ID != actor.ID && takeAway)
}

// ConfirmResult is a confirmed change and the account it changed.
type ConfirmResult struct {
	Change domain.PendingChange
	User   UserView
}

var errOwnChange = domain.Errorf(domain.CodeForbidden, "You asked for this change: a different admin must confirm it")

// ConfirmChange applies a pending change as a second admin; the admin who
// asked for it cannot. Errors: CodeForbidden (not an admin, or the
// requester), CodeNotFound, CodeConflict (already confirmed, or expired),
// CodeUnavailable.
func (s *Service) ConfirmChange(ctx context.Context, actor domain.User, requestID string, id domain.PendingChangeID) (ConfirmResult, error) {
	if err := requireAdmin(actor); err != nil {
		return ConfirmResult{}, err
	}
	c, err := s.store.PendingChange(ctx, id)
	if err != nil {
		return ConfirmResult{}, fmt.Errorf("load pending change: %w", err)
	}
	now := s.clock.Now()
	switch {
	case c.RequestedBy == actor.ID:
		return ConfirmResult{}, errOwnChange
	case c.ConfirmedAt != nil:
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "This change was already confirmed by %s", c.ConfirmedByEmail)
	case !now.Before(c.ExpiresAt):
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "This change expired at %s: ask for it again", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	// A change outlives neither its requester's admin rights nor their
	// account: an admin removed for cause leaves no change behind to confirm.
	requester, err := s.store.UserByID(ctx, c.RequestedBy)
	switch {
	case domain.ErrorCode(err) == domain.CodeNotFound || (err == nil && (!requester.IsAdmin || requester.Disabled)):
		return ConfirmResult{}, domain.Errorf(domain.CodeConflict, "%s, who asked for this change, is no longer an admin: it cannot be confirmed", c.RequestedByEmail)
	case err != nil:
		return ConfirmResult{}, fmt.Errorf("load requester: %w", err)
	}
	// The store checks all of the above again atomically: a concurrent
	// confirmation gets CodeConflict.
	c, u, err := s.store.ConfirmPendingChange(ctx, id, actor.ID, now)
	if err != nil {
		return ConfirmResult{}, fmt.Errorf("confirm pending change: %w", err)
	}
	if err := s.revokeKeysIfDisabling(ctx, c.TargetID, c.Patch); err != nil {
		return ConfirmResult{}, err
	}
	details := patchDetails(c.Patch)
	details["change_id"] = string(c.ID)
	details["requested_by"] = c.RequestedByEmail
	target := domain.User{ID: c.TargetID, Email: c.TargetEmail}
	if err := s.audit(ctx, actorOf(actor), domain.AuditChangeConfirmed, target, details, requestID); err != nil {
		return ConfirmResult{}, err
	}
	v, err := s.view(ctx, u)
	if err != nil {
		return ConfirmResult{}, err
	}
	return ConfirmResult{Change: c, User: v}, nil
}

// SetAdminAsOperator grants (admin true) or revokes an account's admin
// rights for the operator, who runs the CLI with the database's URL: no
// admin account and no confirmation needed, since whoever holds the
// database can change it anyway. The change is audited with the actor
// domain.OperatorActor. Errors: CodeInvalid (email), CodeNotFound (no
// account with that email), CodeUnavailable.
func (s *Service) SetAdminAsOperator(ctx context.Context, email string, admin bool) (domain.User, error) {
	email, err := s.emails.Normalize(email)
	if err != nil {
		return domain.User{}, err
	}
	target, err := s.store.UserByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.Errorf(domain.CodeNotFound, "No account with the email %s: the person must register (or log in) first", email)
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("load user: %w", err)
	}
	if err := domain.ExactAccount(target, email); err != nil {
		return domain.User{}, err
	}
	p := domain.UserPatch{IsAdmin: &admin}
	u, err := s.store.UpdateUser(ctx, target.ID, p)
	if err != nil {
		return domain.User{}, fmt.Errorf("update user: %w", err)
	}
	if err := s.auditPatch(ctx, auditActor{name: domain.OperatorActor}, target, p, ""); err != nil {
		return domain.User{}, err
	}
	return u, nil
}
