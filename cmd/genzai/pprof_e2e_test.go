package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestServePprof: with PPROF_ADDR set, `genzai serve` answers the pprof
// endpoints on that address, and only there: the API port does not serve
// them and the pprof port does not serve the API. Both stop on SIGTERM.
func TestServePprof(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", vars{"PPROF_ADDR": "127.0.0.1:0"})
	rec, ok := s.waitRecord(startTimeout, func(r logRecord) bool { return r["msg"] == "pprof listening" })
	require.True(t, ok, "genzai logs the pprof address; output:\n%s", s.output())
	assert.Equal(t, "INFO", rec["level"])
	addr := rec["addr"]
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), "pprof address %q", addr)
	require.NotEqual(t, strings.TrimPrefix(s.url, "http://"), addr)
	pprofURL := "http://" + addr

	for _, tc := range []struct {
		path string
		want string
	}{
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/cmdline", "serve"},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile:"},
		{"/debug/pprof/heap?debug=1", "heap profile:"},
		{"/debug/pprof/symbol", "num_symbols"},
	} {
		status, body := getURL(t, pprofURL+tc.path)
		assert.Equal(t, http.StatusOK, status, "GET %s on the pprof address", tc.path)
		assert.Contains(t, body, tc.want, "GET %s on the pprof address", tc.path)
	}
	status, _ := getURL(t, pprofURL+"/health")
	assert.Equal(t, http.StatusNotFound, status, "the pprof address does not serve the API")

	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		r := s.do(t, http.MethodGet, path, "")
		assert.Equal(t, http.StatusNotFound, r.status, "GET %s on the API port: %s", path, r.body)
	}
	assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/health", "").status, "the API port still serves the API")

	code, _ := s.terminate(t)
	require.Equal(t, 0, code)
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "the pprof listener is closed with the server")
}

// TestServePprofStartupErrors: a pprof address anyone could reach is a
// configuration error unless PPROF_ALLOW_REMOTE says so, and a pprof port
// in use stops start-up; neither starts the API.
func TestServePprofStartupErrors(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })

	for _, tc := range []struct {
		name       string
		env        vars
		wantStderr []string
	}{
		{
			name:       "all interfaces",
			env:        vars{"PPROF_ADDR": "0.0.0.0:6060"},
			wantStderr: []string{"invalid configuration", "PPROF_ADDR", "PPROF_ALLOW_REMOTE=true"},
		},
		{
			name:       "empty host",
			env:        vars{"PPROF_ADDR": ":6060", "PPROF_ALLOW_REMOTE": "false"},
			wantStderr: []string{"invalid configuration", "PPROF_ADDR"},
		},
		{
			name:       "port in use",
			env:        vars{"PPROF_ADDR": taken.Addr().String()},
			wantStderr: []string{"pprof listen", taken.Addr().String()},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runGenzai(t, "", tc.env, serveArgs...)
			assert.Equal(t, 1, code)
			for _, want := range tc.wantStderr {
				assert.Contains(t, stderr, want)
			}
			assert.NotContains(t, stderr, "msg=listening")
		})
	}
}

// getURL fetches url and returns the status and body.
func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := httpClient.Get(url)
	require.NoError(t, err, "GET %s", url)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// TestServeMetricsAddr: in production without METRICS_TOKEN, METRICS_ADDR
// moves /metrics to a listener of its own, which serves nothing else; the
// API port answers 404 for it. The listener stops with the server.
func TestServeMetricsAddr(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{"ENV": "production", "METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": ""}))
	rec, ok := s.waitRecord(startTimeout, func(r logRecord) bool { return r["msg"] == "metrics listening" })
	require.True(t, ok, "genzai logs the metrics address; output:\n%s", s.output())
	addr := rec["addr"]
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), "metrics address %q", addr)

	status, body := getURL(t, "http://"+addr+"/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, strings.Contains(body, `genzai_rate_limit_rejections_total{scope="metrics"}`), "the scrape")
	status, _ = getURL(t, "http://"+addr+"/health")
	assert.Equal(t, http.StatusNotFound, status, "the metrics address serves nothing else")
	assert.Equal(t, http.StatusNotFound, s.do(t, http.MethodGet, "/metrics", "").status, "the API port does not serve metrics")

	code, _ := s.terminate(t)
	require.Equal(t, 0, code)
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "the metrics listener is closed with the server")
}
