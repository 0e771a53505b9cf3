//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// slowResult is what one attacking connection saw.
type slowResult struct {
	kind   string
	err    error  // the connection could not be made
	reply  string // everything the server sent
	closed bool   // the server closed the connection before giveUp
}

// slowClient connects to addr, sends head at once and then piece every
// interval, until the server closes the connection or giveUp passes.
func slowClient(kind, addr, head, piece string, interval, giveUp time.Duration) slowResult {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return slowResult{kind: kind, err: err}
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		return slowResult{kind: kind, err: err}
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, conn)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	stop := time.After(giveUp)
	for {
		select {
		case <-done:
			return slowResult{kind: kind, reply: buf.String(), closed: true}
		case <-stop:
			_ = conn.Close()
			<-done
			return slowResult{kind: kind, reply: buf.String()}
		case <-tick.C:
			_, _ = io.WriteString(conn, piece) // a failed write shows as the close
		}
	}
}

// TestServeSlowClients attacks the real binary with slow clients
// (slowloris): hundreds of connections that trickle their headers, and
// more that send their headers and then trickle the body, plus a flood of
// header bytes and an endless body. While they run, ordinary requests
// still answer promptly; header reads are cut at the server's 10 s
// ReadHeaderTimeout, bodies at REQUEST_TIMEOUT_SECONDS (408) and by size.
func TestServeSlowClients(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{
		"REQUEST_TIMEOUT_SECONDS": "5",
		"MOCK_PROVIDER_DELAY_MS":  "0",
		"MAX_REQUEST_SIZE_BYTES":  "50000",
		"USER_DAILY_QUOTA":        "1000000",
	}))
	s.register(t, "ada@example.com", "correct horse")
	token := s.login(t, "ada@example.com", "correct horse").AccessToken
	addr := strings.TrimPrefix(s.url, "http://")

	const (
		slowHeaders = 300
		slowBodies  = 100
		// giveUp is far beyond every limit: a connection still open then
		// was never cut.
		giveUp = 40 * time.Second
	)
	results := make(chan slowResult, slowHeaders+slowBodies+2)
	var attackers sync.WaitGroup
	attack := func(kind, head, piece string, interval time.Duration) {
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			results <- slowClient(kind, addr, head, piece, interval, giveUp)
		}()
	}
	for i := range slowHeaders {
		attack("slow headers", "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n", fmt.Sprintf("X-Slow-%d: a\r\n", i), time.Second)
	}
	for i := range slowBodies {
		if i%2 == 0 {
			attack("slow body", "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"email\":\"", "a", time.Second)
		} else {
			attack("slow chunked body", "POST /api/v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "+token+
				"\r\nTransfer-Encoding: chunked\r\n\r\na\r\n{\"prompt\":\r\n", "1\r\n \r\n", time.Second)
		}
	}
	// Size bounds: headers beyond MaxHeaderBytes (64 KiB) and a body sent as
	// fast as possible without end.
	attack("header flood", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Flood: "+strings.Repeat("f", 8<<10)+"\r\n", time.Millisecond)
	attack("endless body", "POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
		fmt.Sprintf("%x\r\n%s\r\n", 8<<10, strings.Repeat(" ", 8<<10)), time.Millisecond)

	// Ordinary clients keep being served while the attack runs (the slow
	// headers hold their connections for the whole 10 s). A login hashes
	// its password (Argon2id, 64 MiB), so it is the slow one: once a second.
	client := &http.Client{Timeout: 10 * time.Second} // generous: each takes milliseconds, a login about a second at worst
	served := 0
	for i, deadline := 0, time.Now().Add(8*time.Second); time.Now().Before(deadline); i++ {
		requests := []struct{ method, path, body string }{
			{http.MethodGet, "/health", ""},
			{http.MethodGet, "/api/v1/quota", ""},
			{http.MethodPost, "/api/v1/chat", `{"prompt":"Hi","stream":false}`},
		}
		if i%4 == 0 {
			requests = append(requests, struct{ method, path, body string }{http.MethodPost, "/api/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`})
		}
		for _, r := range requests {
			req, err := http.NewRequest(r.method, s.url+r.path, strings.NewReader(r.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			require.NoError(t, err, "%s %s during the attack", r.method, r.path)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode, "%s %s during the attack", r.method, r.path)
			served++
		}
		time.Sleep(250 * time.Millisecond) // pacing the ordinary client, not waiting for anything
	}
	assert.Positive(t, served)

	attackers.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		counts[r.kind]++
		if !assert.NoError(t, r.err, "%s: connect", r.kind) {
			continue
		}
		if !assert.True(t, r.closed, "%s: the server never cut the connection; it sent %q", r.kind, r.reply) {
			continue
		}
		switch r.kind {
		case "slow headers":
			assert.Empty(t, r.reply, "a header read that times out is dropped without an answer")
		case "slow body", "slow chunked body":
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(r.reply)), nil)
			if assert.NoError(t, err, "%s: reply %q", r.kind, r.reply) {
				assert.Equal(t, http.StatusRequestTimeout, res.StatusCode, "%s", r.kind)
				body, _ := io.ReadAll(res.Body)
				assert.Contains(t, string(body), `"code":"request_timeout"`, "%s", r.kind)
			}
		case "header flood":
			assert.True(t, strings.HasPrefix(r.reply, "HTTP/1.1 431 "), "%s: %q", r.kind, r.reply)
		case "endless body":
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(r.reply)), nil)
			if assert.NoError(t, err, "%s: reply %q", r.kind, r.reply) {
				assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
			}
		}
	}
	assert.Equal(t, map[string]int{"slow headers": slowHeaders, "slow body": slowBodies / 2, "slow chunked body": slowBodies / 2, "header flood": 1, "endless body": 1}, counts)

	// And the server is still whole afterwards.
	r := s.do(t, http.MethodGet, "/ready", "")
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
}
