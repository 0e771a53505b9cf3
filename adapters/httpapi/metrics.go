package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// scrape is the answer of GET /metrics: the metrics handler writes it, in
// the format the request negotiates.
type scrape struct {
	h http.Handler
	r *http.Request
}

// VisitGetMetricsResponse implements api.GetMetricsResponseObject.
func (s scrape) VisitGetMetricsResponse(w http.ResponseWriter) error {
	s.h.ServeHTTP(w, s.r)
	return nil
}

// GetMetrics implements api.StrictServerInterface. With a METRICS_TOKEN
// the scrape must send it as a bearer token (401 otherwise).
func (h *handlers) GetMetrics(ctx context.Context, _ api.GetMetricsRequestObject) (api.GetMetricsResponseObject, error) {
	m := h.s.cfg.Metrics
	if m == nil {
		return nil, domain.Errorf(domain.CodeNotFound, "Metrics are turned off")
	}
	r, ok := ctx.Value(scrapeRequestKey{}).(*http.Request)
	if !ok {
		return nil, errors.New("metrics: the request is not in the context")
	}
	if h.s.metricsToken != nil && !h.s.metricsAuthorized(r.Header.Get(echo.HeaderAuthorization)) {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Invalid or missing metrics token")
	}
	return scrape{h: m, r: r}, nil
}

// metricsAuthorized checks an Authorization header against METRICS_TOKEN
// in constant time: both sides are hashed first, so that neither the
// token's content nor its length shows in the timing.
func (s *Server) metricsAuthorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], s.metricsToken) == 1
}
