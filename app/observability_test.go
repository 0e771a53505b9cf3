package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// scrape reads /metrics and parses it as Prometheus text.
func (e *env) scrape(header map[string]string) map[string]*dto.MetricFamily {
	e.t.Helper()
	res := e.do(http.MethodGet, "/metrics", nil, header)
	require.Equal(e.t, http.StatusOK, res.status, "scrape: %s", res.body)
	require.True(e.t, strings.HasPrefix(res.header.Get("Content-Type"), "text/plain"), res.header.Get("Content-Type"))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(res.body))
	require.NoError(e.t, err)
	return families
}

// series returns the metrics of a family whose labels include want.
func series(f *dto.MetricFamily, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		ok := true
		for _, l := range m.GetLabel() {
			if v, asked := want[l.GetName()]; asked && v != l.GetValue() {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// total sums counters and gauges, and histogram counts, over the series
// of name whose labels include want.
func total(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	require.True(t, ok, "family %s is exposed", name)
	sum := 0.0
	for _, m := range series(f, want) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	// Register and login spend the auth budget of 2; the third auth request is refused.
	c := newChatEnv(t, map[string]string{"USER_DAILY_QUOTA": "3", "AUTH_RATE_LIMIT_PER_MINUTE": "2"})
	me := c.do(http.MethodGet, "/api/v1/quota", nil, bearer(c.token))
	require.Equal(t, http.StatusOK, me.status)
	userID := subject(t, c.token)

	c.up.groq.Default(fakeupstream.OK("Hello", " there").WithUsage(3, 2))
	res := c.openStream(context.Background(), map[string]any{"prompt": "Hi"})
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	// Groq fails: the balanced tier falls back to OpenRouter.
	c.up.groq.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"boom"}}`))
	c.up.openrouter.Default(fakeupstream.OK("fallback"))
	whole := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": "balanced", "stream": false}, bearer(c.token))
	require.Equal(t, http.StatusOK, whole.status, "body: %s", whole.body)
	require.Equal(t, "openrouter", whole.json(t)["provider"])

	// The user's third request of the day spends the quota; the fourth is refused.
	c.up.groq.Default(fakeupstream.OK("ok"))
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token)).status)
	require.Equal(t, http.StatusTooManyRequests, c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(c.token)).status)

	require.Equal(t, http.StatusTooManyRequests, c.do(http.MethodPost, "/api/v1/auth/login",
		map[string]any{"email": "ada@example.com", "password": pw}, nil).status)
	require.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "/api/v1/users/"+userID+"/secrets", nil, nil).status)
	require.Equal(t, http.StatusMethodNotAllowed, c.do("PROPFIND", "/api/v1/quota", nil, nil).status)

	families := c.scrape(nil)

	tests := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"genzai_http_requests_total", map[string]string{"method": "GET", "route": "/api/v1/quota", "status": "200"}, 1},
		{"genzai_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/chat", "status": "200"}, 3},
		{"genzai_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/chat", "status": "429"}, 1},
		{"genzai_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/auth/login", "status": "429"}, 1},
		{"genzai_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "status": "404"}, 1},
		{"genzai_http_requests_total", map[string]string{"method": "OTHER", "route": "/api/v1/quota", "status": "405"}, 1},
		{"genzai_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/api/v1/chat"}, 4},
		{"genzai_chat_requests_total", map[string]string{"tier": "fast", "provider": "groq", "outcome": "success"}, 2},
		{"genzai_chat_requests_total", map[string]string{"tier": "balanced", "provider": "openrouter", "outcome": "success"}, 1},
		{"genzai_chat_requests_total", map[string]string{"tier": "fast", "provider": "none", "outcome": "quota_exceeded"}, 1},
		{"genzai_chat_request_duration_seconds", map[string]string{"tier": "fast", "outcome": "success"}, 2},
		{"genzai_chat_time_to_first_token_seconds", map[string]string{"tier": "fast", "provider": "groq"}, 2},
		{"genzai_chat_fallbacks_total", map[string]string{"tier": "balanced", "provider": "openrouter"}, 1},
		{"genzai_chat_failed_attempts_total", map[string]string{"provider": "groq", "reason": "server_error"}, 1},
		{"genzai_quota_rejections_total", map[string]string{"tier": "fast"}, 1},
		{"genzai_quota_rejections_total", map[string]string{"tier": "smart"}, 0},
		// The response cache is off: its series are there, at zero.
		{"genzai_cache_requests_total", map[string]string{"status": "hit"}, 0},
		{"genzai_cache_requests_total", map[string]string{"status": "bypass"}, 0},
		{"genzai_rate_limit_rejections_total", map[string]string{"scope": "auth"}, 1},
		{"genzai_rate_limit_rejections_total", map[string]string{"scope": "ip"}, 0},
		{"genzai_chat_streams_open", nil, 0},
		{"genzai_provider_request_duration_seconds", map[string]string{"provider": "groq", "outcome": "success"}, 2},
		{"genzai_provider_request_duration_seconds", map[string]string{"provider": "groq", "outcome": "error"}, 1},
		{"genzai_provider_request_duration_seconds", map[string]string{"provider": "openrouter", "outcome": "success"}, 1},
		{"genzai_provider_time_to_first_token_seconds", map[string]string{"provider": "groq"}, 2},
		{"genzai_provider_errors_total", map[string]string{"provider": "groq", "class": "retryable", "reason": "server_error"}, 1},
		{"genzai_provider_circuit_breaker_state", map[string]string{"provider": "groq", "state": "closed"}, 1},
		{"genzai_provider_circuit_breaker_state", map[string]string{"provider": "groq", "state": "open"}, 0},
		{"genzai_provider_circuit_breaker_state", map[string]string{"provider": "huggingface", "state": "closed"}, 1},
		{"genzai_provider_key_cooling_down", map[string]string{"provider": "groq"}, 0},
		{"genzai_provider_key_rejected", map[string]string{"provider": "openrouter"}, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, total(t, families, tt.family, tt.labels), "%s%v", tt.family, tt.labels)
	}
	assert.Len(t, series(families["genzai_provider_key_cooling_down"], map[string]string{"provider": "groq"}), 2, "one series per key index")
	assert.Len(t, series(families["genzai_provider_key_cooling_down"], map[string]string{"provider": "huggingface"}), 1)
	for _, name := range []string{"genzai_db_pool_connections", "genzai_db_pool_max_connections", "go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total"} {
		assert.Contains(t, families, name)
	}
	if c.dbURL != "" && !strings.HasPrefix(c.dbURL, "sqlite:") {
		// PostgreSQL statements are timed by their sqlc name: here the
		// lease a first request takes of its user's quota.
		assert.Positive(t, total(t, families, "genzai_db_query_duration_seconds", map[string]string{"query": "LockQuotaUsage"}))
		assert.Contains(t, families, "genzai_db_pool_acquires_total")
	}

	// Bounded labels: route templates only, never a user id, a raw path or a key.
	for _, m := range families["genzai_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" {
				assert.True(t, l.GetValue() == "unmatched" || strings.HasPrefix(l.GetValue(), "/"), l.GetValue())
			}
		}
	}
	raw := c.do(http.MethodGet, "/metrics", nil, nil).body
	for _, secret := range []string{userID, "/secrets", "PROPFIND", "gk-0", "gk-1", "ok-0", "ok-1", "hk-0", "ada@example.com", c.token} {
		assert.NotContains(t, string(raw), secret)
	}
}

// subject is the user id an access token was issued to.
func subject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Sub string `json:"sub"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.NotEmpty(t, claims.Sub)
	return claims.Sub
}

func TestMetricsOpenStreams(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	c.up.groq.Default(fakeupstream.HangAfterTokens(1))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := c.openStream(ctx, map[string]any{"prompt": "Hi"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "data: \"") {
		// up to the first token
	}
	assert.Equal(t, 1.0, total(t, c.scrape(nil), "genzai_chat_streams_open", nil), "the stream is open")

	cancel() // the client leaves
	require.Eventually(t, func() bool {
		f := c.scrape(nil)
		return total(t, f, "genzai_chat_streams_open", nil) == 0 &&
			total(t, f, "genzai_provider_request_duration_seconds", map[string]string{"provider": "groq", "outcome": "cancelled"}) == 1
	}, 5*time.Second, 20*time.Millisecond, "the stream is closed and its upstream request counted as cancelled")
	f := c.scrape(nil)
	assert.Equal(t, 1.0, total(t, f, "genzai_chat_requests_total", map[string]string{"outcome": "cancelled"}))
	assert.NotContains(t, f, "genzai_provider_errors_total", "a client leaving is no provider error")
}

func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "scrape-token-0123456789"
	e := newEnv(t, map[string]string{"METRICS_TOKEN": token})
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", bearer("scrape-token-0123456780"), http.StatusUnauthorized},
		{"a prefix of the token", bearer("scrape-token"), http.StatusUnauthorized},
		{"not bearer", map[string]string{"Authorization": "Basic " + token}, http.StatusUnauthorized},
		{"the token", bearer(token), http.StatusOK},
		{"the token, scheme in lower case", map[string]string{"Authorization": "bearer " + token}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(http.MethodGet, "/metrics", nil, tt.header)
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			if tt.status == http.StatusUnauthorized {
				body := res.json(t)
				assert.Equal(t, "unauthorized", body["code"])
				assert.Equal(t, res.header.Get("X-Request-ID"), body["request_id"])
				assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
				return
			}
			assert.Contains(t, string(res.body), "# TYPE genzai_http_requests_total counter")
		})
	}
	assert.NotContains(t, e.logs.String(), token, "the token is never logged")
}

func TestMetricsOpenWithoutToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	families := e.scrape(nil)
	assert.Contains(t, families, "genzai_rate_limit_rejections_total")
	// Scrapes are requests too (counted once answered).
	families = e.scrape(nil)
	assert.Equal(t, 1.0, total(t, families, "genzai_http_requests_total", map[string]string{"route": "/metrics", "status": "200"}))

	// Prometheus scrapes pods by IP: any Host is served, as for /health.
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/metrics", nil, map[string]string{"Host": "10.1.2.3:8000"}).status)
	assert.Equal(t, http.StatusBadRequest, e.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"Host": "10.1.2.3:8000"}).status)
}

func TestLogPrompts(t *testing.T) {
	t.Parallel()
	const (
		prompt = "tell me about the zebra-7431"
		answer = "stripes-9920"
	)
	tests := []struct {
		name   string
		value  string
		logged bool
	}{
		{"unset", "", false},
		{"false", "false", false},
		{"true", "true", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			if tt.value != "" {
				vars["LOG_PROMPTS"] = tt.value
			}
			c := newChatEnv(t, vars)
			c.up.groq.Default(fakeupstream.OK(answer[:7], answer[7:]))
			whole := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": prompt + " (whole)", "stream": false}, bearer(c.token))
			require.Equal(t, http.StatusOK, whole.status)
			res := c.openStream(context.Background(), map[string]any{"prompt": prompt + " (streamed)", "system": "be brief"})
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()

			logs := c.logs.String()
			if !tt.logged {
				assert.NotContains(t, logs, "zebra-7431")
				assert.NotContains(t, logs, answer)
				return
			}
			transcripts := map[string]map[string]any{}
			for _, line := range logLines(t, logs) {
				if line["msg"] == "chat transcript" {
					transcripts[line["request_id"].(string)] = line
				}
			}
			require.Len(t, transcripts, 2)
			w := transcripts[whole.header.Get("X-Request-ID")]
			require.NotNil(t, w)
			assert.Equal(t, "INFO", w["level"])
			assert.Equal(t, prompt+" (whole)", w["prompt"])
			assert.Equal(t, answer, w["answer"])
			s := transcripts[res.Header.Get("X-Request-ID")]
			require.NotNil(t, s)
			assert.Equal(t, prompt+" (streamed)", s["prompt"])
			assert.Equal(t, "be brief", s["system"])
			assert.Equal(t, answer, s["answer"])
		})
	}
}

// logLines parses JSON log lines.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

// otlpCollector is a fake OTLP/HTTP trace collector.
type otlpCollector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	srv   *httptest.Server
}

func newOTLPCollector(t *testing.T) *otlpCollector {
	c := &otlpCollector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				c.spans = append(c.spans, ss.GetSpans()...)
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *otlpCollector) all() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans...)
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

func TestTracing(t *testing.T) {
	t.Parallel()
	col := newOTLPCollector(t)
	ddg, _ := fakeDuckDuckGo(t, http.StatusOK, "results.html")
	c := newChatEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL,
		"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"})
	c.up.groq.Default(fakeupstream.OK("traced", " answer"))

	const (
		traceID    = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan = "00f067aa0ba902b7"
	)
	res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "a private prompt", "stream": false, "web_search": true},
		map[string]string{"Authorization": "Bearer " + c.token, "traceparent": "00-" + traceID + "-" + callerSpan + "-01"})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	c.srv.Close()
	c.app.Close() // flushes the spans

	spans := col.all()
	var server *tracepb.Span
	for _, s := range spans {
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.GetName() == "POST /api/v1/chat" {
			server = s
		}
	}
	require.NotNil(t, server, "a server span for the chat request among %d spans", len(spans))
	assert.Equal(t, traceID, hex.EncodeToString(server.GetTraceId()), "the caller's trace continues")
	assert.Equal(t, callerSpan, hex.EncodeToString(server.GetParentSpanId()))
	assert.Equal(t, "/api/v1/chat", spanAttr(server, "http.route"))

	children := map[string]*tracepb.Span{}
	for _, s := range spans {
		if bytes.Equal(s.GetParentSpanId(), server.GetSpanId()) {
			children[s.GetName()] = s
		}
		for _, kv := range s.GetAttributes() {
			assert.NotContains(t, kv.GetValue().String(), "a private prompt")
			assert.NotContains(t, kv.GetValue().String(), "gk-")
		}
	}
	attempt := children["chat groq"]
	require.NotNil(t, attempt, "a child span for the provider attempt; children: %v", keys(children))
	assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, attempt.GetKind())
	assert.Equal(t, "llama-3.1-8b-instant", spanAttr(attempt, "gen_ai.request.model"))
	search := children["web_search"]
	require.NotNil(t, search, "a child span for the web search; children: %v", keys(children))
	assert.Equal(t, "duckduckgo", spanAttr(search, "genzai.search.engine"))
	if !strings.HasPrefix(c.dbURL, "sqlite:") {
		// The user's first request takes a lease of its quota.
		assert.NotNil(t, children["LockQuotaUsage"], "a child span for the quota lease; children: %v", keys(children))
	}

	var access map[string]any
	for _, line := range logLines(t, c.logs.String()) {
		if line["msg"] == "request" && line["route"] == "/api/v1/chat" {
			access = line
		}
	}
	require.NotNil(t, access)
	assert.Equal(t, traceID, access["trace_id"], "the access log carries the trace id")
	assert.Equal(t, hex.EncodeToString(server.GetSpanId()), access["span_id"])
}

func keys(m map[string]*tracepb.Span) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
