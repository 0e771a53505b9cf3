package httpapi

import (
	"context"

	"github.com/genzai/genzai/api"
)

// GetMetrics implements api.StrictServerInterface.
func (h *handlers) GetMetrics(ctx context.Context, req api.GetMetricsRequestObject) (api.GetMetricsResponseObject, error) {
	return nil, errNotYet
}
