package httpapi

import (
	"context"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

var errNotYet = domain.Errorf(domain.CodeUnavailable, "not implemented yet")

// GetAnalytics implements api.StrictServerInterface.
func (h *handlers) GetAnalytics(ctx context.Context, req api.GetAnalyticsRequestObject) (api.GetAnalyticsResponseObject, error) {
	return nil, errNotYet
}

// ListUsers implements api.StrictServerInterface.
func (h *handlers) ListUsers(ctx context.Context, req api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	return nil, errNotYet
}

// UpdateUser implements api.StrictServerInterface.
func (h *handlers) UpdateUser(ctx context.Context, req api.UpdateUserRequestObject) (api.UpdateUserResponseObject, error) {
	return nil, errNotYet
}

// ListRequests implements api.StrictServerInterface.
func (h *handlers) ListRequests(ctx context.Context, req api.ListRequestsRequestObject) (api.ListRequestsResponseObject, error) {
	return nil, errNotYet
}

// SubmitFeedback implements api.StrictServerInterface.
func (h *handlers) SubmitFeedback(ctx context.Context, req api.SubmitFeedbackRequestObject) (api.SubmitFeedbackResponseObject, error) {
	return nil, errNotYet
}
