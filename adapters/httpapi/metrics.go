package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

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
// the scrape must send it as a bearer token (401 otherwise, 429 once an
// address has spent its budget of wrong tokens).
func (h *handlers) GetMetrics(ctx context.Context, _ api.GetMetricsRequestObject) (api.GetMetricsResponseObject, error) {
	m := h.s.cfg.Metrics
	if m == nil || h.s.cfg.MetricsElsewhere {
		return nil, domain.Errorf(domain.CodeNotFound, "Metrics are not served on this port")
	}
	r, ok := ctx.Value(scrapeRequestKey{}).(*http.Request)
	if !ok {
		return nil, errors.New("metrics: the request is not in the context")
	}
	if h.s.metricsToken != nil {
		if err := h.s.checkMetricsToken(ctx, r); err != nil {
			return nil, err
		}
	}
	return scrape{h: m, r: r}, nil
}

// checkMetricsToken admits a scrape that sends METRICS_TOKEN. Wrong or
// missing tokens count against the auth rate (AUTH_RATE_LIMIT_PER_MINUTE)
// per client address, as wrong passwords do; once an address is over it,
// every scrape from it is refused with 429 until the limiter admits it
// again, the right token included, so that guessing gains nothing from
// going faster. A limiter that cannot decide leaves the answer at 401.
func (s *Server) checkMetricsToken(ctx context.Context, r *http.Request) error {
	ip := AddressKey(s.echo.IPExtractor(r)) // an IPv6 client by its /64, as every per-address limit
	now := time.Now()
	if left := s.metricsBlocked.left(ip, now); left > 0 {
		return tooManyMetricsAttempts(left)
	}
	if s.metricsAuthorized(r.Header.Get(echo.HeaderAuthorization)) {
		return nil
	}
	unauthorized := domain.Errorf(domain.CodeUnauthorized, "Invalid or missing metrics token")
	lim, rate := s.cfg.Edge.Limiter, s.cfg.Edge.AuthRate
	if lim == nil || rate.Limit <= 0 {
		return unauthorized
	}
	d, err := lim.Allow(ctx, "metrics:"+ip, rate)
	if err != nil {
		s.log.Warn("count wrong metrics token", "request_id", RequestIDFrom(ctx), "error", err)
		return unauthorized
	}
	if d.Allowed {
		return unauthorized
	}
	left := max(d.RetryAfter, time.Second)
	s.metricsBlocked.add(ip, now.Add(left))
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.RateLimited("metrics")
	}
	return tooManyMetricsAttempts(left)
}

func tooManyMetricsAttempts(retryAfter time.Duration) error {
	return &domain.Error{Code: domain.CodeRateLimited, Message: "Too many wrong metrics tokens from this address", RetryAfter: retryAfter}
}

// blockList holds addresses refused until a time. Expired entries are
// dropped as new ones come, so it holds at most the addresses blocked
// within one window.
type blockList struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newBlockList() *blockList { return &blockList{until: map[string]time.Time{}} }

// left returns how long key stays blocked at now (0: not blocked).
func (b *blockList) left(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.until[key]
	if !ok {
		return 0
	}
	if !now.Before(until) {
		delete(b.until, key)
		return 0
	}
	return until.Sub(now)
}

// add blocks key until the given time.
func (b *blockList) add(key string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.until) >= 1024 {
		now := time.Now()
		for k, t := range b.until {
			if !now.Before(t) {
				delete(b.until, k)
			}
		}
	}
	b.until[key] = until
}

// metricsAuthorized checks an Authorization header against METRICS_TOKEN
// in constant time: both sides are hashed first, so that neither the
// token's content nor its length shows in the timing.
func (s *Server) metricsAuthorized(header string) bool {
	return tokenMatches(header, s.metricsToken)
}

// tokenMatches checks a bearer Authorization header against the SHA-256
// of a token in constant time.
func tokenMatches(header string, want []byte) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}

// NewMetricsHandler serves GET /metrics alone, for a listener of its own
// (METRICS_ADDR) that only the scraper can reach; with a token the scrape
// must send it as a bearer token, compared in constant time. Everything
// else is a plain 404.
func NewMetricsHandler(m Metrics, token string) http.Handler {
	var want []byte
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		want = sum[:]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if want != nil && !tokenMatches(r.Header.Get(echo.HeaderAuthorization), want) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "invalid or missing metrics token", http.StatusUnauthorized)
			return
		}
		m.ServeHTTP(w, r)
	})
	return mux
}
