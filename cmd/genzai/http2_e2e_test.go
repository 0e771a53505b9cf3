package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// h2cClient speaks HTTP/2 without TLS, with prior knowledge, and nothing else.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{Protocols: &p}}
}

// TestServeHTTP2Cleartext checks that the API port serves HTTP/2 without TLS
// beside HTTP/1.1 unless HTTP2_CLEARTEXT=false, including a chat stream
// (the SSE writer's flushes and write deadlines over HTTP/2).
func TestServeHTTP2Cleartext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    vars
		wantH2 bool
	}{
		{name: "on by default", env: vars{}, wantH2: true},
		{name: "explicitly on", env: vars{"HTTP2_CLEARTEXT": "true", "HTTP2_MAX_CONCURRENT_STREAMS": "2"}, wantH2: true},
		{name: "off", env: vars{"HTTP2_CLEARTEXT": "false"}, wantH2: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(tc.env))

			// HTTP/1.1 always works.
			r := s.do(t, http.MethodGet, "/health", "")
			require.Equal(t, http.StatusOK, r.status)

			h2 := h2cClient()
			res, err := h2.Get(s.url + "/health")
			if !tc.wantH2 {
				if err == nil {
					res.Body.Close()
				}
				require.Error(t, err, "an HTTP/2-only client must fail against an HTTP/1.1-only server")
				return
			}
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, 2, res.ProtoMajor)
			assert.Equal(t, http.StatusOK, res.StatusCode)

			s.register(t, "h2@example.com", "correct horse")
			tok := s.login(t, "h2@example.com", "correct horse")

			// Several streams at once over HTTP/2, more than one connection's
			// stream limit when it is 2.
			const streams = 5
			errs := make(chan error, streams)
			events := make(chan string, streams)
			for range streams {
				go func() {
					req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/chat",
						strings.NewReader(`{"prompt":"hello over h2","stream":true}`))
					if err != nil {
						errs <- err
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					res, err := h2.Do(req)
					if err != nil {
						errs <- err
						return
					}
					defer res.Body.Close()
					var seen []string
					sc := bufio.NewScanner(res.Body)
					for sc.Scan() {
						if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
							seen = append(seen, ev)
						} else if strings.HasPrefix(sc.Text(), `data: "`) {
							seen = append(seen, "token") // tokens are unnamed events
						}
					}
					if res.ProtoMajor != 2 || res.StatusCode != http.StatusOK {
						events <- res.Proto + " " + res.Status
					} else {
						events <- strings.Join(seen, ",")
					}
					errs <- sc.Err()
				}()
			}
			for range streams {
				require.NoError(t, <-errs)
				ev := <-events
				assert.Contains(t, ev, "token", "a stream over HTTP/2 forwards tokens")
				assert.True(t, strings.HasSuffix(ev, ",done"), "a stream over HTTP/2 ends with done: %s", ev)
			}
		})
	}
}
