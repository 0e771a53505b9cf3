package app_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/app"
)

// mibHash costs 1 MiB a hash, so that a memory budget in MiB bounds it.
var mibHash = argon2id.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// inContainer pretends the gateway runs under a cgroup v2 memory limit.
func inContainer(limitMiB int) argon2id.MemorySources {
	return argon2id.MemorySources{
		ReadFile: func(name string) ([]byte, error) {
			if name == "/sys/fs/cgroup/memory.max" {
				return fmt.Appendf(nil, "%d\n", limitMiB<<20), nil
			}
			return nil, os.ErrNotExist
		},
		GoMemLimit: func() int64 { return 1<<63 - 1 },
	}
}

// hashGate is a key derivation that tells how many run at once, and holds
// those whose password starts with "hold" until released.
type hashGate struct {
	running, peak atomic.Int32
	held          chan struct{}
	release       chan struct{}
}

func newHashGate() *hashGate {
	return &hashGate{held: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *hashGate) kdf(password, salt []byte, iterations, memoryKiB uint32, parallelism uint8, keyLen uint32) []byte {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	if strings.HasPrefix(string(password), "hold") {
		g.held <- struct{}{}
		<-g.release
	} else {
		time.Sleep(20 * time.Millisecond) // long enough for logins to pile up
	}
	return argon2.IDKey(password, salt, iterations, memoryKiB, parallelism, keyLen)
}

// TestAttackLoginBurstStaysInMemoryBudget replays the burst of
// concurrent logins inside a container whose memory limit leaves room for
// one hash: never more than one runs at once, however many CPUs the
// runtime has (without the memory bound, GOMAXPROCS would run at once).
func TestAttackLoginBurstStaysInMemoryBudget(t *testing.T) {
	t.Parallel()
	gate := newHashGate()
	// 4 MiB limit: a quarter, 1 MiB, is one 1 MiB hash.
	// No per-account guard: the burst stands in for guesses at many accounts.
	e := newEnvWith(t, map[string]string{"LOGIN_MAX_FAILURES": "0"}, app.Options{PasswordParams: &mibHash, MemorySources: inContainer(4), PasswordKDF: gate.kdf})
	const bound = 1
	require.Greater(t, runtime.GOMAXPROCS(0), bound, "the test shows the memory bound only with more CPUs than hashes")
	assert.Contains(t, e.logs.String(), fmt.Sprintf(`"concurrent_hashes":%d`, bound))
	assert.Contains(t, e.logs.String(), `"budget_from":"a quarter of the cgroup v2 limit"`)
	e.register("ada@example.com", pw)

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": fmt.Sprintf("guess %d", i)}, nil).status
		})
	}
	wg.Wait()
	assert.Equal(t, int32(bound), gate.peak.Load(), "hashes running at once: the budget's, never more")
	for i, c := range codes {
		assert.Equal(t, http.StatusUnauthorized, c, "login %d: every guess was checked, none waited past the slot wait", i)
	}
}

// TestAttackHashingQueueAnswers503 fills every hashing slot with slow
// hashes: a login and a registration are refused after the short wait with
// 503 and Retry-After, instead of queueing until the request times out, and
// a legitimate login works once the burst is over.
func TestAttackHashingQueueAnswers503(t *testing.T) {
	t.Parallel()
	gate := newHashGate()
	e := newEnvWith(t, map[string]string{"PASSWORD_HASH_MEMORY_MIB": "1", "PASSWORD_HASH_WAIT_MS": "300"},
		app.Options{PasswordParams: &mibHash, PasswordKDF: gate.kdf})
	assert.Contains(t, e.logs.String(), `"concurrent_hashes":1`)
	assert.Contains(t, e.logs.String(), `"budget_from":"PASSWORD_HASH_MEMORY_MIB"`)
	e.register("ada@example.com", pw)

	burst := make(chan int, 1)
	go func() {
		burst <- e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "hold the slot"}, nil).status
	}()
	<-gate.held

	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": pw}},
		{"/api/v1/auth/register", map[string]any{"email": "bob@example.com", "password": pw}},
	} {
		began := time.Now()
		res := e.do(http.MethodPost, tc.path, tc.body, nil)
		took := time.Since(began)
		assertErrorAnswer(t, res, http.StatusServiceUnavailable, "unavailable", "Too many sign-ins at once; try again shortly")
		assert.Equal(t, "1", res.header.Get("Retry-After"), tc.path)
		assert.EqualValues(t, 1, res.json(t)["retry_after"], tc.path)
		assert.Less(t, took, 3*time.Second, "%s: refused after the wait, not the 30 s request timeout", tc.path)
	}

	close(gate.release)
	assert.Equal(t, http.StatusUnauthorized, <-burst)
	e.login("ada@example.com", pw)
	e.register("bob@example.com", pw)
}

// TestAttackBruteForceOneAccountFromManyAddresses guesses one account's
// password from five addresses behind a trusted proxy, concurrently: the
// per-address limits never trigger, the per-account guard does, after
// exactly LOGIN_MAX_FAILURES attempts, for everyone (its owner included);
// with Redis, across two instances.
func TestAttackBruteForceOneAccountFromManyAddresses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		shared bool
	}{{"one instance", false}, {"two instances sharing redis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "LOGIN_MAX_FAILURES": "5", "AUTH_RATE_LIMIT_PER_MINUTE": "20"}
			instances := []*env{newEnv(t, vars)}
			if tc.shared {
				vars["DATABASE_URL"], vars["REDIS_URL"] = pgtest.NewURL(t), redistest.NewURL(t)
				instances = []*env{newEnv(t, vars), newEnv(t, vars)}
			}
			// Redis outlives the test: an email of its own.
			email := "victim-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
			instances[0].register(email, pw)
			addresses := []string{randomClientIP(), randomClientIP(), randomClientIP(), randomClientIP(), randomClientIP()}

			var wg sync.WaitGroup
			var unauthorized, limited atomic.Int32
			for i := range 20 {
				wg.Go(func() {
					res := instances[i%len(instances)].do(http.MethodPost, "/api/v1/auth/login",
						map[string]any{"email": email, "password": fmt.Sprintf("guess %d", i)},
						map[string]string{"X-Forwarded-For": addresses[i%len(addresses)]})
					switch res.status {
					case http.StatusUnauthorized:
						unauthorized.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1)
						assert.Equal(t, "rate_limited", res.json(t)["code"])
						assert.Regexp(t, `^Too many failed logins for this account; try again in 1 s$`, res.json(t)["error"])
						assert.Equal(t, "1", res.header.Get("Retry-After"))
					default:
						t.Errorf("status %d: %s", res.status, res.body)
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int32(5), unauthorized.Load(), "exactly the account's budget was checked")
			assert.Equal(t, int32(15), limited.Load())

			for _, e := range instances {
				res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": email, "password": pw},
					map[string]string{"X-Forwarded-For": randomClientIP()})
				assertErrorAnswer(t, res, http.StatusTooManyRequests, "rate_limited", "")
				assert.Contains(t, res.json(t)["error"], "Too many failed logins for this account", "the owner, from a fresh address, too")
			}
			// Another account is not affected.
			instances[0].register("other-"+email, pw)
			instances[len(instances)-1].login("other-"+email, pw)
		})
	}
}

// TestAttackRateLimitIPv6Slash64 rotates addresses within one IPv6 /64
// (every host gets 2^64 of them): they share one budget. Another /64 has
// its own, and an IPv4-mapped address counts as the IPv4 one.
func TestAttackRateLimitIPv6Slash64(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1/32"})
	from := func(xff string) int {
		return e.do(http.MethodGet, "/api/v1/status", nil, map[string]string{"X-Forwarded-For": xff}).status
	}
	assert.Equal(t, 200, from("2001:db8:1:2::1"))
	assert.Equal(t, 200, from("2001:db8:1:2:aaaa::2"))
	for _, xff := range []string{"2001:db8:1:2::3", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:DB8:1:2::1"} {
		assert.Equal(t, 429, from(xff), "%s is in the spent /64", xff)
	}
	assert.Equal(t, 200, from("2001:db8:1:3::1"), "the next /64 is another client")

	assert.Equal(t, 200, from("203.0.113.7"))
	assert.Equal(t, 200, from("::ffff:203.0.113.7"))
	assert.Equal(t, 429, from("203.0.113.7"), "IPv4-mapped IPv6 shares the IPv4 budget")
	assert.Equal(t, 200, from("203.0.113.8"), "IPv4 neighbours are separate clients")
}
