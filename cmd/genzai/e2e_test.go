package main

// End-to-end tests of the real binary: each test builds nothing itself, runs
// the genzai executable (built once, with a stamped version) in a fresh
// working directory with an explicit environment, and talks to it over HTTP
// like any client would. Databases come from pgtest, so these tests skip or
// fail exactly like the other database tests when no PostgreSQL is available.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to inspect SQLite files

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/smtpmail/smtptest"
)

const (
	// testVersion is stamped into the binary under test.
	testVersion = "v9.9.9-test"
	// testSecret is a JWT secret long enough for production (40 characters).
	testSecret = "e2e-jwt-secret-0123456789-abcdefghijklmn"
	// startTimeout bounds how long a server may take to log msg=listening.
	startTimeout = 20 * time.Second
	// exitTimeout bounds how long a process may take to exit once asked.
	exitTimeout = 20 * time.Second
)

// binary is the genzai executable under test, built once per test run.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// genzaiBinary builds the binary on first use (the test runs in cmd/genzai,
// so "." is the command) and returns its path.
func genzaiBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "genzai-e2e-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "genzai")
		build := exec.Command("go", "build", "-o", binary.path, "-ldflags", "-X main.version="+testVersion, ".")
		if out, err := build.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, binary.err, "build the genzai binary")
	return binary.path
}

// vars are the variables of a genzai process beyond PATH and HOME.
type vars map[string]string

// with returns a copy of v with kv added or replaced.
func (v vars) with(kv vars) vars {
	out := maps.Clone(v)
	if out == nil {
		out = vars{}
	}
	maps.Copy(out, kv)
	return out
}

// serverVars configures a development server on dbURL with a small pool.
func serverVars(dbURL string) vars {
	return vars{
		"ENV":                        "development",
		"DATABASE_URL":               dbURL,
		"JWT_SECRET":                 testSecret,
		"DATABASE_POOL_SIZE":         "2",
		"DATABASE_POOL_MAX_OVERFLOW": "2",
		"LOG_LEVEL":                  "INFO",
		"RATE_LIMIT_PER_MINUTE":      "1000000",
		"AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
		// Scale-out and crash tests send hundreds of one user's requests at
		// once; the per-user bound has its own tests (app).
		"MAX_CONCURRENT_REQUESTS_PER_USER": "0",
	}
}

// environ is the whole environment of a process: nothing leaks in from the
// test's own environment but PATH, and HOME is the working directory so that
// no ~/.pgpass or ~/.pg_service.conf is read.
func environ(dir string, v vars) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	v = explicitDefaults(v)
	for _, k := range slices.Sorted(maps.Keys(v)) {
		env = append(env, k+"="+v[k])
	}
	return env
}

// explicitDefaults adds what start-up requires to be said out loud, unless
// the test says it itself (an empty value stands for unset): in
// development, AUTH_ALLOW_EMAIL_LOGIN (the tests' servers run on PostgreSQL
// and log in by email alone); elsewhere, a METRICS_TOKEN.
func explicitDefaults(v vars) vars {
	switch env := strings.ToLower(strings.TrimSpace(v["ENV"])); {
	case env == "" || env == "development":
		if _, ok := v["AUTH_ALLOW_EMAIL_LOGIN"]; !ok {
			return v.with(vars{"AUTH_ALLOW_EMAIL_LOGIN": "true"})
		}
	default:
		_, token := v["METRICS_TOKEN"]
		_, addr := v["METRICS_ADDR"]
		if !token && !addr {
			return v.with(vars{"METRICS_TOKEN": "e2e-metrics-token-0123456789"})
		}
	}
	return v
}

// process is a running genzai with its output captured.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and its output is read

	mu       sync.Mutex
	stdout   strings.Builder
	stderr   []string      // stderr, line by line
	changed  chan struct{} // closed and replaced whenever a line arrives or the process exits
	exitCode int
	exitedAt time.Time
}

// stdoutWriter collects a process's stdout under its lock.
type stdoutWriter process

func (w *stdoutWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stdout.Write(b)
}

// startProcess runs genzai with args in dir (a fresh directory when "") and
// exactly the environment v. The process is killed when t ends if it still
// runs, and its output is logged if t failed.
func startProcess(t *testing.T, dir string, v vars, args ...string) *process {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(genzaiBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = environ(dir, v)
	p := &process{cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	cmd.Stdout = (*stdoutWriter)(p)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go p.read(stderr)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of genzai %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

// read collects stderr line by line until EOF, then reaps the process (Wait
// closes the pipe, so it must come after the last read).
func (p *process) read(stderr io.Reader) {
	br := bufio.NewReader(stderr)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			p.mu.Lock()
			p.stderr = append(p.stderr, strings.TrimRight(line, "\r\n"))
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	_ = p.cmd.Wait()
	p.mu.Lock()
	p.exitCode = p.cmd.ProcessState.ExitCode()
	p.exitedAt = time.Now()
	close(p.done)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

func (p *process) stdoutText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *process) stderrLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.stderr)
}

func (p *process) stderrText() string {
	var b strings.Builder
	for _, l := range p.stderrLines() {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// output is everything the process wrote, for failure messages and leak checks.
func (p *process) output() string {
	return "--- stdout\n" + p.stdoutText() + "--- stderr\n" + p.stderrText()
}

// records parses every stderr line that is a log record.
func (p *process) records() []logRecord {
	var recs []logRecord
	for _, l := range p.stderrLines() {
		if r, ok := parseLogLine(l); ok {
			recs = append(recs, r)
		}
	}
	return recs
}

// waitRecord waits for a log record that satisfies match. It gives up when
// the process exits without writing one or when timeout passes.
func (p *process) waitRecord(timeout time.Duration, match func(logRecord) bool) (logRecord, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		lines := slices.Clone(p.stderr[seen:])
		seen = len(p.stderr)
		changed := p.changed
		p.mu.Unlock()
		exited := false
		select {
		case <-p.done:
			exited = true
		default:
		}
		for _, l := range lines {
			if r, ok := parseLogLine(l); ok && match(r) {
				return r, true
			}
		}
		if exited {
			// Lines read before done was closed are all in p.stderr.
			p.mu.Lock()
			rest := slices.Clone(p.stderr[seen:])
			p.mu.Unlock()
			for _, l := range rest {
				if r, ok := parseLogLine(l); ok && match(r) {
					return r, true
				}
			}
			return nil, false
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, false
		}
	}
}

// waitListening returns the address from the msg=listening record.
func (p *process) waitListening(t *testing.T) string {
	t.Helper()
	rec, ok := p.waitRecord(startTimeout, func(r logRecord) bool { return r["msg"] == "listening" && r["addr"] != "" })
	if !ok {
		require.FailNow(t, "genzai never logged msg=listening", "within %s; output:\n%s", startTimeout, p.output())
	}
	return rec["addr"]
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		require.FailNow(t, "genzai did not exit", "within %s; output:\n%s", exitTimeout, p.output())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitCode
}

// terminate sends SIGTERM and waits for the exit; it returns the exit code
// and the time from the signal to the exit.
func (p *process) terminate(t *testing.T) (code int, took time.Duration) {
	t.Helper()
	sent := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code = p.wait(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	return code, p.exitedAt.Sub(sent)
}

// runGenzai runs a command to completion.
func runGenzai(t *testing.T, dir string, v vars, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := startProcess(t, dir, v, args...)
	code = p.wait(t)
	return p.stdoutText(), p.stderrText(), code
}

// runWithStdin runs the binary to completion with stdin as its standard input.
func runWithStdin(t *testing.T, dir string, v vars, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(genzaiBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = environ(dir, v)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errOut.String(), 0
}

// logRecord is one log line: its keys and values as text.
type logRecord map[string]string

// parseLogLine reads a line of slog's JSON handler (production) or text
// handler (development, key=value with Go-quoted values). Lines that are
// neither, or have no msg, are not records.
func parseLogLine(line string) (logRecord, bool) {
	if strings.HasPrefix(line, "{") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, false
		}
		rec := logRecord{}
		for k, v := range raw {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				rec[k] = s
			} else {
				rec[k] = string(v)
			}
		}
		return rec, rec["msg"] != ""
	}
	rec := logRecord{}
	for s := strings.TrimSpace(line); s != ""; s = strings.TrimLeft(s, " ") {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, ` "`) {
			return nil, false
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, false
			}
			v, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		rec[k] = v
		s = rest
	}
	return rec, rec["msg"] != ""
}

// messages lists the msg of every record, in order.
func messages(recs []logRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r["msg"])
	}
	return out
}

// server is a running `genzai serve` on 127.0.0.1 and a random port.
type server struct {
	*process
	url string
}

var serveArgs = []string{"serve", "--host", "127.0.0.1", "--port", "0"}

// startServer starts `genzai serve` in dir ("" for a fresh one) and waits
// until it listens.
func startServer(t *testing.T, dir string, v vars, extraArgs ...string) *server {
	t.Helper()
	p := startProcess(t, dir, v, append(slices.Clone(serveArgs), extraArgs...)...)
	return &server{process: p, url: "http://" + p.waitListening(t)}
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; a non-empty body is sent as application/json, and
// header holds key, value pairs that override the defaults.
func (s *server) do(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// jsonBody encodes v for a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "body: %s", r.body)
	return v
}

// jsonKeys lists the top-level keys of a JSON object body, so that a test
// notices fields that should not be there (a password hash, say).
func jsonKeys(t *testing.T, r response) []string {
	t.Helper()
	return slices.Collect(maps.Keys(decode[map[string]json.RawMessage](t, r)))
}

type userBody struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	IsAdmin bool   `json:"is_admin"`
}

type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

type quotaBody struct {
	Used         int    `json:"used"`
	Limit        int    `json:"limit"`
	Remaining    int    `json:"remaining"`
	ResetsAt     string `json:"resets_at"`
	ResetTimeUTC string `json:"reset_time_utc"`
}

type errorBody struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// assertError checks the error contract: status, JSON body with the code,
// a message, and the request id of the X-Request-ID header.
func assertError(t *testing.T, r response, status int, code string) errorBody {
	t.Helper()
	assert.Equal(t, status, r.status, "body: %s", r.body)
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	assert.Equal(t, "application/json", mt)
	e := decode[errorBody](t, r)
	assert.Equal(t, code, e.Code, "body: %s", r.body)
	assert.NotEmpty(t, e.Error)
	assert.NotEmpty(t, e.RequestID)
	assert.Equal(t, r.header.Get("X-Request-ID"), e.RequestID, "request_id matches the X-Request-ID header")
	return e
}

// withMail points the server's mail at an SMTP server of the test.
func withMail(t *testing.T, v vars) (vars, *smtptest.Server) {
	t.Helper()
	smtp := smtptest.Start(t)
	return v.with(vars{"SMTP_URL": smtp.URL(""), "SMTP_FROM": "noreply@example.com", "PUBLIC_URL": "https://chat.example.com"}), smtp
}

// verify follows the verification link of the n-th mail (1-based) and
// returns the account.
func (s *server) verify(t *testing.T, smtp *smtptest.Server, n int, newPassword string) userBody {
	t.Helper()
	body := map[string]string{"token": smtp.WaitFor(t, n)[n-1].Token(t, "/verify-email")}
	if newPassword != "" {
		// An ADMIN_EMAILS address is confirmed with the owner's password.
		body["new_password"] = newPassword
	}
	r := s.do(t, http.MethodPost, "/api/v1/auth/verify", jsonBody(t, body))
	require.Equal(t, http.StatusOK, r.status, "verify: %s", r.body)
	return decode[userBody](t, r)
}

func (s *server) register(t *testing.T, email, password string) userBody {
	t.Helper()
	r := s.do(t, http.MethodPost, "/api/v1/auth/register", jsonBody(t, map[string]string{"email": email, "password": password}))
	require.Equal(t, http.StatusCreated, r.status, "register %s: %s", email, r.body)
	return decode[userBody](t, r)
}

func (s *server) login(t *testing.T, email, password string) tokenBody {
	t.Helper()
	r := s.do(t, http.MethodPost, "/api/v1/auth/login", jsonBody(t, map[string]string{"email": email, "password": password}))
	require.Equal(t, http.StatusOK, r.status, "login %s: %s", email, r.body)
	return decode[tokenBody](t, r)
}

// nextUTCMidnight is the quota reset after now.
func nextUTCMidnight(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// emptyDatabaseURL returns the URL of a database without any migration on
// the test server, dropped when t ends; with create false the database does
// not exist yet. pgtest decides where that server is (TEST_DATABASE_URL or a
// container) and whether its absence skips or fails the test; the migrated
// database it makes is only used to reach the server.
func emptyDatabaseURL(t *testing.T, create bool) string {
	t.Helper()
	admin := pgtest.NewURL(t)
	name := "genzai_e2e_" + strings.ToLower(rand.Text()[:16])
	ident := pgx.Identifier{name}.Sanitize()
	run := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	if create {
		require.NoError(t, run("CREATE DATABASE "+ident))
	}
	t.Cleanup(func() { assert.NoError(t, run("DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")) })
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// withPassword returns dbURL with password in its user info (the test
// server trusts local connections, so any password connects).
func withPassword(t *testing.T, dbURL, password string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// TestServeAPIFlow walks the README's curl session against the real binary.
func TestServeAPIFlow(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{"ADMIN_EMAILS": "boss@example.com"}))

	const adaBody = `{"email":" Ada@Example.com ","password":"correct horse"}`
	t.Run("register normalises the email", func(t *testing.T) {
		r := s.do(t, http.MethodPost, "/api/v1/auth/register", adaBody)
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"id", "email", "is_admin", "email_verified"}, jsonKeys(t, r))
		u := decode[userBody](t, r)
		assert.Equal(t, "ada@example.com", u.Email)
		assert.False(t, u.IsAdmin)
		_, err := uuid.Parse(u.ID)
		assert.NoError(t, err, "id %q is a UUID", u.ID)
	})

	t.Run("registering the same email again conflicts", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			body   string
			header []string
			wantID string
		}{
			{name: "same request", body: adaBody},
			{name: "other case, other password", body: `{"email":"ADA@EXAMPLE.COM","password":"another password"}`},
			{name: "client request id is kept as the correlation id", body: adaBody, header: []string{"X-Request-ID", "e2e-req-0001"}, wantID: "e2e-req-0001"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do(t, http.MethodPost, "/api/v1/auth/register", tc.body, tc.header...)
				e := assertError(t, r, http.StatusConflict, "conflict")
				if tc.wantID != "" {
					assert.Equal(t, tc.wantID, r.header.Get("X-Correlation-ID"))
					assert.NotEqual(t, tc.wantID, e.RequestID, "the request id is the server's own")
					assert.Equal(t, r.header.Get("X-Request-ID"), e.RequestID)
				}
			})
		}
	})

	t.Run("register rejects bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			body       string
			header     []string
			wantStatus int
			wantCode   string
		}{
			{"short password", `{"email":"bob@example.com","password":"short"}`, nil, http.StatusBadRequest, "invalid_request"},
			{"invalid email", `{"email":"not-an-email","password":"correct horse"}`, nil, http.StatusBadRequest, "invalid_request"},
			{"truncated JSON", `{"email":`, nil, http.StatusBadRequest, "invalid_request"},
			{"not JSON", `email=bob@example.com`, []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do(t, http.MethodPost, "/api/v1/auth/register", tc.body, tc.header...)
				assertError(t, r, tc.wantStatus, tc.wantCode)
			})
		}
	})

	var token string
	t.Run("login returns a bearer token", func(t *testing.T) {
		r := s.do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"access_token", "token_type", "expires_in"}, jsonKeys(t, r))
		tok := decode[tokenBody](t, r)
		assert.Equal(t, "bearer", tok.TokenType)
		assert.Equal(t, 86400, tok.ExpiresIn)
		assert.Len(t, strings.Split(tok.AccessToken, "."), 3, "a JWT has three parts: %q", tok.AccessToken)
		token = tok.AccessToken
	})
	require.NotEmpty(t, token, "the rest of the flow needs a token")

	t.Run("login with wrong credentials", func(t *testing.T) {
		var msgs []string
		for _, tc := range []struct{ name, body string }{
			{"wrong password", `{"email":"ada@example.com","password":"wrong horse"}`},
			{"unknown email", `{"email":"nobody@example.com","password":"correct horse"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do(t, http.MethodPost, "/api/v1/auth/login", tc.body)
				msgs = append(msgs, assertError(t, r, http.StatusUnauthorized, "unauthorized").Error)
			})
		}
		assert.Len(t, slices.Compact(msgs), 1, "both failures read the same: %q", msgs)
	})

	t.Run("quota of a new user", func(t *testing.T) {
		before := nextUTCMidnight(time.Now())
		r := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(token)...)
		after := nextUTCMidnight(time.Now())
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"used", "limit", "remaining", "resets_at", "reset_time_utc"}, jsonKeys(t, r))
		q := decode[quotaBody](t, r)
		assert.Equal(t, 0, q.Used)
		assert.Equal(t, 50, q.Limit)
		assert.Equal(t, 50, q.Remaining)
		assert.Equal(t, "00:00 UTC", q.ResetTimeUTC)
		// The request may straddle midnight: either side's next midnight is right.
		assert.Contains(t, []string{before.Format(time.RFC3339), after.Format(time.RFC3339)}, q.ResetsAt)
	})

	t.Run("quota needs a valid bearer token", func(t *testing.T) {
		parts := strings.Split(token, ".")
		// The first character carries six signature bits (the last one
		// may carry only padding bits).
		sig := []byte(parts[2])
		if sig[0] == 'A' {
			sig[0] = 'B'
		} else {
			sig[0] = 'A'
		}
		tampered := parts[0] + "." + parts[1] + "." + string(sig)
		for _, tc := range []struct {
			name          string
			authorization string
			wantChallenge string
		}{
			{"no header", "", "Bearer"},
			{"basic scheme", "Basic YWRhOmNvcnJlY3QgaG9yc2U=", "Bearer"},
			{"empty token", "Bearer ", "Bearer"},
			{"not a JWT", "Bearer not-a-jwt", `Bearer error="invalid_token"`},
			{"tampered signature", "Bearer " + tampered, `Bearer error="invalid_token"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var header []string
				if tc.authorization != "" {
					header = []string{"Authorization", tc.authorization}
				}
				r := s.do(t, http.MethodGet, "/api/v1/quota", "", header...)
				assertError(t, r, http.StatusUnauthorized, "unauthorized")
				assert.Equal(t, tc.wantChallenge, r.header.Get("WWW-Authenticate"))
			})
		}
	})

	t.Run("health", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/health", "")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.JSONEq(t, `{"status":"healthy","version":"`+testVersion+`","service":"GenZ AI Backend"}`, string(r.body))
	})

	t.Run("ready", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/ready", "")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.JSONEq(t, `{"ready":true,"environment":"development","checks":{"database":"ok"}}`, string(r.body))
	})

	t.Run("an ADMIN_EMAILS address does not register as admin", func(t *testing.T) {
		// Without SMTP nobody can prove the address: the list promotes nobody.
		boss := s.register(t, "Boss@Example.com", "boss password")
		assert.Equal(t, "boss@example.com", boss.Email)
		assert.False(t, boss.IsAdmin)
		assert.False(t, s.login(t, "boss@example.com", "boss password").AccessToken == "")
		assert.Contains(t, s.stderrText(), "ADMIN_EMAILS promotes nobody")
	})
}

// TestServeNeverLogsSecrets runs the flow at DEBUG level with recognisable
// secrets and searches everything the process wrote for them.
func TestServeNeverLogsSecrets(t *testing.T) {
	t.Parallel()
	const (
		jwtSecret     = "leak-canary-jwt-secret-7f3a9c2e5b8d1f4a6" // 40 characters
		dbPassword    = "s3cr3t-pw"
		userPassword  = "leak-canary-user-password"
		wrongPassword = "leak-canary-wrong-password"
	)
	require.Len(t, jwtSecret, 40)

	t.Run("serving", func(t *testing.T) {
		t.Parallel()
		for _, env := range []string{"development", "production"} {
			t.Run(env, func(t *testing.T) {
				t.Parallel()
				dbURL := withPassword(t, pgtest.NewURL(t), dbPassword)
				s := startServer(t, "", serverVars(dbURL).with(vars{"ENV": env, "JWT_SECRET": jwtSecret, "LOG_LEVEL": "DEBUG"}))

				s.register(t, "ada@example.com", userPassword)
				tok := s.login(t, "ada@example.com", userPassword)
				r := s.do(t, http.MethodPost, "/api/v1/auth/login", jsonBody(t, map[string]string{"email": "ada@example.com", "password": wrongPassword}))
				assertError(t, r, http.StatusUnauthorized, "unauthorized")
				r = s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tok.AccessToken)...)
				assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				r = s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(tok.AccessToken+"x")...)
				assertError(t, r, http.StatusUnauthorized, "unauthorized")
				code, _ := s.terminate(t)
				require.Equal(t, 0, code)

				// The configuration was logged (so DEBUG was on), with the
				// database URL redacted rather than left out.
				var cfgDB string
				for _, rec := range s.records() {
					if rec["msg"] != "configuration" {
						continue
					}
					cfgDB = rec["config.database"]           // text handler
					if group := rec["config"]; group != "" { // JSON handler: a nested object
						var c struct{ Database string }
						require.NoError(t, json.Unmarshal([]byte(group), &c))
						cfgDB = c.Database
					}
				}
				assert.Contains(t, cfgDB, "xxxxx", "the DEBUG configuration record shows the database URL redacted")

				out := s.output()
				parts := strings.Split(tok.AccessToken, ".")
				require.Len(t, parts, 3)
				for name, secret := range map[string]string{
					"JWT_SECRET":           jwtSecret,
					"database password":    dbPassword,
					"user password":        userPassword,
					"wrong password":       wrongPassword,
					"access token":         tok.AccessToken,
					"access token payload": parts[1],
					"access token sig":     parts[2],
				} {
					assert.NotContains(t, out, secret, "the %s appears in the output", name)
				}
			})
		}
	})

	t.Run("database unreachable", func(t *testing.T) {
		t.Parallel()
		for _, env := range []string{"development", "production"} {
			t.Run(env, func(t *testing.T) {
				t.Parallel()
				// Port 1 refuses connections: the server fails at start.
				dbURL := "postgres://postgres:" + dbPassword + "@127.0.0.1:1/genzai?sslmode=disable"
				// One second of waiting for it: the retries log the database redacted too.
				stdout, stderr, code := runGenzai(t, "", serverVars(dbURL).with(vars{"ENV": env, "JWT_SECRET": jwtSecret, "LOG_LEVEL": "DEBUG", "DATABASE_WAIT_SECONDS": "1"}), serveArgs...)
				assert.Equal(t, 1, code)
				assert.Contains(t, stderr, "postgres://postgres:xxxxx@127.0.0.1:1/genzai", "the error names the database, redacted")
				assert.NotContains(t, stdout+stderr, dbPassword)
				assert.NotContains(t, stdout+stderr, jwtSecret)
			})
		}
	})
}

// TestServeGracefulShutdown sends SIGTERM to a server with and without a
// request in flight.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	const body = `{"email":"ada@example.com","password":"correct horse"}`
	for _, tc := range []struct {
		name            string
		timeoutSeconds  int
		inFlight        bool // a register request is being read when the signal arrives
		sendBody        bool // the client finishes the request after shutdown began
		wantCode        int
		wantStopped     bool
		wantTookAtLeast time.Duration
	}{
		{name: "idle", timeoutSeconds: 10, wantCode: 0, wantStopped: true},
		{name: "in-flight request finishes", timeoutSeconds: 10, inFlight: true, sendBody: true, wantCode: 0, wantStopped: true},
		// A client that never finishes its request is cut off at
		// SHUTDOWN_TIMEOUT_SECONDS and the exit reports the failed shutdown.
		{name: "stuck request is cut off at the timeout", timeoutSeconds: 1, inFlight: true, wantCode: 1, wantTookAtLeast: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timeout := time.Duration(tc.timeoutSeconds) * time.Second
			s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{"SHUTDOWN_TIMEOUT_SECONDS": strconv.Itoa(tc.timeoutSeconds)}))
			addr := strings.TrimPrefix(s.url, "http://")

			// An idle keep-alive connection must not hold up the shutdown.
			r := s.do(t, http.MethodGet, "/health", "")
			require.Equal(t, http.StatusOK, r.status)

			var conn net.Conn
			var br *bufio.Reader
			if tc.inFlight {
				var err error
				conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
				require.NoError(t, err)
				defer conn.Close()
				require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
				_, err = fmt.Fprintf(conn, "POST /api/v1/auth/register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
				require.NoError(t, err)
				// The server answers 100 Continue when the handler starts
				// reading the body: from then on the request is in flight.
				br = bufio.NewReader(conn)
				res, err := http.ReadResponse(br, nil)
				require.NoError(t, err)
				require.Equal(t, http.StatusContinue, res.StatusCode)
			}

			sent := time.Now()
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
			_, ok := s.waitRecord(exitTimeout, func(r logRecord) bool { return r["msg"] == "shutting down" })
			require.True(t, ok, "genzai logged msg=\"shutting down\"")
			if tc.sendBody {
				// Shutdown closes the listener before it waits for requests:
				// once connections are refused, the request is provably
				// in flight during the shutdown.
				waitRefused(t, addr)
				_, err := io.WriteString(conn, body)
				require.NoError(t, err)
				res, err := http.ReadResponse(br, nil)
				require.NoError(t, err, "the in-flight request gets its answer")
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				assert.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", b)
			}
			code := s.wait(t)
			s.mu.Lock()
			took := s.exitedAt.Sub(sent)
			s.mu.Unlock()

			assert.Equal(t, tc.wantCode, code)
			assert.Less(t, took, timeout+5*time.Second, "exit within the shutdown timeout")
			if tc.wantCode == 0 {
				assert.Less(t, took, timeout, "exit within the shutdown timeout")
			}
			assert.GreaterOrEqual(t, took, tc.wantTookAtLeast)
			msgs := messages(s.records())
			down := slices.Index(msgs, "shutting down")
			stopped := slices.Index(msgs, "stopped")
			assert.GreaterOrEqual(t, down, 0, "logs shutting down: %q", msgs)
			if tc.wantStopped {
				assert.Greater(t, stopped, down, "logs stopped after shutting down: %q", msgs)
			} else {
				assert.Equal(t, -1, stopped, "a cut-off shutdown does not claim it stopped cleanly: %q", msgs)
				assert.Contains(t, s.stderrText(), "shutdown:")
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if !assert.Error(t, err, "nothing listens after the exit") {
				_ = c.Close()
			}
		})
	}
}

// waitRefused waits until nothing accepts connections on addr.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(exitTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			require.FailNow(t, "the listener was never closed", "%s still accepts connections", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeProductionJSONLogs checks production logging: JSON on every line
// and one access record per request.
func TestServeProductionJSONLogs(t *testing.T) {
	t.Parallel()
	v := serverVars(pgtest.NewURL(t)).with(vars{"ENV": "production"})
	s := startServer(t, "", v)

	type sent struct {
		requestID, method, route string
		status                   int
	}
	var requests []sent
	call := func(method, path, route, body string, wantStatus int, header ...string) response {
		t.Helper()
		r := s.do(t, method, path, body, header...)
		assert.Equal(t, wantStatus, r.status, "%s %s: %s", method, path, r.body)
		id := r.header.Get("X-Request-ID")
		assert.NotEmpty(t, id)
		requests = append(requests, sent{requestID: id, method: method, route: route, status: r.status})
		return r
	}

	call(http.MethodGet, "/health", "/health", "", http.StatusOK)
	r := call(http.MethodGet, "/ready", "/ready", "", http.StatusOK)
	assert.JSONEq(t, `{"ready":true,"environment":"production","checks":{"database":"ok"}}`, string(r.body))
	call(http.MethodPost, "/api/v1/auth/register", "/api/v1/auth/register", `{"email":"x@example.com","password":"correct horse"}`, http.StatusCreated)
	r = call(http.MethodPost, "/api/v1/auth/login", "/api/v1/auth/login", `{"email":"x@example.com"}`, http.StatusBadRequest)
	e := assertError(t, r, http.StatusBadRequest, "invalid_request")
	assert.Contains(t, e.Error, "password", "email-only login is off in production")
	r = call(http.MethodPost, "/api/v1/auth/login", "/api/v1/auth/login", `{"email":"x@example.com","password":"correct horse"}`, http.StatusOK)
	tok := decode[tokenBody](t, r)
	call(http.MethodGet, "/api/v1/quota", "/api/v1/quota", "", http.StatusOK, bearer(tok.AccessToken)...)
	call(http.MethodGet, "/api/v1/quota", "/api/v1/quota", "", http.StatusUnauthorized)

	// The access record is written after the answer: wait for the exit.
	code, _ := s.terminate(t)
	require.Equal(t, 0, code)
	assert.Empty(t, s.stdoutText())

	access := map[string][]map[string]any{}
	lines := s.stderrLines()
	require.NotEmpty(t, lines)
	for _, l := range lines {
		var rec map[string]any
		if !assert.NoError(t, json.Unmarshal([]byte(l), &rec), "log line is a JSON object: %s", l) {
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			assert.Contains(t, rec, k, "log line: %s", l)
		}
		if rec["msg"] == "request" {
			id, _ := rec["request_id"].(string)
			access[id] = append(access[id], rec)
		}
	}
	assert.Len(t, access, len(requests), "one access record per request")
	for _, req := range requests {
		recs := access[req.requestID]
		if !assert.Len(t, recs, 1, "access records of %s %s (%s)", req.method, req.route, req.requestID) {
			continue
		}
		rec := recs[0]
		assert.Equal(t, req.method, rec["method"])
		assert.Equal(t, req.route, rec["route"])
		assert.Equal(t, float64(req.status), rec["status"])
		d, ok := rec["duration_ms"].(float64)
		assert.True(t, ok && d >= 0, "duration_ms is a non-negative number: %v", rec["duration_ms"])
	}
}

// TestServeInvalidConfiguration checks that a bad environment stops the
// server before it starts, with one line per problem and no secret.
func TestServeInvalidConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		env          vars
		args         []string
		wantProblems []string // variables named, one line each
		wantStderr   string
		mustNotPrint []string
	}{
		{
			name:         "production with everything wrong",
			env:          vars{"ENV": "production", "JWT_SECRET": "short", "JWT_ALGORITHM": "RS256", "PORT": "abc"},
			wantProblems: []string{"DATABASE_URL", "JWT_SECRET", "JWT_ALGORITHM", "PORT"},
			mustNotPrint: []string{"short"},
		},
		{
			name:         "unknown environment is held to production rules",
			env:          vars{"ENV": "staging", "DATABASE_URL": "postgres://db.example.com:5432/genzai"},
			wantProblems: []string{"ENV", "JWT_SECRET"},
		},
		{
			name:         "email-only login cannot be enabled in production",
			env:          vars{"ENV": "production", "DATABASE_URL": "postgres://db.example.com:5432/genzai", "JWT_SECRET": testSecret, "AUTH_ALLOW_EMAIL_LOGIN": "true"},
			wantProblems: []string{"AUTH_ALLOW_EMAIL_LOGIN"},
			mustNotPrint: []string{testSecret},
		},
		{
			name:         "database URL with a password and a wrong scheme",
			env:          vars{"DATABASE_URL": "mysql://root:hunter2-pw@db.example.com:3306/genzai"},
			wantProblems: []string{"DATABASE_URL"},
			mustNotPrint: []string{"hunter2-pw"},
		},
		{
			name:         "unparseable database URL with a password",
			env:          vars{"DATABASE_URL": "postgres://root:hunter2-pw@db.example.com:5432/genzai%zz"},
			wantProblems: []string{"DATABASE_URL"},
			mustNotPrint: []string{"hunter2-pw"},
		},
		{
			name: "values out of range in development",
			env: vars{
				"LOG_LEVEL": "verbose", "DATABASE_POOL_SIZE": "0", "USER_DAILY_QUOTA": "-1",
				"SHUTDOWN_TIMEOUT_SECONDS": "soon", "ADMIN_EMAILS": "boss@example.com, not-an-email",
			},
			wantProblems: []string{"LOG_LEVEL", "DATABASE_POOL_SIZE", "USER_DAILY_QUOTA", "SHUTDOWN_TIMEOUT_SECONDS", "ADMIN_EMAILS"},
		},
		{
			// Issue 19: ENV forgotten on a real deployment would serve
			// passwordless login; one line says what to do.
			name: "development on PostgreSQL with real keys, email-only login not asked for",
			env: vars{"DATABASE_URL": "postgres://genzai:hunter2-pw@db.example.com:5432/genzai", "GROQ_API_KEYS": "gsk_live_0123456789",
				"AUTH_ALLOW_EMAIL_LOGIN": ""},
			wantProblems: []string{"ENV"},
			wantStderr:   "set ENV=production, or AUTH_ALLOW_EMAIL_LOGIN=true to keep passwordless development login on purpose",
			mustNotPrint: []string{"hunter2-pw", "gsk_live_0123456789"},
		},
		{
			name:         "production without a metrics token or a metrics listener",
			env:          vars{"ENV": "production", "DATABASE_URL": "postgres://db.example.com:5432/genzai", "JWT_SECRET": testSecret, "METRICS_TOKEN": ""},
			wantProblems: []string{"METRICS_TOKEN"},
			wantStderr:   "set METRICS_ADDR",
		},
		{
			name:       "port flag out of range",
			env:        vars{},
			args:       []string{"--port", "70000"},
			wantStderr: "--port 70000 is not a port number",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runGenzai(t, "", tc.env, append([]string{"serve"}, tc.args...)...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			assert.NotContains(t, stderr, "listening")
			if tc.wantStderr != "" {
				assert.Contains(t, stderr, tc.wantStderr)
			}
			if tc.wantProblems != nil {
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				require.NotEmpty(t, lines)
				assert.Equal(t, "genzai: invalid configuration:", lines[0])
				var named []string
				for _, l := range lines[1:] {
					name, _, ok := strings.Cut(strings.TrimPrefix(l, "  "), ":")
					assert.True(t, ok && strings.HasPrefix(l, "  "), "problem line %q", l)
					named = append(named, name)
				}
				assert.ElementsMatch(t, tc.wantProblems, named, "stderr:\n%s", stderr)
			}
			for _, s := range tc.mustNotPrint {
				assert.NotContains(t, stderr, s)
			}
		})
	}
}

// TestMigrateCommand drives `genzai migrate` up, down and up again on an
// empty database and checks both its output and the schema it leaves.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name string
		// open returns a fresh empty database's URL and a function that
		// reports whether a table ("table") or a column ("table.column")
		// exists in it.
		open func(t *testing.T) (string, func(t *testing.T, object string) bool)
		// only are the migrations of this engine alone, with what each
		// creates.
		only map[string]string
	}{
		{"postgresql", func(t *testing.T) (string, func(*testing.T, string) bool) {
			dbURL := emptyDatabaseURL(t, true)
			return dbURL, func(t *testing.T, object string) bool {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				conn, err := pgx.Connect(ctx, dbURL)
				require.NoError(t, err)
				defer conn.Close(ctx)
				var exists bool
				if table, column, ok := strings.Cut(object, "."); ok {
					require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns
						WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)`, table, column).Scan(&exists))
				} else {
					require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", object).Scan(&exists))
				}
				return exists
			}
		}, map[string]string{"00011": "quota_leases"}},
		{"sqlite", func(t *testing.T) (string, func(*testing.T, string) bool) {
			path := filepath.Join(t.TempDir(), "db", "genzai.db")
			return "sqlite:///" + path, func(t *testing.T, object string) bool {
				db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
				require.NoError(t, err)
				defer db.Close()
				var n int
				if table, column, ok := strings.Cut(object, "."); ok {
					require.NoError(t, db.QueryRow("SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", table, column).Scan(&n))
				} else {
					require.NoError(t, db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", object).Scan(&n))
				}
				return n == 1
			}
		}, nil},
	} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			dbURL, exists := engine.open(t)
			testMigrateCommand(t, dbURL, exists, engine.only)
		})
	}
}

// testMigrateCommand walks `genzai migrate` up, down and up again on an
// empty database, checking its output and the schema after each step;
// only are the engine's own migrations, after the shared ones.
func testMigrateCommand(t *testing.T, dbURL string, exists func(t *testing.T, object string) bool, only map[string]string) {
	env := vars{"ENV": "development", "DATABASE_URL": dbURL, "LOG_LEVEL": "INFO"}
	dir := t.TempDir()
	// objects are a table ("table") or a column ("table.column") each
	// migration creates.
	objects := map[string]string{
		"00001": "users", "00002": "quota_usage", "00003": "request_log", "00004": "provider_checks", "00005": "feedback", "00006": "api_keys",
		"00007": "request_log.api", "00008": "users.tokens_valid_after", "00009": "users.email_key", "00010": "audit_log",
		"00012": "messages", "00013": "request_log.cache", "00014": "request_log.kind",
	}
	maps.Copy(objects, only)
	all := slices.Sorted(maps.Keys(objects))
	last := all[len(all)-1]
	var appliedAll strings.Builder
	for _, v := range all {
		appliedAll.WriteString("applied " + v + "\n")
	}
	for _, step := range []struct {
		args       []string
		wantStdout string // exact; "" for status, whose table is parsed
		applied    []string
	}{
		{args: []string{"status"}, applied: nil},
		{args: []string{"up"}, wantStdout: appliedAll.String(), applied: all},
		{args: []string{"status"}, applied: all},
		{args: []string{"down"}, wantStdout: "rolled back " + last + "\n", applied: all[:len(all)-1]},
		{args: []string{"status"}, applied: all[:len(all)-1]},
		{args: []string{"up"}, wantStdout: "applied " + last + "\n", applied: all},
		{args: []string{"up"}, wantStdout: "no pending migrations\n", applied: all},
	} {
		ok := t.Run(strings.Join(step.args, " "), func(t *testing.T) {
			stdout, stderr, code := runGenzai(t, dir, env, append([]string{"migrate"}, step.args...)...)
			require.Equal(t, 0, code, "stderr: %s", stderr)
			assert.Empty(t, stderr)
			if step.wantStdout != "" {
				assert.Equal(t, step.wantStdout, stdout)
			} else {
				want := map[string]string{}
				for v := range objects {
					want[v] = "pending"
					if slices.Contains(step.applied, v) {
						want[v] = "applied"
					}
				}
				assert.Equal(t, want, migrationStates(t, stdout))
			}

			for v, object := range objects {
				assert.Equal(t, slices.Contains(step.applied, v), exists(t, object), "%s exists", object)
			}
		})
		if !ok {
			break // later steps depend on this one
		}
	}
}

// migrationStates parses `migrate status`: version -> applied or pending.
func migrationStates(t *testing.T, stdout string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	require.NotEmpty(t, lines)
	assert.Equal(t, []string{"VERSION", "NAME", "STATE", "APPLIED", "AT"}, strings.Fields(lines[0]))
	states := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 3, "status line %q", l)
		assert.True(t, strings.HasPrefix(f[1], f[0]+"_"), "name %q starts with version %q", f[1], f[0])
		switch f[2] {
		case "applied":
			require.Len(t, f, 5, "an applied migration shows when: %q", l)
			at, err := time.Parse("2006-01-02 15:04:05Z", f[3]+" "+f[4])
			assert.NoError(t, err)
			assert.WithinDuration(t, time.Now(), at, time.Hour, "applied at")
		case "pending":
			assert.Len(t, f, 3, "a pending migration shows no time: %q", l)
		}
		states[f[0]] = f[2]
	}
	return states
}

// TestServeInstancesStartTogether starts several servers on one database at
// once: each migration is applied once, all become ready and share users and
// tokens.
func TestServeInstancesStartTogether(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		create bool
	}{
		{name: "empty database", create: true},
		{
			name: "missing database created by the first to start",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbURL := emptyDatabaseURL(t, tc.create)
			env := serverVars(dbURL)

			const instances = 3
			procs := make([]*process, instances)
			for i := range procs {
				procs[i] = startProcess(t, "", env, serveArgs...)
			}
			servers := make([]*server, instances)
			for i, p := range procs {
				servers[i] = &server{process: p, url: "http://" + p.waitListening(t)}
			}
			for i, s := range servers {
				r := s.do(t, http.MethodGet, "/ready", "")
				assert.Equal(t, http.StatusOK, r.status, "instance %d: %s", i, r.body)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dbURL)
			require.NoError(t, err)
			defer conn.Close(ctx)
			rows, err := conn.Query(ctx, "SELECT version_id, count(*) FROM goose_db_version WHERE version_id > 0 GROUP BY version_id")
			require.NoError(t, err)
			counts := map[int64]int64{}
			for rows.Next() {
				var v, n int64
				require.NoError(t, rows.Scan(&v, &n))
				counts[v] = n
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, map[int64]int64{1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1, 11: 1, 12: 1, 13: 1, 14: 1}, counts, "one goose_db_version row per migration")

			var applied []string
			for _, s := range servers {
				for _, rec := range s.records() {
					if rec["msg"] == "applied migrations" {
						applied = append(applied, rec["versions"])
					}
				}
			}
			assert.Equal(t, []string{"[1 2 3 4 5 6 7 8 9 10 11 12 13 14]"}, applied, "exactly one instance applied the migrations")

			servers[0].register(t, "ada@example.com", "correct horse")
			tok := servers[1].login(t, "ada@example.com", "correct horse")
			r := servers[2].do(t, http.MethodGet, "/api/v1/quota", "", bearer(tok.AccessToken)...)
			require.Equal(t, http.StatusOK, r.status, "a token from one instance works on another: %s", r.body)
			q := decode[quotaBody](t, r)
			assert.Equal(t, 0, q.Used)
			assert.Equal(t, 50, q.Remaining)
		})
	}
}

// TestVersionCommand checks the stamped version; version reads no
// configuration, so a broken one does not matter.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  vars
	}{
		{"empty environment", vars{}},
		{"invalid configuration", vars{"ENV": "production", "PORT": "abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runGenzai(t, "", tc.env, "version")
			assert.Equal(t, 0, code)
			assert.Equal(t, testVersion+"\n", stdout)
			assert.Empty(t, stderr)
		})
	}
}

// TestEnvFile checks that serve reads .env (or --env-file) under the real
// environment, using the token lifetime as the observable value.
func TestEnvFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		files         map[string]string // name -> contents, in the working directory
		env           vars
		args          []string
		wantExpiresIn int
	}{
		{name: "no env file", wantExpiresIn: 86400},
		{name: "environment only", env: vars{"JWT_EXPIRATION_HOURS": "2"}, wantExpiresIn: 7200},
		{name: ".env in the working directory", files: map[string]string{".env": "JWT_EXPIRATION_HOURS=3\n"}, wantExpiresIn: 10800},
		{
			name:  "environment wins over .env",
			files: map[string]string{".env": "JWT_EXPIRATION_HOURS=3\n"}, env: vars{"JWT_EXPIRATION_HOURS": "5"},
			wantExpiresIn: 18000,
		},
		{
			name:  "--env-file names another file",
			files: map[string]string{".env": "JWT_EXPIRATION_HOURS=3\n", "custom.env": "# comment\nexport JWT_EXPIRATION_HOURS=4\n"},
			args:  []string{"--env-file", "custom.env"}, wantExpiresIn: 14400,
		},
		{
			name:  "variable set empty in the environment wins over .env",
			files: map[string]string{".env": "JWT_EXPIRATION_HOURS=3\n"}, env: vars{"JWT_EXPIRATION_HOURS": ""},
			wantExpiresIn: 86400,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, contents := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(contents), 0o600))
			}
			s := startServer(t, dir, serverVars(pgtest.NewURL(t)).with(tc.env), tc.args...)
			s.register(t, "ada@example.com", "correct horse")
			tok := s.login(t, "ada@example.com", "correct horse")
			assert.Equal(t, tc.wantExpiresIn, tok.ExpiresIn)
		})
	}

	t.Run("a named env file that is missing", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runGenzai(t, "", vars{}, "serve", "--env-file", "missing.env")
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "missing.env")
		assert.NotContains(t, stderr, "listening")
	})
}
