package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// serviceName is what /health calls the service, as the original backend did.
const serviceName = "GenZ AI Backend"

// handlers implements the generated strict server interface.
type handlers struct{ s *Server }

var _ api.StrictServerInterface = (*handlers)(nil)

// GetHealth implements api.StrictServerInterface.
func (h *handlers) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return api.GetHealth200JSONResponse{Status: "healthy", Version: h.s.cfg.Version, Service: serviceName}, nil
}

// GetReady implements api.StrictServerInterface. The answer comes from
// the readiness cache: an unauthenticated, unlimited route must not turn
// every call into a database round trip.
func (h *handlers) GetReady(ctx context.Context, _ api.GetReadyRequestObject) (api.GetReadyResponseObject, error) {
	body, ready, err := h.s.ready.get(ctx, h.probe)
	if err != nil {
		return nil, err
	}
	if !ready {
		return api.GetReady503JSONResponse(body), nil
	}
	return api.GetReady200JSONResponse(body), nil
}

// probe runs every readiness check once.
func (h *handlers) probe(ctx context.Context) (api.Readiness, bool) {
	checks := map[string]string{}
	ready := true
	if reason := h.check(ctx, "database", h.s.deps.Database.Ping); reason != "" {
		checks["database"], ready = reason, false
	} else {
		checks["database"] = "ok"
	}
	if h.s.deps.Redis != nil {
		// Not fatal: without Redis the limits fall back to the process.
		if reason := h.check(ctx, "redis", h.s.deps.Redis.Ping); reason != "" {
			checks["redis"] = reason + " (limits fall back to this instance)"
		} else {
			checks["redis"] = "ok"
		}
	}
	return api.Readiness{Ready: ready, Environment: api.ReadinessEnvironment(h.s.cfg.Environment), Checks: &checks}, ready
}

// check runs one readiness probe under the ready timeout and returns "" or a
// short reason; the full error (which may name hosts) goes to the log only.
func (h *handlers) check(ctx context.Context, name string, probe func(context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, h.s.cfg.ReadyTimeout)
	defer cancel()
	err := probe(ctx)
	if err == nil {
		return ""
	}
	h.s.log.Warn("readiness check failed", "check", name, "request_id", RequestIDFrom(ctx), "error", err)
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return "timeout: no answer within " + h.s.cfg.ReadyTimeout.String()
	}
	return "unavailable: cannot connect"
}

// Register implements api.StrictServerInterface.
func (h *handlers) Register(ctx context.Context, req api.RegisterRequestObject) (api.RegisterResponseObject, error) {
	u, err := h.s.deps.Login.Register(ctx, req.Body.Email, req.Body.Password)
	if err != nil {
		return nil, err
	}
	out, err := toUser(u)
	if err != nil {
		return nil, err
	}
	return api.Register201JSONResponse(out), nil
}

// Login implements api.StrictServerInterface.
func (h *handlers) Login(ctx context.Context, req api.LoginRequestObject) (api.LoginResponseObject, error) {
	tok, err := h.s.deps.Login.Login(ctx, req.Body.Email, req.Body.Password)
	if err != nil {
		return nil, err
	}
	return api.Login200JSONResponse{
		AccessToken: tok.AccessToken,
		TokenType:   "bearer",
		ExpiresIn:   int(tok.ExpiresIn / time.Second),
	}, nil
}

// GetQuota implements api.StrictServerInterface.
func (h *handlers) GetQuota(ctx context.Context, _ api.GetQuotaRequestObject) (api.GetQuotaResponseObject, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	st, err := h.s.deps.Quota.Status(ctx, u)
	if err != nil {
		return nil, err
	}
	return api.GetQuota200JSONResponse{
		Used:         st.Used,
		Limit:        st.Limit,
		Remaining:    st.Remaining(),
		ResetsAt:     st.ResetsAt,
		ResetTimeUtc: domain.ResetTimeUTC,
	}, nil
}
