package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
)

// startInstances starts n `genzai serve` processes at once on the same
// variables (one database, one Redis) and waits until all listen.
func startInstances(t *testing.T, n int, v vars) []*server {
	t.Helper()
	procs := make([]*process, n)
	for i := range procs {
		procs[i] = startProcess(t, "", v, serveArgs...)
	}
	out := make([]*server, n)
	for i, p := range procs {
		out[i] = &server{process: p, url: "http://" + p.waitListening(t)}
	}
	return out
}

// outcome is one concurrent request's status and error code ("" on success).
type outcome struct {
	status int
	code   string
	err    error
}

// send is s.do for goroutines: it reports instead of failing the test.
func send(s *server, method, path, body string, header ...string) outcome {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return outcome{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return outcome{status: res.StatusCode, err: err}
	}
	o := outcome{status: res.StatusCode}
	if res.StatusCode >= 400 {
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil {
			o.err = fmt.Errorf("status %d without the JSON error body: %q", res.StatusCode, b)
		}
		o.code = e.Code
	}
	return o
}

// chats counts the chat completions f received with key (the monitor's
// GET /models probes are not chats).
func chats(f *fakeupstream.Server, key string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Key == key && r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/chat/completions") {
			n++
		}
	}
	return n
}

// tally counts outcomes by "status code" ("200", "429 quota_exceeded").
func tally(outs []outcome) (map[string]int, []error) {
	counts := map[string]int{}
	var errs []error
	for _, o := range outs {
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		k := fmt.Sprint(o.status)
		if o.code != "" {
			k += " " + o.code
		}
		counts[k]++
	}
	return counts, errs
}

// TestScaleOutThreeInstances runs three real instances on one PostgreSQL
// and one Redis behind no load balancer (the test spreads the requests) and
// checks that what must hold for a user, a client IP and a provider key
// holds across all three, and that the provider monitor probes once per
// interval in total.
func TestScaleOutThreeInstances(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	openrouter := fakeupstream.New(t)
	// Keys unique to the run: budgets and cooldowns in Redis are per key.
	suffix := fmt.Sprint(time.Now().UnixNano())
	groqKey, orKey := "gsk-scale-"+suffix, "sk-or-scale-"+suffix
	base := serverVars(pgtest.NewURL(t)).with(vars{
		"REDIS_URL":                       redistest.NewURL(t),
		"USER_DAILY_QUOTA":                "50",
		"RATE_LIMIT_PER_MINUTE":           "10",
		"AUTH_RATE_LIMIT_PER_MINUTE":      "1000",
		"TRUSTED_PROXIES":                 "127.0.0.1/32",
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   groqKey,
		"GROQ_RPM_PER_KEY":                "0",
		"OPENROUTER_BASE_URL":             openrouter.URL(),
		"OPENROUTER_API_KEYS":             orKey,
		"OPENROUTER_RPM_PER_KEY":          "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "1",
		"DATABASE_POOL_SIZE":              "3",
		"DATABASE_POOL_MAX_OVERFLOW":      "3",
	})
	monitorStart := time.Now()
	s := startInstances(t, 3, base)

	// Each request below comes from its own client IP (X-Forwarded-For from a
	// trusted proxy), so that only the per-IP subtest meets the IP limit.
	var ipSeq sync.Mutex
	nextIP := 0
	clientIP := func() []string {
		ipSeq.Lock()
		defer ipSeq.Unlock()
		nextIP++
		return []string{"X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", nextIP/250, nextIP%250+1)}
	}

	t.Run("quota holds across instances", func(t *testing.T) {
		answered := func() int { return chats(groq, groqKey) + chats(openrouter, orKey) }
		quotaHoldsAcrossInstances(t, s, base["DATABASE_URL"], clientIP, answered)
	})

	t.Run("per-IP limit holds across instances", func(t *testing.T) {
		// RATE_LIMIT_PER_MINUTE=10 for one client IP, whichever instance it
		// hits. The requests carry no token: those the limiter lets through
		// get the route's 401, the rest its 429.
		ip := []string{"X-Forwarded-For", "203.0.113.77"}
		outs := make([]outcome, 30)
		var wg sync.WaitGroup
		for i := range outs {
			wg.Go(func() { outs[i] = send(s[i%len(s)], http.MethodGet, "/api/v1/models", "", ip...) })
		}
		wg.Wait()
		counts, errs := tally(outs)
		require.Empty(t, errs)
		assert.Equal(t, map[string]int{"401 unauthorized": 10, "429 rate_limited": 20}, counts)

		// Another client is not affected.
		other := send(s[1], http.MethodGet, "/api/v1/models", "", "X-Forwarded-For", "203.0.113.78")
		require.NoError(t, other.err)
		assert.Equal(t, http.StatusUnauthorized, other.status, "past the limiter")
	})

	t.Run("provider monitor probes once per interval in total", func(t *testing.T) {
		// Three instances each ticking every second would probe each provider
		// about three times a second; the shared schedule allows one.
		deadline := time.Now().Add(15 * time.Second)
		probes := func(f *fakeupstream.Server) int {
			n := 0
			for _, r := range f.Requests() {
				if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/models") {
					n++
				}
			}
			return n
		}
		for probes(groq) < 4 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(monitorStart)
		// One probe per provider per started second, plus one for the first
		// interval; the bound is loose on the low side (a busy machine may
		// skip ticks) and tight on the side that matters.
		most := int(elapsed/time.Second) + 2
		for _, f := range []*fakeupstream.Server{groq, openrouter} {
			n := probes(f)
			t.Logf("%d probes of one provider in %v by three instances", n, elapsed.Round(time.Millisecond))
			assert.GreaterOrEqual(t, n, 1, "the monitor probes")
			assert.LessOrEqual(t, n, most, "%d probes in %v by three instances: at most one per interval in total", n, elapsed)
		}
	})
}

// TestScaleOutKeyBudget checks that a provider key's per-minute budget is one
// budget for all instances, and that requests no key could serve are
// refused cleanly and refunded.
func TestScaleOutKeyBudget(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	key := fmt.Sprintf("gsk-budget-%d", time.Now().UnixNano())
	v := serverVars(pgtest.NewURL(t)).with(vars{
		"REDIS_URL":                       redistest.NewURL(t),
		"USER_DAILY_QUOTA":                "100",
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   key,
		"GROQ_RPM_PER_KEY":                "5",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	})
	s := startInstances(t, 3, v)
	s[0].register(t, "budget@example.com", "correct horse")
	tokens := make([]string, len(s))
	for i := range s {
		tokens[i] = s[i].login(t, "budget@example.com", "correct horse").AccessToken
	}

	outs := make([]outcome, 15)
	for i := range outs { // one after another: the budget, not a race, decides
		outs[i] = send(s[i%len(s)], http.MethodPost, "/api/v1/chat", `{"prompt":"Hi","stream":false}`, bearer(tokens[i%len(s)])...)
	}
	counts, errs := tally(outs)
	require.Empty(t, errs)
	assert.Equal(t, 5, counts["200"], "five requests a minute on the only key, across the three: %v", counts)
	assert.Equal(t, 10, counts["503 providers_unavailable"]+counts["429 provider_rate_limited"], "the rest refused cleanly: %v", counts)
	assert.Equal(t, 5, chats(groq, key), "the key was used five times in all")

	q := decode[quotaBody](t, s[1].do(t, http.MethodGet, "/api/v1/quota", "", bearer(tokens[1])...))
	assert.Equal(t, 5, q.Used, "requests no provider answered are refunded")
}

// TestScaleOutConnectionLimit is the burst on real processes:
// three instances whose pools (2 + 4 overflow each) can ask for 18
// connections share a server that admits 8 (a role's CONNECTION LIMIT,
// refused with the same SQLSTATE 53300 as a full server); 300 chat
// requests, 100 at a time: not one 503.
func TestScaleOutConnectionLimit(t *testing.T) {
	t.Parallel()
	// Each instance holds its pool's minimum and its account listener for
	// good (2 each, 6 of the role's 8); under the burst they ask for up to
	// 3 × 6 pooled connections: far past the 2 left, so statements wait.
	v := serverVars(pgtest.NewLimitedRole(t, pgtest.NewURL(t), 8)).with(vars{
		"USER_DAILY_QUOTA":                "1000",
		"DATABASE_POOL_SIZE":              "1",
		"DATABASE_POOL_MAX_OVERFLOW":      "5",
		"MOCK_PROVIDER_DELAY_MS":          "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	})
	// One after another: each start opens its pool's minimum.
	s := make([]*server, 3)
	for i := range s {
		p := startProcess(t, "", v, serveArgs...)
		s[i] = &server{process: p, url: "http://" + p.waitListening(t)}
	}
	s[0].register(t, "burst@example.com", "correct horse")
	token := s[0].login(t, "burst@example.com", "correct horse").AccessToken

	var outs []outcome
	for round := range 3 {
		batch := make([]outcome, 100)
		var wg sync.WaitGroup
		for i := range batch {
			inst := s[(round*100+i)%len(s)]
			wg.Go(func() {
				batch[i] = send(inst, http.MethodPost, "/api/v1/chat", `{"prompt":"Hi","stream":false}`, bearer(token)...)
			})
		}
		wg.Wait()
		outs = append(outs, batch...)
	}
	counts, errs := tally(outs)
	require.Empty(t, errs)
	assert.Equal(t, map[string]int{"200": 300}, counts)
}

// quotaHoldsAcrossInstances sends 300 concurrent chats of one user (quota
// 50) spread over the instances s and checks that exactly the quota is
// answered, the database counts it within the next write, and every
// instance reports it. clientIP gives each request its own client address;
// answered counts the chats the providers received.
func quotaHoldsAcrossInstances(t *testing.T, s []*server, dbURL string, clientIP func() []string, answered func() int) {
	t.Helper()
	r := s[0].do(t, http.MethodPost, "/api/v1/auth/register", `{"email":"many@example.com","password":"correct horse"}`, clientIP()...)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	tokens := make([]string, len(s))
	for i := range s {
		r := s[i].do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"many@example.com","password":"correct horse"}`, clientIP()...)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		tokens[i] = decode[tokenBody](t, r).AccessToken
	}
	before := answered()

	const requests = 300
	outs := make([]outcome, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		inst := i % len(s)
		hdr := append(clientIP(), bearer(tokens[inst])...)
		wg.Go(func() {
			<-start
			outs[i] = send(s[inst], http.MethodPost, "/api/v1/chat", `{"prompt":"Hi","model":"smart","stream":false}`, hdr...)
		})
	}
	close(start)
	wg.Wait()
	counts, errs := tally(outs)
	require.Empty(t, errs)
	assert.Equal(t, map[string]int{"200": 50, "429 quota_exceeded": 250}, counts)

	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	// Redis or the leases count the quota and write it behind every
	// second: the database has it within the next write.
	assert.EventuallyWithT(t, func(c *assert.CollectT) {
		var used int
		require.NoError(c, conn.QueryRow(context.Background(),
			`SELECT q.used FROM quota_usage q JOIN users u ON u.id = q.user_id WHERE u.email = 'many@example.com'`).Scan(&used))
		assert.Equal(c, 50, used, "the database counted exactly the answered requests")
	}, 5*time.Second, 50*time.Millisecond)
	assert.Equal(t, 50, answered()-before, "refused requests never reach a provider")

	// With Redis every instance reads the shared count at once; from
	// leases, the written count and its own unwritten grants, so other
	// instances' grants show within their next write.
	for i := range s {
		assert.EventuallyWithT(t, func(c *assert.CollectT) {
			q := decode[quotaBody](t, s[i].do(t, http.MethodGet, "/api/v1/quota", "", append(clientIP(), bearer(tokens[i])...)...))
			assert.Equal(c, quotaBody{Used: 50, Limit: 50, Remaining: 0, ResetsAt: q.ResetsAt, ResetTimeUTC: q.ResetTimeUTC}, q, "instance %d", i)
		}, 5*time.Second, 100*time.Millisecond)
	}
}

// TestScaleOutQuotaWithoutRedis: three instances on PostgreSQL alone count
// the quota from leases (QUOTA_COUNTING=auto) and keep it exact.
func TestScaleOutQuotaWithoutRedis(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	suffix := fmt.Sprint(time.Now().UnixNano())
	groqKey := "gsk-leases-" + suffix
	base := serverVars(pgtest.NewURL(t)).with(vars{
		"USER_DAILY_QUOTA":                "50",
		"AUTH_RATE_LIMIT_PER_MINUTE":      "1000",
		"TRUSTED_PROXIES":                 "127.0.0.1/32",
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   groqKey,
		"GROQ_RPM_PER_KEY":                "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"DATABASE_POOL_SIZE":              "3",
		"DATABASE_POOL_MAX_OVERFLOW":      "3",
	})
	s := startInstances(t, 3, base)
	var ipSeq sync.Mutex
	nextIP := 0
	clientIP := func() []string {
		ipSeq.Lock()
		defer ipSeq.Unlock()
		nextIP++
		return []string{"X-Forwarded-For", fmt.Sprintf("198.19.%d.%d", nextIP/250, nextIP%250+1)}
	}
	quotaHoldsAcrossInstances(t, s, base["DATABASE_URL"], clientIP, func() int { return chats(groq, groqKey) })
}
