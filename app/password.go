package app

import (
	"context"
	"fmt"
	"runtime"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/clock"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/login"
	"github.com/genzai/genzai/ports"
)

// ResetPassword sets the password of the account with email on db, hashed
// with Argon2id as the server does, and revokes every access token the
// account holds, up to this machine's clock (which must agree with the
// servers', as theirs agree with each other): the operator's way to reset a
// password when no mail can carry a reset link. opts overrides the hashing
// parameters and the clock, as for New.
// Errors: CodeInvalid (email or password), CodeNotFound (no such account),
// CodeUnavailable.
func ResetPassword(ctx context.Context, cfg Config, db *Database, opts Options, email, password string) (domain.User, error) {
	params := argon2id.DefaultParams
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	var clk ports.Clock = clock.System{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	svc := login.New(db, argon2id.New(params, runtime.GOMAXPROCS(0)), jwt.New([]byte(cfg.JWTSecret.Reveal()), tokenIssuer), clk, login.Config{
		Emails:   emails(),
		TokenTTL: cfg.JWTExpiration,
	})
	u, err := svc.ResetPassword(ctx, email, password)
	if err != nil {
		return domain.User{}, fmt.Errorf("reset password: %w", err)
	}
	return u, nil
}
