package load_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/load"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
)

func startMock(t *testing.T, p mock.Profile) string {
	t.Helper()
	srv, err := mock.Start(mock.New(p), "127.0.0.1:0", false)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv.URL + "/v1/chat/completions"
}

func run(t *testing.T, target load.Target, l load.Load) *load.Phase {
	t.Helper()
	c := load.NewClient(64, load.SourceAddrs(4), nil, false)
	t.Cleanup(c.CloseIdleConnections)
	r, err := load.NewRunner(target, c)
	require.NoError(t, err)
	return r.Run(context.Background(), l)
}

func TestClosedLoopPlain(t *testing.T) {
	t.Parallel()
	url := startMock(t, mock.Profile{TTFT: 2 * time.Millisecond, Tokens: 3})
	p := run(t, load.Target{Name: "direct", URL: url, Model: "bench", Prompt: "hi"},
		load.Load{Mode: load.Closed, Concurrency: 4, Duration: 200 * time.Millisecond})
	assert.Equal(t, "direct", p.Target)
	assert.Empty(t, p.Errors)
	assert.Positive(t, p.OK)
	assert.Equal(t, p.Sent, p.OK)
	assert.Len(t, p.Latency, p.OK)
	assert.Empty(t, p.TTFT, "no streams")
	for _, l := range p.Latency {
		assert.GreaterOrEqual(t, l, 2*time.Millisecond)
	}
	// Four workers of at least 2 ms each: at most 2000 requests/s.
	assert.Positive(t, p.RPS())
	assert.LessOrEqual(t, p.RPS(), 2000.0)
	assert.LessOrEqual(t, p.PeakOpen, 4)
}

func TestOpenLoopStreams(t *testing.T) {
	t.Parallel()
	prof := mock.Profile{TTFT: 5 * time.Millisecond, Tokens: 4, Interval: 10 * time.Millisecond}
	url := startMock(t, prof)
	p := run(t, load.Target{Name: "direct", URL: url, Model: "bench", Prompt: "hi"},
		load.Load{Mode: load.Open, Rate: 100, Duration: 300 * time.Millisecond, StreamShare: 1})
	assert.Empty(t, p.Errors)
	assert.Equal(t, 30, p.Sent, "100/s for 0.3 s")
	assert.Equal(t, 30, p.OK)
	assert.Equal(t, 30, p.Streams)
	assert.Equal(t, 120, p.Tokens)
	assert.Len(t, p.TTFT, 30)
	assert.Len(t, p.Gaps, 90, "three gaps per four-token stream")
	// The mock sends a token every 10 ms; a busy machine may deliver some
	// together, but on average they stay 10 ms apart.
	var sum time.Duration
	for _, g := range p.Gaps {
		sum += g
	}
	assert.InDelta(t, float64(10*time.Millisecond), float64(sum/time.Duration(len(p.Gaps))), float64(8*time.Millisecond))
	for _, l := range p.Latency {
		assert.GreaterOrEqual(t, l, prof.Latency())
	}
	assert.Positive(t, p.PeakOpen)
}

func TestOpenLoopMaxRequestsAndOverload(t *testing.T) {
	t.Parallel()
	url := startMock(t, mock.Profile{TTFT: 200 * time.Millisecond, Tokens: 1})
	p := run(t, load.Target{Name: "direct", URL: url, Model: "bench", Prompt: "hi"},
		load.Load{Mode: load.Open, Rate: 1000, Duration: time.Second, MaxRequests: 20, MaxInFlight: 5})
	assert.Equal(t, 20, p.Sent, "stops after MaxRequests")
	assert.Equal(t, 5, p.OK, "only MaxInFlight fit")
	assert.Equal(t, map[string]int{"overload": 15}, p.Errors)
	assert.Equal(t, 15, p.ErrorCount())
}

// fakeGateway answers like genzai's POST /api/v1/chat.
func fakeGateway(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(answer))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/chat"
}

func TestGatewayProtocol(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	url := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		if !strings.Contains(readAll(r), `"stream":true`) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"x","model":"fast","content":"Hello","finish_reason":"stop"}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: meta\ndata: {\"request_id\":\"x\"}\n\n: keep-alive\n\ndata: \"Hel\"\n\ndata: \"lo\"\n\nevent: done\ndata: {\"finish_reason\":\"stop\"}\n\n")
	})
	target := load.Target{Name: "gateway", URL: url, Protocol: load.Gateway, Tokens: []string{"t1"}, Model: "fast", Prompt: "hi"}
	p := run(t, target, load.Load{Mode: load.Closed, Concurrency: 2, Duration: 100 * time.Millisecond, StreamShare: 0.5})
	assert.Empty(t, p.Errors)
	assert.Positive(t, p.Streams)
	assert.Less(t, p.Streams, p.OK, "about half are streamed")
	assert.Equal(t, 2*p.Streams, p.Tokens, "two token events per stream, meta and keep-alive ignored")
	assert.Equal(t, "Bearer t1", auth.Load())
}

func readAll(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		protocol load.Protocol
		stream   bool
		answer   func(w http.ResponseWriter)
		want     string
	}{
		{"gateway error code", load.Gateway, false, func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"All AI providers are unavailable","code":"providers_unavailable"}`)
		}, "http_503_providers_unavailable"},
		{"status only", load.OpenAI, false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, "http_429"},
		{"empty answer", load.Gateway, false, func(w http.ResponseWriter) { fmt.Fprint(w, `{"content":""}`) }, "empty_answer"},
		{"stream cut", load.Gateway, true, func(w http.ResponseWriter) { fmt.Fprint(w, "data: \"a\"\n\n") }, "stream_cut"},
		{"stream error event", load.Gateway, true, func(w http.ResponseWriter) {
			fmt.Fprint(w, "data: \"a\"\n\nevent: error\ndata: {\"error\":\"x\",\"code\":\"stream_interrupted\"}\n\n")
		}, "stream_error_stream_interrupted"},
		{"stream without tokens", load.Gateway, true, func(w http.ResponseWriter) { fmt.Fprint(w, "event: done\ndata: {}\n\n") }, "no_tokens"},
		{"openai stream cut", load.OpenAI, true, func(w http.ResponseWriter) {
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
		}, "stream_cut"},
		{"openai error chunk", load.OpenAI, true, func(w http.ResponseWriter) {
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"overloaded\"}}\n\n")
		}, "stream_error"},
		{"openai bad chunk", load.OpenAI, true, func(w http.ResponseWriter) { fmt.Fprint(w, "data: {nope\n\n") }, "bad_chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := fakeGateway(t, func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) })
			share := 0.0
			if tt.stream {
				share = 1
			}
			p := run(t, load.Target{Name: "x", URL: url, Protocol: tt.protocol, Prompt: "hi"},
				load.Load{Mode: load.Open, Rate: 100, Duration: 50 * time.Millisecond, StreamShare: share})
			assert.Equal(t, 0, p.OK)
			assert.Equal(t, map[string]int{tt.want: 5}, p.Errors)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	// Nothing listens on a closed server's port.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := run(t, load.Target{Name: "x", URL: url, Prompt: "hi"}, load.Load{Mode: load.Open, Rate: 100, Duration: 30 * time.Millisecond})
	assert.Equal(t, map[string]int{"connection_refused": 3}, p.Errors)

	slow := startMock(t, mock.Profile{TTFT: time.Second, Tokens: 1})
	p = run(t, load.Target{Name: "x", URL: slow, Prompt: "hi"}, load.Load{Mode: load.Open, Rate: 100, Duration: 30 * time.Millisecond, Timeout: 50 * time.Millisecond})
	assert.Equal(t, map[string]int{"timeout": 3}, p.Errors)
}

func TestSourceAddrs(t *testing.T) {
	t.Parallel()
	got := load.SourceAddrs(3)
	require.Len(t, got, 3)
	assert.Equal(t, "127.0.0.2", got[0].String())
	assert.Equal(t, "127.0.0.4", got[2].String())
	assert.Equal(t, "127.0.1.1", load.SourceAddrs(256)[255].String())
}

// TestH2OnlyClientMultiplexes runs streams over HTTP/2 without TLS: every
// request arrives as HTTP/2, and the streams share a few connections.
func TestH2OnlyClientMultiplexes(t *testing.T) {
	t.Parallel()
	m := mock.New(mock.Profile{TTFT: 20 * time.Millisecond, Tokens: 3, Interval: 20 * time.Millisecond})
	var (
		mu     sync.Mutex
		protos = map[string]int{}
		conns  atomic.Int64
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos[r.Proto]++
		mu.Unlock()
		m.ServeHTTP(w, r)
	}))
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name      string
		h2only    bool
		wantProto string
	}{
		{name: "HTTP/1.1", h2only: false, wantProto: "HTTP/1.1"},
		{name: "HTTP/2 with prior knowledge", h2only: true, wantProto: "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(protos)
			mu.Unlock()
			conns.Store(0)
			c := load.NewClient(64, load.SourceAddrs(4), nil, tc.h2only)
			defer c.CloseIdleConnections()
			r, err := load.NewRunner(load.Target{Name: "direct", URL: srv.URL + "/v1/chat/completions", Model: "bench", Prompt: "hi"}, c)
			require.NoError(t, err)
			// One connection first: Go's client dials another for each request
			// that arrives while an HTTP/2 connection is still being set up.
			warm, err := c.Get(srv.URL + "/v1/models")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, warm.Body)
			warm.Body.Close()
			mu.Lock()
			clear(protos)
			mu.Unlock()
			ph := r.Run(context.Background(), load.Load{Mode: load.Open, Rate: 400, Duration: 250 * time.Millisecond, StreamShare: 1})
			assert.Empty(t, ph.Errors)
			assert.Equal(t, 100, ph.OK)
			mu.Lock()
			assert.Equal(t, map[string]int{tc.wantProto: 100}, protos)
			mu.Unlock()
			if tc.h2only {
				assert.Less(t, conns.Load(), int64(10), "HTTP/2 streams share connections")
			} else {
				assert.Greater(t, conns.Load(), int64(10), "HTTP/1.1 needs a connection per open stream")
			}
		})
	}
}
