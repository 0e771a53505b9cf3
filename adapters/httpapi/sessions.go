package httpapi

import (
	"context"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// errKeyChangesPassword refuses a password change made with a personal API
// key: a leaked key must not be able to take the account over.
var errKeyChangesPassword = domain.Errorf(domain.CodeForbidden, "API keys cannot change the password; log in and use the access token")

// Logout implements api.StrictServerInterface.
func (h *handlers) Logout(ctx context.Context, _ api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.s.deps.Login.Logout(ctx, u); err != nil {
		return nil, err
	}
	return api.Logout204Response{}, nil
}

// ChangePassword implements api.StrictServerInterface.
func (h *handlers) ChangePassword(ctx context.Context, req api.ChangePasswordRequestObject) (api.ChangePasswordResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, viaKey := APIKeyFrom(ctx); viaKey {
		return nil, errKeyChangesPassword
	}
	tok, err := h.s.deps.Login.ChangePassword(ctx, u, req.Body.CurrentPassword, req.Body.NewPassword)
	if err != nil {
		return nil, err
	}
	return api.ChangePassword200JSONResponse{
		AccessToken: tok.AccessToken,
		TokenType:   "bearer",
		ExpiresIn:   int(tok.ExpiresIn / time.Second),
	}, nil
}
