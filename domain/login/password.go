package login

import (
	"context"
	"fmt"
	"time"

	"github.com/genzai/genzai/domain"
)

// ChangePassword sets u's password and returns a new access token, every
// older token being revoked. current must match the password u has; an
// account without one (created by email-only login) may set one without it.
// A wrong current password fails like a wrong login, after the same
// hashing work.
// Errors: CodeInvalid, CodeUnauthorized, CodeNotFound, CodeUnavailable.
func (s *Service) ChangePassword(ctx context.Context, u domain.User, current *string, newPassword string) (Token, error) {
	if domain.ValidatePassword(newPassword) != nil {
		return Token{}, domain.Errorf(domain.CodeInvalid, "new_password: must be %d to %d characters", domain.MinPasswordLen, domain.MaxPasswordLen)
	}
	if err := s.confirmPassword(ctx, u, "current_password", current); err != nil {
		return Token{}, err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return Token{}, fmt.Errorf("hash password: %w", err)
	}
	return s.setPassword(ctx, u.ID, hash)
}

// DeleteAccount deletes u's account and everything tied to it (see
// ports.UserStore.DeleteUser); its tokens and keys stop working at once.
// password must match the password u has; an account without one
// (created by email-only login) needs none. A wrong password fails like a
// wrong login, after the same hashing work and against the same budget.
// Errors: CodeInvalid, CodeUnauthorized, CodeRateLimited, CodeUnavailable.
func (s *Service) DeleteAccount(ctx context.Context, u domain.User, password *string) error {
	if err := s.confirmPassword(ctx, u, "password", password); err != nil {
		return err
	}
	// An account already gone (a concurrent deletion) is what was asked.
	if err := s.users.DeleteUser(ctx, u.ID); err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// confirmPassword checks that password, given as the member field, is
// u's password; an account without a password needs none.
func (s *Service) confirmPassword(ctx context.Context, u domain.User, field string, password *string) error {
	if !u.HasPassword() {
		return nil
	}
	if password == nil || *password == "" {
		return domain.Errorf(domain.CodeInvalid, "%s: is required", field)
	}
	// A stolen access token must not buy unlimited guesses at the
	// password: these attempts share the account's login budget.
	return s.guarded(ctx, u.Email, func() error {
		ok, err := s.hasher.Verify(ctx, *password, u.PasswordHash)
		if err != nil {
			return fmt.Errorf("verify password: %w", err)
		}
		if !ok {
			return errWrongPassword
		}
		return nil
	})
}

// ResetPassword sets the password of the account with email, revoking its
// tokens; the operator's CLI uses it when no mail can carry a reset link.
// Errors: CodeInvalid, CodeNotFound, CodeUnavailable.
func (s *Service) ResetPassword(ctx context.Context, email, password string) (domain.User, error) {
	email, err := s.cfg.Emails.Normalize(email)
	if err != nil {
		return domain.User{}, err
	}
	if err := domain.ValidatePassword(password); err != nil {
		return domain.User{}, err
	}
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return domain.User{}, fmt.Errorf("find user: %w", err)
	}
	if err := domain.ExactAccount(u, email); err != nil {
		return domain.User{}, err
	}
	return s.recoverAccount(ctx, u, password)
}

// recoverAccount gives the account to whoever proved a right to it (the
// mailbox's holder, or the operator): newPassword replaces the password,
// and every access token and personal API key made before dies, whoever
// made them.
func (s *Service) recoverAccount(ctx context.Context, u domain.User, newPassword string) (domain.User, error) {
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return domain.User{}, fmt.Errorf("hash password: %w", err)
	}
	if err := s.users.RevokeAPIKeys(ctx, u.ID); err != nil {
		return domain.User{}, fmt.Errorf("revoke api keys: %w", err)
	}
	// At the stored precision, as setPassword does, so that revocation
	// compares like with like.
	u, err = s.users.SetPassword(ctx, u.ID, hash, s.clock.Now().Truncate(time.Microsecond))
	if err != nil {
		return domain.User{}, fmt.Errorf("set password: %w", err)
	}
	s.forgetFailures(ctx, u.Email)
	return u, nil
}

// setPassword stores hash, revoking every token issued up to now, and
// issues a token one microsecond (the stored precision) later, so that it
// is the first token the new password is good for.
func (s *Service) setPassword(ctx context.Context, id domain.UserID, hash string) (Token, error) {
	now := s.clock.Now().Truncate(time.Microsecond)
	u, err := s.users.SetPassword(ctx, id, hash, now)
	if err != nil {
		return Token{}, fmt.Errorf("set password: %w", err)
	}
	return s.issue(u, now.Add(time.Microsecond))
}
