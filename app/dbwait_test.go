package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/app"
)

// requireRealPostgres skips a test that needs a PostgreSQL server to put a
// proxy in front of.
func requireRealPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" && !pgtest.Required() {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}
}

// freeAddr returns a local address on which nothing listens: connections
// to it are refused.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// withHost is dbURL pointing at addr instead of its server.
func withHost(t *testing.T, dbURL, addr string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = addr
	return u.String()
}

// delayedProxy starts listening on addr after delay (until then the
// address refuses connections, as a database container that is still
// starting does) and forwards every connection to upstream. Everything it
// started ends with the test.
func delayedProxy(t *testing.T, addr, upstream string, delay time.Duration) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ln    net.Listener
		conns []net.Conn
		done  bool
	)
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			_ = c.Close()
			return false
		}
		conns = append(conns, c)
		return true
	}
	timer := time.AfterFunc(delay, func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("proxy listen: %v", err)
			return
		}
		mu.Lock()
		ln = l
		if done {
			_ = l.Close()
		}
		mu.Unlock()
		wg.Go(func() {
			for {
				client, err := l.Accept()
				if err != nil {
					return
				}
				server, err := net.Dial("tcp", upstream)
				if err != nil {
					_ = client.Close()
					continue
				}
				if !track(client) || !track(server) {
					_ = client.Close()
					_ = server.Close()
					continue
				}
				pipe := func(dst, src net.Conn) {
					_, _ = io.Copy(dst, src)
					_ = dst.Close()
					_ = src.Close()
				}
				wg.Go(func() { pipe(server, client) })
				wg.Go(func() { pipe(client, server) })
			}
		})
	})
	t.Cleanup(func() {
		timer.Stop()
		mu.Lock()
		done = true
		if ln != nil {
			_ = ln.Close()
		}
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// waitConfig loads a configuration on dbURL that waits up to wait for the
// database.
func waitConfig(t *testing.T, dbURL, wait string) app.Config {
	t.Helper()
	vars := map[string]string{
		"DATABASE_URL":          dbURL,
		"DATABASE_POOL_SIZE":    "1",
		"DATABASE_WAIT_SECONDS": wait,
		"JWT_SECRET":            "component-test-secret-0123456789abcdef",
	}
	explicitDefaults(vars)
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	require.NoError(t, err)
	return cfg
}

// TestNewWaitsForStartingDatabase starts the gateway while its PostgreSQL
// still refuses connections: it retries with backoff, warns once per retry
// without the password, and starts once the database answers.
func TestNewWaitsForStartingDatabase(t *testing.T) {
	t.Parallel()
	requireRealPostgres(t)
	dbURL := pgtest.NewURL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	addr := freeAddr(t)
	delayedProxy(t, addr, u.Host, 1500*time.Millisecond)
	cfg := waitConfig(t, withHost(t, dbURL, addr), "20")

	logs := &lockedBuffer{}
	start := time.Now()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), app.Options{PasswordParams: &cheapHash})
	require.NoError(t, err, "the gateway starts once the database answers")
	t.Cleanup(a.Close)
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "it waited for the database")

	out := logs.String()
	assert.Contains(t, out, `"msg":"database not reachable yet, retrying"`)
	assert.Contains(t, out, `"attempt":1,`)
	assert.Contains(t, out, `"attempt":3,`, "one warning per retry")
	assert.Contains(t, out, `"retry_in":"100ms"`)
	assert.Contains(t, out, `"retry_in":"400ms"`, "the delay doubles")
	if pw, ok := u.User.Password(); ok && pw != "" {
		assert.NotContains(t, out, pw)
	}
}

// TestNewGivesUpWaitingForDatabase bounds the wait: with nothing ever
// listening, start-up fails with a clear error once DATABASE_WAIT_SECONDS
// has passed, and at once when the wait is 0.
func TestNewGivesUpWaitingForDatabase(t *testing.T) {
	t.Parallel()
	dbURL := withHost(t, "postgres://postgres:s3cret-pw@127.0.0.1:5432/genzai?sslmode=disable", freeAddr(t))
	for _, tc := range []struct {
		wait         string
		atLeast, max time.Duration
		wantMsg      string
	}{
		{wait: "1", atLeast: time.Second, max: 5 * time.Second, wantMsg: "gave up waiting 1s for the database"},
		{wait: "0", max: time.Second},
	} {
		t.Run("wait="+tc.wait, func(t *testing.T) {
			t.Parallel()
			logs := &lockedBuffer{}
			start := time.Now()
			_, err := app.New(context.Background(), waitConfig(t, dbURL, tc.wait), slog.New(slog.NewJSONHandler(logs, nil)), app.Options{})
			took := time.Since(start)
			require.Error(t, err)
			assert.GreaterOrEqual(t, took, tc.atLeast)
			assert.Less(t, took, tc.max, "the bound is honoured")
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.NotContains(t, err.Error()+logs.String(), "s3cret-pw")
			if tc.wait == "0" {
				assert.NotContains(t, logs.String(), "retrying", "no wait: no retry")
			}
		})
	}
}

// TestNewDoesNotWaitForMisconfiguredDatabase fails at once when the server
// answers but refuses what it is asked (here a database that does not
// exist): waiting would not change the answer.
func TestNewDoesNotWaitForMisconfiguredDatabase(t *testing.T) {
	t.Parallel()
	requireRealPostgres(t)
	u, err := url.Parse(pgtest.NewURL(t))
	require.NoError(t, err)
	u.Path = "/genzai_missing_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	vars := map[string]string{
		"ENV":                   app.EnvProduction,
		"DATABASE_URL":          u.String(),
		"DATABASE_WAIT_SECONDS": "20",
		"JWT_SECRET":            strings.Repeat("s", 64),
	}
	explicitDefaults(vars)
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	require.NoError(t, err)
	logs := &lockedBuffer{}
	start := time.Now()
	_, err = app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), app.Options{})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "no wait for a database that does not exist")
	assert.NotContains(t, logs.String(), "retrying")
}

// TestLoadConfigDatabaseWait reads DATABASE_WAIT_SECONDS: 30 s by default
// in every environment, 0 to fail at once, anything else outside 0–3600 a
// configuration problem.
func TestLoadConfigDatabaseWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, value string
		want       time.Duration
		problem    bool
	}{
		{env: app.EnvDevelopment, want: 30 * time.Second},
		{env: app.EnvProduction, want: 30 * time.Second},
		{env: app.EnvProduction, value: "0", want: 0},
		{env: app.EnvProduction, value: "120", want: 2 * time.Minute},
		{env: app.EnvProduction, value: "-1", problem: true},
		{env: app.EnvProduction, value: "3601", problem: true},
		{env: app.EnvProduction, value: "soon", problem: true},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"ENV": tc.env}
			if tc.env == app.EnvProduction {
				vars = prod(nil)
			}
			if tc.value != "" {
				vars["DATABASE_WAIT_SECONDS"] = tc.value
			}
			cfg, err := app.LoadConfig(getenv(vars))
			if tc.problem {
				assert.Equal(t, []string{"DATABASE_WAIT_SECONDS"}, problemVars(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.DatabaseWait)
		})
	}
}

// TestNewReleasesWhatItOpenedOnFailure fails a step after the database,
// the limits and the request log are open (the mailer refuses its sender):
// New unwinds them (the package's goroutine leak check sees any pool or
// writer left running), and the same database then serves a gateway that
// starts.
func TestNewReleasesWhatItOpenedOnFailure(t *testing.T) {
	t.Parallel()
	requireRealPostgres(t)
	dbURL := pgtest.NewURL(t)
	vars := map[string]string{
		"DATABASE_URL":       dbURL,
		"DATABASE_POOL_SIZE": "1",
		"JWT_SECRET":         "component-test-secret-0123456789abcdef",
		"REDIS_URL":          os.Getenv("TEST_REDIS_URL"),
		"SMTP_URL":           "smtp://127.0.0.1:1",
		"SMTP_FROM":          "noreply@example.com",
		"PUBLIC_URL":         "https://chat.example.com",
	}
	explicitDefaults(vars)
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	require.NoError(t, err)
	broken := cfg
	broken.Mail.From = "not an address"
	logs := &lockedBuffer{}
	_, err = app.New(context.Background(), broken, slog.New(slog.NewJSONHandler(logs, nil)), app.Options{PasswordParams: &cheapHash})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "build mailer")

	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), app.Options{PasswordParams: &cheapHash})
	require.NoError(t, err)
	a.Close()
	a.Close() // a second Close does nothing
}
