package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// toUser is an account as the API shows it to its owner.
func toUser(u domain.User) (api.User, error) {
	id, err := uuid.Parse(string(u.ID))
	if err != nil {
		return api.User{}, err
	}
	return api.User{Id: id, Email: u.Email, IsAdmin: u.IsAdmin, EmailVerified: u.EmailVerified()}, nil
}

// VerifyEmail implements api.StrictServerInterface.
func (h *handlers) VerifyEmail(ctx context.Context, req api.VerifyEmailRequestObject) (api.VerifyEmailResponseObject, error) {
	u, err := h.s.deps.Login.Verify(ctx, req.Body.Token, req.Body.NewPassword)
	if err != nil {
		return nil, err
	}
	out, err := toUser(u)
	if err != nil {
		return nil, err
	}
	return api.VerifyEmail200JSONResponse(out), nil
}

// ResendVerification implements api.StrictServerInterface.
func (h *handlers) ResendVerification(ctx context.Context, _ api.ResendVerificationRequestObject) (api.ResendVerificationResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.s.deps.Login.ResendVerification(ctx, u); err != nil {
		return nil, err
	}
	return api.ResendVerification202Response{}, nil
}

// RequestPasswordReset implements api.StrictServerInterface.
func (h *handlers) RequestPasswordReset(ctx context.Context, req api.RequestPasswordResetRequestObject) (api.RequestPasswordResetResponseObject, error) {
	if err := h.s.deps.Login.RequestPasswordReset(ctx, req.Body.Email); err != nil {
		return nil, err
	}
	return api.RequestPasswordReset202Response{}, nil
}

// ConfirmPasswordReset implements api.StrictServerInterface.
func (h *handlers) ConfirmPasswordReset(ctx context.Context, req api.ConfirmPasswordResetRequestObject) (api.ConfirmPasswordResetResponseObject, error) {
	if err := h.s.deps.Login.ResetPasswordByLink(ctx, req.Body.Token, req.Body.NewPassword); err != nil {
		return nil, err
	}
	return api.ConfirmPasswordReset204Response{}, nil
}
