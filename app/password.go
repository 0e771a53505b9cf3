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
)

// ResetPassword sets the password of the account with email on db, hashed
// with Argon2id as the server does, and revokes every access token the
// account holds: the operator's way to reset a password when no mail can
// carry a reset link. params nil means the production parameters.
// Errors: CodeInvalid (email or password), CodeNotFound (no such account),
// CodeUnavailable.
func ResetPassword(ctx context.Context, cfg Config, db *Database, params *argon2id.Params, email, password string) (domain.User, error) {
	p := argon2id.DefaultParams
	if params != nil {
		p = *params
	}
	svc := login.New(db, argon2id.New(p, runtime.GOMAXPROCS(0)), jwt.New([]byte(cfg.JWTSecret.Reveal()), tokenIssuer), clock.System{}, login.Config{
		TokenTTL: cfg.JWTExpiration,
	})
	u, err := svc.ResetPassword(ctx, email, password)
	if err != nil {
		return domain.User{}, fmt.Errorf("reset password: %w", err)
	}
	return u, nil
}
