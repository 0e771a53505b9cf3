//go:build e2e

package main

// Fault tests of the real binary: PostgreSQL and Redis going away and
// coming back under load, and a graceful shutdown with a hundred open
// streams (the crash in the middle of quota-bound traffic is in
// crash_e2e_test.go). The shared PostgreSQL
// and Redis of the test machine are never stopped: the gateway reaches them
// through a faultproxy that the test switches off (listener closed, open
// connections reset) and on again.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/internal/faultproxy"
)

// faultProxy starts a fault proxy to the server of rawURL and returns it
// with rawURL pointed at the proxy instead.
func faultProxy(t *testing.T, rawURL, defaultPort string) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	p, err := faultproxy.Listen(target)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	u.Host = p.Addr()
	return p, u.String()
}

// faultCall is one request of a fault test: when it ran and what came back.
type faultCall struct {
	start, end time.Time
	status     int
	code, msg  string // of an error body
	requestID  string // the answer's X-Request-ID, where chatOnce read one
	err        error  // transport error, or an error answer that breaks the contract
}

func (c faultCall) took() time.Duration { return c.end.Sub(c.start) }

// key is "status" or "status code" ("503 unavailable"), or the error.
func (c faultCall) key() string {
	if c.err != nil {
		return "error: " + c.err.Error()
	}
	if c.code != "" {
		return fmt.Sprintf("%d %s", c.status, c.code)
	}
	return strconv.Itoa(c.status)
}

// faultDo sends a request and checks the error contract of a non-2xx
// answer (a JSON body with code and message); it never fails the test, so
// that goroutines may call it.
func faultDo(client *http.Client, method, target, body string, header ...string) (c faultCall) {
	c.start = time.Now()
	defer func() {
		if c.end.IsZero() {
			c.end = time.Now()
		}
	}()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		c.err = err
		return c
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		c.err = err
		return c
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	c.end = time.Now()
	c.status = res.StatusCode
	if err != nil {
		c.err = fmt.Errorf("read body: %w", err)
		return c
	}
	if res.StatusCode >= 400 {
		var e errorBody
		mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		switch {
		case mt != "application/json":
			c.err = fmt.Errorf("status %d with Content-Type %q: %q", res.StatusCode, mt, b)
		case json.Unmarshal(b, &e) != nil || e.Code == "" || e.Error == "" || e.RequestID == "":
			c.err = fmt.Errorf("status %d without the JSON error body: %q", res.StatusCode, b)
		}
		c.code, c.msg = e.Code, e.Error
	}
	return c
}

// faultKeys tallies calls by key.
func faultKeys(calls []faultCall) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		out[c.key()]++
	}
	return out
}

// faultLoad runs requests from a few workers until stopped and keeps every
// finished call.
type faultLoad struct {
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu    sync.Mutex
	calls []faultCall
}

// startFaultLoad runs workers that each call next in a loop, with pause
// between calls (the load is there to meet the fault, not to saturate the
// two cores the tests share).
func startFaultLoad(workers int, pause time.Duration, next func(worker, i int) faultCall) *faultLoad {
	l := &faultLoad{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				c := next(w, i)
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
				select {
				case <-l.stop:
					return
				case <-time.After(pause):
				}
			}
		})
	}
	return l
}

func (l *faultLoad) snapshot() []faultCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// waitCalls waits until at least n finished calls satisfy match.
func (l *faultLoad) waitCalls(t *testing.T, n int, timeout time.Duration, what string, match func(faultCall) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, c := range l.snapshot() {
			if match(c) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "the load did not get there", "%d of %d calls %s within %s; calls: %v", got, n, what, timeout, faultKeys(l.snapshot()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish stops the workers and returns every call; it may be called again.
func (l *faultLoad) finish() []faultCall {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.snapshot()
}

// waitStatus polls GET path until it answers want, and returns how long
// that last request took.
func waitStatus(t *testing.T, s *server, path string, want int, timeout time.Duration) time.Duration {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		start := time.Now()
		res, err := client.Get(s.url + path)
		took := time.Since(start)
		last := fmt.Sprint(err)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == want {
				return took
			}
			last = res.Status
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "no expected answer", "GET %s never answered %d within %s; last: %s", path, want, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyChecks reads /ready: its status and checks.
func readyChecks(t *testing.T, s *server) (int, map[string]string) {
	t.Helper()
	r := s.do(t, http.MethodGet, "/ready", "")
	var body struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body), "body: %s", r.body)
	assert.Equal(t, r.status == http.StatusOK, body.Ready, "ready matches the status: %s", r.body)
	return r.status, body.Checks
}

// hasRecord reports whether the process logged a record with msg.
func hasRecord(p *process, msg string) bool {
	return slices.Contains(messages(p.records()), msg)
}

// TestFaultPostgresOutage takes PostgreSQL away under chat and quota load
// and brings it back: while it is away requests fail fast with a JSON 503,
// /ready is 503 and /health 200; afterwards the same process serves again
// without a restart. The pooled connections either break (reset: a network
// failure) or end (FIN: the database's process died). Quotas are counted
// from leases (PostgreSQL without Redis): a user whose block is live may
// still be served at the start of the outage, for as long as the account
// cache still serves the account (its one second while notices may be
// lost); a user without a block gets 503.
func TestFaultPostgresOutage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(*faultproxy.Proxy)
	}{
		{"connections reset", (*faultproxy.Proxy).Down},
		{"connections closed", (*faultproxy.Proxy).DownClosing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testPostgresOutage(t, tc.down)
		})
	}
}

func testPostgresOutage(t *testing.T, down func(*faultproxy.Proxy)) {
	proxy, dbURL := faultProxy(t, pgtest.NewURL(t), "5432")
	groq := fakeupstream.New(t)
	const requestTimeout = 3 * time.Second
	s := startServer(t, "", serverVars(dbURL).with(vars{
		"REQUEST_TIMEOUT_SECONDS":         strconv.Itoa(int(requestTimeout / time.Second)),
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   "gsk-fault-pg",
		"GROQ_RPM_PER_KEY":                "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"USER_DAILY_QUOTA":                "100000",
	}))
	s.register(t, "pg@example.com", "correct horse")
	auth := bearer(s.login(t, "pg@example.com", "correct horse").AccessToken)
	s.register(t, "fresh@example.com", "correct horse")
	fresh := bearer(s.login(t, "fresh@example.com", "correct horse").AccessToken)

	// Workers alternate a non-streamed chat and a quota read: both need the
	// database (the account behind the token, the quota read; a chat's
	// quota only when its user's block is used up).
	client := &http.Client{Timeout: 4 * requestTimeout}
	var chatsMu sync.Mutex
	chats := map[time.Time]bool{} // by start: the calls that were chats
	load := startFaultLoad(4, 25*time.Millisecond, func(w, i int) faultCall {
		if (w+i)%2 == 0 {
			c := faultDo(client, http.MethodPost, s.url+"/api/v1/chat", `{"prompt":"Hi","stream":false}`, auth...)
			chatsMu.Lock()
			chats[c.start] = true
			chatsMu.Unlock()
			return c
		}
		return faultDo(client, http.MethodGet, s.url+"/api/v1/quota", "", auth...)
	})
	defer load.finish()
	load.waitCalls(t, 10, 10*time.Second, "answered 200 before the outage", func(c faultCall) bool { return c.status == http.StatusOK })

	// Calls that ended before the switch began saw the database; calls
	// that began after it was complete did not.
	// The fresh user's account is in the cache (a quota read takes no
	// block), so that its chat below needs only the quota from the
	// database.
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/api/v1/quota", "", fresh...).status)
	downStart := time.Now()
	down(proxy)
	downAt := time.Now()
	fc := faultDo(client, http.MethodPost, s.url+"/api/v1/chat", `{"prompt":"Hi","stream":false}`, fresh...)
	require.NoError(t, fc.err)
	assert.Equal(t, "503 unavailable", fc.key(), "no block: the quota needs the database")
	took := waitStatus(t, s, "/ready", http.StatusServiceUnavailable, 5*time.Second)
	// At most the 1 s the answer is reused, then the 1 s check.
	assert.Less(t, took, 3*time.Second, "/ready reports the outage within its cache and its 1 s check")
	status, checks := readyChecks(t, s)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, checks["database"], "unavailable")
	assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/health", "").status, "liveness does not depend on the database")
	// Let the load meet the outage.
	load.waitCalls(t, 20, 15*time.Second, "started during the outage", func(c faultCall) bool { return c.start.After(downAt) })
	assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/health", "").status)

	upStart := time.Now()
	require.NoError(t, proxy.Up())
	waitStatus(t, s, "/ready", http.StatusOK, 15*time.Second)
	readyAt := time.Now()
	load.waitCalls(t, 20, 15*time.Second, "started after the recovery", func(c faultCall) bool { return c.start.After(readyAt) })
	calls := load.finish()

	var before, during, after int
	for _, c := range calls {
		require.NoError(t, c.err, "every answer keeps the JSON error contract")
		// No request hangs: even those caught in flight by the outage end
		// within the documented REQUEST_TIMEOUT_SECONDS.
		assert.Less(t, c.took(), requestTimeout, "%s took %s", c.key(), c.took())
		switch {
		case c.end.Before(downStart):
			before++
			assert.Equal(t, "200", c.key(), "before the outage")
		case c.start.After(downAt) && c.end.Before(upStart):
			during++
			if c.status == http.StatusOK && chats[c.start] {
				// Served from the user's block while the account cache
				// still served the account: within its second after the
				// outage began (two, for a busy machine).
				assert.Less(t, c.start.Sub(downAt), 2*time.Second, "a chat served from the block late in the outage")
				continue
			}
			assert.Equal(t, "503 unavailable", c.key(), "during the outage")
			assert.Equal(t, "Service temporarily unavailable", c.msg)
		case c.start.After(readyAt):
			after++
			assert.Equal(t, "200", c.key(), "after the recovery, in the same process")
		default:
			// In flight when the proxy went down or came back: either
			// answer is right, a 500 or a hang is not.
			assert.Contains(t, []string{"200", "503 unavailable"}, c.key(), "around a switch")
		}
	}
	assert.Positive(t, before)
	assert.Positive(t, during)
	assert.Positive(t, after)
	assert.False(t, hasRecord(s.process, "internal error"), "no outage error is logged as internal")
	assert.True(t, hasRecord(s.process, "dependency unavailable"), "the outage is logged")
	select {
	case <-s.done:
		require.FailNow(t, "the server exited during the outage")
	default:
	}
}

// faultIP is a random client IP: Redis is shared and never flushed, so
// each burst uses limiter keys no other test or run uses.
func faultIP() string {
	return fmt.Sprintf("100.%d.%d.%d", 64+rand.IntN(64), rand.IntN(256), rand.IntN(254)+1)
}

// TestFaultRedisOutage takes Redis away and brings it back, with the
// fallback open (per-instance limits) and closed (503), as the README's
// "Several instances" documents.
func TestFaultRedisOutage(t *testing.T) {
	t.Parallel()
	const limit = 5
	shared := map[string]int{"200": limit, "429 rate_limited": 2}
	for _, tc := range []struct {
		failOpen bool
		wantDown map[string]int // a burst of limit+2 requests while Redis is away
	}{
		{failOpen: true, wantDown: shared}, // the in-process limiter still limits
		{failOpen: false, wantDown: map[string]int{"503 unavailable": limit + 2}},
	} {
		t.Run("RATE_LIMIT_FAIL_OPEN="+strconv.FormatBool(tc.failOpen), func(t *testing.T) {
			t.Parallel()
			realURL := redistest.NewURL(t)
			proxy, redisURL := faultProxy(t, realURL, "6379")
			opts, err := redis.ParseURL(realURL)
			require.NoError(t, err)
			rdb := redis.NewClient(opts) // sees what the gateway stored, behind the proxy's back
			t.Cleanup(func() { _ = rdb.Close() })
			inRedis := func(ip string) bool {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, err := rdb.Exists(ctx, "rate:genzai:rl:ip:"+ip).Result()
				require.NoError(t, err)
				return n == 1
			}

			s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{
				"REDIS_URL":                       redisURL,
				"RATE_LIMIT_PER_MINUTE":           strconv.Itoa(limit),
				"RATE_LIMIT_FAIL_OPEN":            strconv.FormatBool(tc.failOpen),
				"TRUSTED_PROXIES":                 "127.0.0.1/32",
				"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
			}))
			client := &http.Client{Timeout: 10 * time.Second}
			get := func(ip string) faultCall {
				return faultDo(client, http.MethodGet, s.url+"/api/v1/status", "", "X-Forwarded-For", ip)
			}
			// burst sends limit+2 requests from one new client IP.
			burst := func(what string) (string, map[string]int) {
				ip := faultIP()
				var calls []faultCall
				for range limit + 2 {
					c := get(ip)
					// Redis' own timeouts (dial 500 ms, commands 250 ms)
					// keep a request quick, whatever Redis does.
					assert.Less(t, c.took(), 2*time.Second, "%s: %s took %s", what, c.key(), c.took())
					calls = append(calls, c)
				}
				return ip, faultKeys(calls)
			}

			ip, got := burst("Redis up")
			assert.Equal(t, shared, got, "Redis up")
			assert.True(t, inRedis(ip), "the limit is kept in Redis")
			_, checks := readyChecks(t, s)
			assert.Equal(t, "ok", checks["redis"])

			proxy.Down()
			ip, got = burst("Redis away")
			assert.Equal(t, tc.wantDown, got, "Redis away")
			assert.False(t, inRedis(ip), "nothing reached Redis")
			// /ready reuses its answer for a second: the outage shows next.
			var status int
			require.Eventually(t, func() bool {
				status, checks = readyChecks(t, s)
				return checks["redis"] != "ok"
			}, 5*time.Second, 100*time.Millisecond, "/ready reports the outage")
			assert.Equal(t, http.StatusOK, status, "Redis is not fatal to readiness")
			assert.Contains(t, checks["redis"], "limits fall back to this instance")
			assert.Equal(t, "ok", checks["database"])
			assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/health", "").status)
			assert.True(t, hasRecord(s.process, map[bool]string{
				true:  "rate limiter store unreachable, using the in-process limiter",
				false: "rate limiter store unreachable, refusing requests until it is back",
			}[tc.failOpen]), "the outage is logged")

			require.NoError(t, proxy.Up())
			// The gateway asks Redis again by itself (one probe per 2 s
			// backoff): a request of a new client is counted there again.
			deadline := time.Now().Add(15 * time.Second)
			for {
				ip := faultIP()
				c := get(ip)
				require.NoError(t, c.err)
				if inRedis(ip) {
					assert.Equal(t, "200", c.key())
					break
				}
				require.True(t, time.Now().Before(deadline), "the gateway never went back to Redis; last answer %s", c.key())
				time.Sleep(100 * time.Millisecond)
			}
			ip, got = burst("Redis back")
			assert.Equal(t, shared, got, "Redis back")
			assert.True(t, inRedis(ip), "the limit is kept in Redis again")
			assert.Eventually(t, func() bool {
				_, checks = readyChecks(t, s)
				return checks["redis"] == "ok"
			}, 5*time.Second, 100*time.Millisecond, "/ready reports Redis back")
			assert.True(t, hasRecord(s.process, "rate limiter store is back"))
		})
	}
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// readSSE reads an event stream to its end. began is called once, at the
// first token. clean reports that the body ended on an event boundary;
// err is the read error (nil at EOF), such as a connection cut mid-body.
func readSSE(r io.Reader, began func()) (events []sseEvent, clean bool, err error) {
	br := bufio.NewReader(r)
	var cur sseEvent
	pending := false // lines read since the last blank line
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return events, line == "" && !pending, nil
			}
			return events, false, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				events = append(events, cur)
				if cur.name == "" && began != nil {
					began()
					began = nil
				}
			}
			cur, pending = sseEvent{}, false
		case strings.HasPrefix(line, ":"):
			pending = true // a keep-alive comment
		case strings.HasPrefix(line, "event: "):
			cur.name, pending = strings.TrimPrefix(line, "event: "), true
		case strings.HasPrefix(line, "data: "):
			cur.data, pending = cur.data+strings.TrimPrefix(line, "data: "), true
		default:
			return events, false, fmt.Errorf("not an SSE line: %q", line)
		}
	}
}

// slowStream is a streamed upstream answer: a token every interval until
// finish is closed (never, when nil), then three more tokens and the end.
// It stops when the gateway goes away.
func slowStream(finish <-chan struct{}, interval time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		send := func(delta map[string]any, reason any) bool {
			b, _ := json.Marshal(map[string]any{
				"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 0, "model": fakeupstream.DefaultModel,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": reason}},
			})
			_, err := fmt.Fprintf(w, "data: %s\n\n", b)
			return err == nil && rc.Flush() == nil
		}
		left := -1 // tokens still to send once finish is closed
		for i := 0; left != 0; i++ {
			if !send(map[string]any{"content": fmt.Sprintf("t%d ", i)}, nil) {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(interval):
			}
			if left < 0 {
				select {
				case <-finish:
					left = 3
				default:
				}
			} else {
				left--
			}
		}
		if send(map[string]any{}, "stop") {
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
			_ = rc.Flush()
		}
	}
}

// streamResult is what a client of one streamed chat saw.
type streamResult struct {
	requestID string
	status    int
	events    []sseEvent
	clean     bool
	err       error
}

// TestFaultShutdownWithOpenStreams sends SIGTERM to a gateway with 100
// open streams: readiness goes at once and new connections are refused;
// the streams that can finish within SHUTDOWN_GRACE_SECONDS do, the others
// end with an SSE error event (shutting_down) before the exit, none is cut
// mid-event, and the request log has one row per chat.
func TestFaultShutdownWithOpenStreams(t *testing.T) {
	t.Parallel()
	const (
		streams = 100 // half finish during the shutdown, half cannot
		grace   = 6 * time.Second
	)
	release := make(chan struct{}) // the fast streams finish once it is closed
	groq := fakeupstream.New(t)    // the fast tier
	groq.Default(fakeupstream.Handler(slowStream(release, 200*time.Millisecond)))
	openrouter := fakeupstream.New(t) // first in the smart tier: never finishes
	openrouter.Default(fakeupstream.Handler(slowStream(nil, 200*time.Millisecond)))
	dbURL := pgtest.NewURL(t)
	s := startServer(t, "", serverVars(dbURL).with(vars{
		"SHUTDOWN_GRACE_SECONDS":          strconv.Itoa(int(grace / time.Second)),
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   "gsk-fault-shutdown",
		"GROQ_RPM_PER_KEY":                "0",
		"OPENROUTER_BASE_URL":             openrouter.URL(),
		"OPENROUTER_API_KEYS":             "sk-or-fault-shutdown",
		"OPENROUTER_RPM_PER_KEY":          "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"USER_DAILY_QUOTA":                "1000",
	}))
	addr := strings.TrimPrefix(s.url, "http://")
	s.register(t, "streams@example.com", "correct horse")
	token := s.login(t, "streams@example.com", "correct horse").AccessToken
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/ready", "").status)

	// Open every stream and wait until each has its first token.
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
	results := make([]streamResult, streams)
	var begun, done sync.WaitGroup
	begun.Add(streams)
	for i := range streams {
		tier := map[bool]string{true: "fast", false: "smart"}[i%2 == 0]
		id := fmt.Sprintf("fault-%s-%03d", tier, i)
		done.Go(func() {
			once := sync.OnceFunc(begun.Done)
			defer once() // a failed stream must not block the test
			res := &results[i]
			res.requestID = id
			req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/chat", strings.NewReader(`{"prompt":"Tell me everything","model":"`+tier+`"}`))
			if err != nil {
				res.err = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Request-ID", id)
			r, err := client.Do(req)
			if err != nil {
				res.err = err
				return
			}
			defer r.Body.Close()
			// The server answers under its own id; the one sent comes back
			// as the correlation id.
			res.requestID = r.Header.Get("X-Request-ID")
			if got := r.Header.Get("X-Correlation-ID"); got != id {
				res.err = fmt.Errorf("X-Correlation-ID %q, want %q", got, id)
				return
			}
			res.status = r.StatusCode
			res.events, res.clean, res.err = readSSE(r.Body, once)
		})
	}
	begun.Wait()
	for i := range results {
		// Only status is final here: a stream that began is still being
		// read, and one that did not set its error before it said so.
		r := &results[i]
		if r.status != http.StatusOK {
			require.FailNow(t, "a stream did not begin", "%s: status %d, error %v", r.requestID, r.status, r.err)
		}
	}

	sent := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	// Readiness goes at once (the listener closes: connection refused
	// counts), long before the grace period ends.
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		res, err := probe.Get(s.url + "/ready")
		if err != nil {
			break
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			break
		}
		require.Less(t, time.Since(sent), grace/3, "/ready still answers 200 after SIGTERM")
		time.Sleep(10 * time.Millisecond)
	}
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "new connections are refused during the shutdown")
	close(release) // the fast streams can finish now, during the shutdown

	done.Wait()
	code := s.wait(t)
	s.mu.Lock()
	took := s.exitedAt.Sub(sent)
	s.mu.Unlock()
	assert.Equal(t, 0, code, "a shutdown that ended every stream in time is clean")
	assert.Less(t, took, grace+2*time.Second, "exit by the deadline (and the request log flush)")
	assert.True(t, hasRecord(s.process, "stopped"))

	wantOutcome := map[string]string{}
	for i, r := range results {
		fast := i%2 == 0
		if !assert.NoError(t, r.err, "stream %s is never cut", r.requestID) {
			continue
		}
		assert.True(t, r.clean, "stream %s ends on an event boundary", r.requestID)
		require.NotEmpty(t, r.events, r.requestID)
		assert.Equal(t, "meta", r.events[0].name, r.requestID)
		last := r.events[len(r.events)-1]
		if fast {
			wantOutcome[r.requestID] = "success"
			assert.Equal(t, "done", last.name, "stream %s finishes during the shutdown: %v", r.requestID, last)
		} else {
			wantOutcome[r.requestID] = "cancelled"
			if assert.Equal(t, "error", last.name, "stream %s is ended with an error event: %v", r.requestID, last) {
				var e struct{ Error, Code string }
				require.NoError(t, json.Unmarshal([]byte(last.data), &e))
				assert.Equal(t, "shutting_down", e.Code, r.requestID)
				assert.NotEmpty(t, e.Error)
			}
		}
		for _, ev := range r.events[1 : len(r.events)-1] {
			assert.Empty(t, ev.name, "stream %s: only tokens between meta and the end", r.requestID)
		}
	}

	// One request log row per chat, written before the exit.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT coalesce(request_id, ''), outcome FROM request_log`)
	require.NoError(t, err)
	gotOutcome := map[string]string{}
	n := 0
	for rows.Next() {
		var id, outcome string
		require.NoError(t, rows.Scan(&id, &outcome))
		gotOutcome[id] = outcome
		n++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, streams, n, "exactly one row per chat request")
	assert.Equal(t, wantOutcome, gotOutcome)
}

// chatOnce sends one streamed chat and reads it to its end, calling began
// (unless nil) at the first token. status is 0 when no answer came.
func chatOnce(client *http.Client, base, token string, began func()) (c faultCall, status int, events []sseEvent, err error) {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/chat", strings.NewReader(`{"prompt":"Hi"}`))
	if err != nil {
		return faultCall{err: err}, 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return faultCall{err: err}, 0, nil, err
	}
	defer res.Body.Close()
	id := res.Header.Get("X-Request-ID")
	if res.StatusCode != http.StatusOK {
		b, rerr := io.ReadAll(res.Body)
		c = faultCall{status: res.StatusCode, requestID: id, err: rerr}
		var e errorBody
		if json.Unmarshal(b, &e) == nil {
			c.code, c.msg = e.Code, e.Error
		}
		return c, res.StatusCode, nil, rerr
	}
	events, clean, err := readSSE(res.Body, began)
	if err == nil && !clean {
		err = errors.New("stream ended mid-event")
	}
	return faultCall{status: res.StatusCode, requestID: id, err: err}, res.StatusCode, events, err
}

// TestEndStreamsBefore pins when shutdown ends the requests still running:
// early enough for Shutdown (which polls every 500 ms at most) to see them
// done, never before half the timeout.
func TestEndStreamsBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ timeout, want time.Duration }{
		{time.Second, 500 * time.Millisecond},
		{2 * time.Second, time.Second},
		{4 * time.Second, time.Second},
		{6 * time.Second, 1500 * time.Millisecond},
		{15 * time.Second, 2 * time.Second},
		{time.Hour, 2 * time.Second},
	} {
		assert.Equal(t, tc.want, endStreamsBefore(tc.timeout), "timeout %s", tc.timeout)
	}
}
