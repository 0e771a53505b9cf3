//go:build e2e

package main

// The crash test of the real binary: the gateway killed (SIGKILL) in the
// middle of quota-bound chats, on every store quotas are counted on, and
// held to what README "Quota counting" says a crash may lose.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to read PostgreSQL like SQLite
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
)

// crashWindow is how long before a kill a grant may still wait in the
// write-behind queue: the write interval (1 s, quotacount.DefaultInterval)
// and 2.5 s of room for a loaded test machine (CI runs packages side by
// side under the race detector) to run a write late. The
// grant of an answer completed earlier than that is in quota_usage, and
// its request in request_log (written every 500 ms).
const crashWindow = time.Second + 2500*time.Millisecond

// crashAnswer is one whole answer a client read: its request id and when
// its last event arrived.
type crashAnswer struct {
	requestID string
	at        time.Time
}

// crashFate is what one user's clients saw of the load and the kill.
type crashFate struct {
	done     []crashAnswer // whole answers
	cut      int           // the answer began (quota consumed for sure) and was cut by the kill
	unknown  int           // sent, no answer: consumed or not, the client cannot know
	refused  int           // connection refused after the kill: never consumed
	exceeded int           // 429 quota_exceeded
}

// known counts the requests that consumed a unit for sure; no provider
// failed, so none was refunded.
func (f crashFate) known() int { return len(f.done) + f.cut }

// mayBeLost counts the known grants that may still have been queued at
// the kill: answers completed within crashWindow of it, and those it cut.
func (f crashFate) mayBeLost(kill time.Time) int {
	n := f.cut
	for _, a := range f.done {
		if a.at.After(kill.Add(-crashWindow)) {
			n++
		}
	}
	return n
}

func (f crashFate) summary(kill time.Time) string {
	return fmt.Sprintf("done %d (%d within %s of the kill), cut %d, unknown %d, refused %d, exceeded %d",
		len(f.done), f.mayBeLost(kill)-f.cut, crashWindow, f.cut, f.unknown, f.refused, f.exceeded)
}

// crashEngine is a store the gateway counts quotas on, and how the test
// reads what a crash left in it.
type crashEngine struct {
	name  string
	redis bool // REDIS_URL set: counted in Redis, written behind
	env   vars // more of the gateway's variables
	// leases: counted from leases (PostgreSQL alone). The dead instance's
	// lease keeps its unused units until it expires, so a user below the
	// limit may be refused for that long after the restart (README).
	leases bool
	mode   string // what the gateway's start-up line says of where it counts ("" for whatever the default is)
	// open returns the gateway's DATABASE_URL and the database/sql driver
	// and source that read the same database.
	open func(t *testing.T) (dbURL, driver, source string)
}

// TestFaultCrashMidLoad kills the gateway (SIGKILL) in the middle of
// concurrent chats of users with a small quota, on each store and way of
// counting, restarts it on the same database and checks what README
// "Quota counting" promises: the database lost at most the grants of
// the last write interval (known answers minus those completed within
// crashWindow of the kill <= quota_usage <= min(limit, what may have been
// granted)); with Redis, Redis kept them all, so the limit holds that day;
// request_log holds no row twice and only whole rows; the restart is clean
// and the users go on chatting.
func TestFaultCrashMidLoad(t *testing.T) {
	t.Parallel()
	postgres := func(t *testing.T) (string, string, string) {
		u := pgtest.NewURL(t)
		return u, "pgx", u
	}
	for _, e := range []crashEngine{
		{name: "postgres leases", leases: true, mode: "quotas are counted from leases", open: postgres},
		{name: "postgres statement", env: vars{"QUOTA_COUNTING": "database"}, mode: "quotas are counted in the database", open: postgres},
		{name: "postgres+redis", redis: true, mode: "quotas are counted in redis", open: postgres},
		{name: "sqlite", mode: "quotas are counted in process", open: func(t *testing.T) (string, string, string) {
			path := filepath.Join(t.TempDir(), "genzai.db")
			return "sqlite:///" + path, "sqlite", "file:" + path + "?_pragma=busy_timeout(5000)"
		}},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			testCrashMidLoad(t, e)
		})
	}
}

func testCrashMidLoad(t *testing.T, e crashEngine) {
	const limit = 24
	// Clients per user: the first reaches the limit well before the kill,
	// the others are still chatting when it comes.
	workers := []int{4, 2, 1, 1}
	users := len(workers)
	groq := fakeupstream.New(t)
	// About half a second per answer: requests are in flight at any time.
	groq.Default(fakeupstream.OK(fakeupstream.Tokens(10)...).WithInterval(50 * time.Millisecond))
	dbURL, driver, source := e.open(t)
	v := serverVars(dbURL).with(vars{
		"USER_DAILY_QUOTA": strconv.Itoa(limit),
		"GROQ_BASE_URL":    groq.URL(),
		// A key of its own: cooldowns and budgets in Redis are per key.
		"GROQ_API_KEYS":                   "gsk-crash-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"GROQ_RPM_PER_KEY":                "0",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	})
	v = v.with(e.env)
	var ids []string // the users', for the Redis keys to remove
	if e.redis {
		v = v.with(vars{"REDIS_URL": redistest.NewURL(t)})
		// Redis is shared and never flushed: the counts of this test's
		// users go when it ends (after both servers).
		opts, err := redis.ParseURL(v["REDIS_URL"])
		require.NoError(t, err)
		rdb := redis.NewClient(opts)
		t.Cleanup(func() {
			defer rdb.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, id := range ids {
				keys, err := rdb.Keys(ctx, "genzai:quota:*:"+id).Result()
				if err == nil && len(keys) > 0 {
					err = rdb.Del(ctx, keys...).Err()
				}
				assert.NoError(t, err, "remove the quota keys of %s", id)
			}
		})
	}
	s := startServer(t, "", v)
	mode := quotaMode(s.process)
	t.Logf("counting: %s", mode)
	assert.True(t, strings.HasPrefix(mode, e.mode), "the gateway counts as this case means to test: %q", mode)

	emails := make([]string, users)
	tokens := make([]string, users)
	for u := range users {
		emails[u] = fmt.Sprintf("crash%d@example.com", u)
		ids = append(ids, s.register(t, emails[u], "correct horse").ID)
		tokens[u] = s.login(t, emails[u], "correct horse").AccessToken
	}

	var mu sync.Mutex
	var streaming atomic.Int32 // answers being streamed now
	fates := make([]crashFate, users)
	var unexpected []string
	client := &http.Client{Timeout: 30 * time.Second}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for u := range users {
		for range workers[u] {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					began := false
					c, status, events, err := chatOnce(client, s.url, tokens[u], func() {
						began = true
						streaming.Add(1)
					})
					if began {
						streaming.Add(-1)
					}
					mu.Lock()
					f := &fates[u]
					switch {
					case status == http.StatusOK && err == nil && len(events) > 0 && events[len(events)-1].name == "done":
						f.done = append(f.done, crashAnswer{requestID: c.requestID, at: time.Now()})
					case status == http.StatusOK:
						f.cut++
					case status == 0 && errors.Is(err, syscall.ECONNREFUSED):
						f.refused++
					case status == 0:
						f.unknown++
					case c.key() == "429 quota_exceeded":
						f.exceeded++
					default:
						unexpected = append(unexpected, fmt.Sprintf("%s %v", c.key(), err))
					}
					mu.Unlock()
					if status != http.StatusOK || err != nil {
						return // over quota, or the server is gone
					}
				}
			})
		}
	}
	// Kill once a user has reached the limit, answers are being streamed
	// (and so counted for sure), and the load has run long enough for
	// answers older than crashWindow to exist: those must have been
	// written.
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for {
		mu.Lock()
		exceeded := false
		for _, f := range fates {
			exceeded = exceeded || f.exceeded > 0
		}
		mu.Unlock()
		if exceeded && streaming.Load() >= 2 && time.Since(start) >= 2*crashWindow {
			break
		}
		require.True(t, time.Now().Before(deadline), "no moment to kill within 20 s: a user over the limit %v, %d streams", exceeded, streaming.Load())
		time.Sleep(10 * time.Millisecond)
	}
	kill := time.Now()
	require.NoError(t, s.cmd.Process.Kill())
	s.wait(t)
	close(stop)
	wg.Wait()
	require.Empty(t, unexpected, "answers other than success, quota exceeded or a cut connection")
	inFlight := 0
	for u, f := range fates {
		inFlight += f.cut + f.unknown
		t.Logf("user %d saw: %s", u, f.summary(kill))
	}
	require.Positive(t, inFlight, "the kill caught requests in flight")

	// What the crash left in the database, before anything starts again.
	db, err := sql.Open(driver, source)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	used, outOfRange := quotaUsage(t, db, limit)
	assert.Empty(t, outOfRange, "no quota row outside 0..limit")
	logged := requestLog(t, db)

	written := 0 // grants the lower bound says must be in the database
	for u, f := range fates {
		known, mustHave := f.known(), f.known()-f.mayBeLost(kill)
		written += mustHave
		assert.GreaterOrEqual(t, used[emails[u]], mustHave,
			"user %d: every grant answered more than %s before the kill is in quota_usage: %s", u, crashWindow, f.summary(kill))
		assert.LessOrEqual(t, used[emails[u]], min(limit, known+f.unknown),
			"user %d: quota_usage counts no more than may have been granted, and never past the limit: %s", u, f.summary(kill))
	}
	assert.Positive(t, written, "some answers were old enough at the kill for the lower bound to bite")
	checkCrashLog(t, logged, emails, fates, kill, limit)

	// The restart applies nothing, takes the migration lock and is ready.
	require.NoError(t, db.Close())
	s2 := startServer(t, "", v)
	assert.False(t, hasRecord(s2.process, "applied migrations"), "no migration was left half applied")
	status, checks := readyChecks(t, s2)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ok", checks["database"])
	if e.redis {
		assert.Equal(t, "ok", checks["redis"])
	}
	if driver == "pgx" {
		db, err = sql.Open(driver, source)
		require.NoError(t, err)
		var locks int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks))
		assert.Zero(t, locks, "no advisory lock is left behind")
		require.NoError(t, db.Close())
	}

	for u, f := range fates {
		q := decode[quotaBody](t, s2.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tokens[u])...))
		if e.redis {
			// Redis kept counting: every request answered before the kill
			// is counted, so the limit holds that day.
			assert.GreaterOrEqual(t, q.Used, f.known(), "user %d: Redis kept every grant: %s", u, f.summary(kill))
			assert.LessOrEqual(t, q.Used, min(limit, f.known()+f.unknown), "user %d: %s", u, f.summary(kill))
			if f.exceeded > 0 {
				assert.Equal(t, limit, q.Used, "user %d was refused: Redis had reached the limit and still has: %s", u, f.summary(kill))
			}
		} else {
			assert.Equal(t, used[emails[u]], q.Used, "user %d: the restarted gateway counts on from quota_usage", u)
		}

		// The users go on chatting, and are counted.
		c, status, events, err := chatOnce(client, s2.url, tokens[u], nil)
		// With leases, the dead instance's lease holds its unused units
		// until it expires (quotacount.DefaultLeaseTTL, 10 s): until then
		// a user below the limit may be refused.
		for retry := time.Now().Add(quotacount.DefaultLeaseTTL + 5*time.Second); e.leases && q.Used < limit &&
			c.key() == "429 quota_exceeded" && time.Now().Before(retry); {
			time.Sleep(250 * time.Millisecond)
			c, status, events, err = chatOnce(client, s2.url, tokens[u], nil)
		}
		if q.Used < limit {
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, status)
			require.NotEmpty(t, events)
			assert.Equal(t, "done", events[len(events)-1].name, "user %d chats on", u)
			after := decode[quotaBody](t, s2.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tokens[u])...))
			assert.Equal(t, q.Used+1, after.Used, "user %d", u)
		} else {
			assert.Equal(t, "429 quota_exceeded", c.key(), "user %d is at the limit", u)
		}
	}
}

// quotaMode is the start-up line that says where p counts quotas.
func quotaMode(p *process) string {
	for _, m := range messages(p.records()) {
		if strings.HasPrefix(m, "quotas are counted") {
			return m
		}
	}
	return ""
}

// quotaUsage reads quota_usage: each user's count (summed over days, in
// case the test crosses midnight), and the rows outside 0..limit.
func quotaUsage(t *testing.T, db *sql.DB, limit int) (used map[string]int, outOfRange []string) {
	t.Helper()
	rows, err := db.Query(`SELECT u.email, q.used FROM quota_usage q JOIN users u ON u.id = q.user_id`)
	require.NoError(t, err)
	defer rows.Close()
	used = map[string]int{}
	for rows.Next() {
		var email string
		var n int
		require.NoError(t, rows.Scan(&email, &n))
		used[email] += n
		if n < 0 || n > limit {
			outOfRange = append(outOfRange, fmt.Sprintf("%s: %d", email, n))
		}
	}
	require.NoError(t, rows.Err())
	return used, outOfRange
}

// loggedRequest is one row of request_log.
type loggedRequest struct {
	requestID, email, tier, outcome, provider, errorCode string
	firstToken                                           bool // ttft_ms is set
	latencyMS                                            int
}

func requestLog(t *testing.T, db *sql.DB) []loggedRequest {
	t.Helper()
	rows, err := db.Query(`SELECT coalesce(r.request_id, ''), u.email, r.tier, r.outcome,
		coalesce(r.provider, ''), coalesce(r.error_code, ''), r.ttft_ms IS NOT NULL, r.latency_ms
		FROM request_log r JOIN users u ON u.id = r.user_id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []loggedRequest
	for rows.Next() {
		var r loggedRequest
		require.NoError(t, rows.Scan(&r.requestID, &r.email, &r.tier, &r.outcome, &r.provider, &r.errorCode, &r.firstToken, &r.latencyMS))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// checkCrashLog holds request_log after the kill to its write-behind
// promise: no row twice, every row whole, no more rows of an outcome than
// the clients can account for, and every answer completed more than
// crashWindow before the kill logged.
func checkCrashLog(t *testing.T, logged []loggedRequest, emails []string, fates []crashFate, kill time.Time, limit int) {
	t.Helper()
	times := map[string]int{}
	outcomes := map[string]map[string]int{} // email -> outcome -> rows
	for _, r := range logged {
		times[r.requestID]++
		if outcomes[r.email] == nil {
			outcomes[r.email] = map[string]int{}
		}
		outcomes[r.email][r.outcome]++
		assert.NotEmpty(t, r.requestID, "%+v", r)
		assert.Equal(t, "fast", r.tier, "%+v", r)
		assert.GreaterOrEqual(t, r.latencyMS, 0, "%+v", r)
		switch r.outcome {
		case "success":
			assert.Equal(t, "groq", r.provider, "a whole success row: %+v", r)
			assert.True(t, r.firstToken, "a whole success row: %+v", r)
			assert.Empty(t, r.errorCode, "%+v", r)
		case "quota_exceeded":
			assert.Equal(t, "quota_exceeded", r.errorCode, "a whole refusal row: %+v", r)
			assert.Empty(t, r.provider, "%+v", r)
		default:
			assert.Fail(t, "an outcome no client saw", "%+v", r)
		}
	}
	for id, n := range times {
		assert.Equal(t, 1, n, "request %q is logged once", id)
	}
	for u, f := range fates {
		got := outcomes[emails[u]]
		// A success row is written after the answer's last token, so its
		// client saw the answer begin, unless the kill came first.
		assert.LessOrEqual(t, got["success"], min(limit, f.known()+f.unknown), "user %d: %s", u, f.summary(kill))
		assert.LessOrEqual(t, got["quota_exceeded"], f.exceeded+f.unknown, "user %d: %s", u, f.summary(kill))
		for _, a := range f.done {
			if a.at.Before(kill.Add(-crashWindow)) {
				assert.Equal(t, 1, times[a.requestID], "user %d: request %q answered %s before the kill is logged", u, a.requestID, kill.Sub(a.at))
			}
		}
	}
}
