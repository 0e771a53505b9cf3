package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/metrics"
)

// sample is what a series holds: a counter's or gauge's value, or a
// histogram's count and sum.
type sample struct {
	value, count, sum float64
	found             bool
}

// find gathers g and returns the series of family name whose labels
// include want.
func find(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) sample {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			switch {
			case m.Counter != nil:
				return sample{value: m.Counter.GetValue(), found: true}
			case m.Gauge != nil:
				return sample{value: m.Gauge.GetValue(), found: true}
			case m.Histogram != nil:
				return sample{count: float64(m.Histogram.GetSampleCount()), sum: m.Histogram.GetSampleSum(), found: true}
			}
		}
	}
	return sample{}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestObserveRequest(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.ObserveRequest("GET", "/api/v1/quota", 200, 30*time.Millisecond)
	m.ObserveRequest("GET", "/api/v1/quota", 200, 10*time.Millisecond)
	m.ObserveRequest("GET", "/api/v1/quota", 401, time.Millisecond)
	m.ObserveRequest("POST", "unmatched", 404, time.Millisecond)
	m.ObserveRequest("GET", "/health", 42, time.Millisecond) // not a status

	tests := []struct {
		labels map[string]string
		count  float64
	}{
		{map[string]string{"method": "GET", "route": "/api/v1/quota", "status": "200"}, 2},
		{map[string]string{"method": "GET", "route": "/api/v1/quota", "status": "401"}, 1},
		{map[string]string{"method": "POST", "route": "unmatched", "status": "404"}, 1},
		{map[string]string{"method": "GET", "route": "/health", "status": "0"}, 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.count, find(t, m.Gatherer(), "genzai_http_requests_total", tt.labels).value, tt.labels)
		d := find(t, m.Gatherer(), "genzai_http_request_duration_seconds", tt.labels)
		assert.Equal(t, tt.count, d.count, tt.labels)
	}
	assert.InDelta(t, 0.04, find(t, m.Gatherer(), "genzai_http_request_duration_seconds",
		map[string]string{"route": "/api/v1/quota", "status": "200"}).sum, 1e-9)
}

func TestRateLimitedAndStreams(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	// Both scopes exist at zero before any refusal.
	assert.True(t, find(t, m.Gatherer(), "genzai_rate_limit_rejections_total", map[string]string{"scope": "auth"}).found)
	m.RateLimited("ip")
	m.RateLimited("ip")
	m.RateLimited("auth")
	m.RateLimited("weird")
	for scope, want := range map[string]float64{"ip": 2, "auth": 1, "other": 1} {
		assert.Equal(t, want, find(t, m.Gatherer(), "genzai_rate_limit_rejections_total", map[string]string{"scope": scope}).value, scope)
	}

	m.StreamOpened()
	m.StreamOpened()
	m.StreamClosed()
	assert.Equal(t, 1.0, find(t, m.Gatherer(), "genzai_chat_streams_open", nil).value)
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	m := metrics.New(nil)
	m.ObserveRequest("GET", "/api/v1/quota", 200, time.Millisecond) // the first sight of a series creates it
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		m.ObserveRequest("GET", "/api/v1/quota", 200, time.Millisecond)
		m.RateLimited("ip")
		m.StreamOpened()
		m.StreamClosed()
	}))
}

func TestRegistriesAreIndependent(t *testing.T) {
	t.Parallel()
	// Several apps in one process (tests) each have their own registry.
	a, b := metrics.New(nil), metrics.New(nil)
	a.RateLimited("ip")
	assert.Equal(t, 1.0, find(t, a.Gatherer(), "genzai_rate_limit_rejections_total", map[string]string{"scope": "ip"}).value)
	assert.Equal(t, 0.0, find(t, b.Gatherer(), "genzai_rate_limit_rejections_total", map[string]string{"scope": "ip"}).value)
}

func TestServeHTTP(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.ObserveRequest("GET", "/health", 200, time.Millisecond)
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain"))
	body := rec.Body.String()
	for _, want := range []string{
		`genzai_http_requests_total{method="GET",route="/health",status="200"} 1`,
		"# TYPE go_goroutines gauge",
		"# TYPE process_cpu_seconds_total counter",
	} {
		assert.Contains(t, body, want)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.ObserveRequest("GET", "/health", 200, time.Millisecond)
	problems, err := testutil.GatherAndLint(m.Gatherer())
	require.NoError(t, err)
	var own []string
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "genzai_") {
			own = append(own, p.Metric+": "+p.Text)
		}
	}
	assert.Empty(t, own, "the gateway's metric names and help follow Prometheus conventions")
}

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("POST", "/api/v1/chat", 200, 3*time.Millisecond)
		}
	})
}
