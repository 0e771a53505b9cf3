package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/gateway"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/load"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/procstat"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/report"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/seed"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/sysinfo"
)

// Target names.
const (
	directName  = "direct"
	gatewayName = "gateway"
	// gatewayOneName is the gateway with every request from one user: one
	// busy account, which must not serialise on its own rows.
	gatewayOneName = "gateway, 1 user"
	// gatewayKeyName is the OpenAI-compatible route with one personal API
	// key: a backend calling with its key, as /v1 invites.
	gatewayKeyName = "gateway /v1, 1 key"
)

// baselineName is the older gateway of --baseline-bin, under the load of
// gatewayName.
const baselineName = "baseline"

// gatewayNames are the gateway's targets, in the order they run.
var gatewayNames = []string{gatewayName, gatewayOneName, gatewayKeyName}

// prompt is what every request asks.
const prompt = "Say hello in one short sentence."

// sourceAddrCount is how many loopback addresses load is sent from.
const sourceAddrCount = 16

// harness runs the scenarios; its fields are set up by setUp.
type harness struct {
	o       *options
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	repo    string
	outDir  string
	workDir string
	stamp   string

	mock     *mock.Server
	mockHTTP *mock.HTTPServer
	mockTLS  *mock.HTTPServer

	// mockRoots trusts the TLS mock's certificate.
	mockRoots *x509.CertPool

	gw        *gateway.Process
	gwURL     string
	proc      *procstat.Source
	runID     string
	dbName    string
	dbURL     string
	userCount int
	// tokens are the access tokens of the active users; scaleTokens of the
	// scale scenario's users (a superset).
	tokens      []string
	scaleTokens []string
	// apiKey is a personal API key of the first active user.
	apiKey  string
	sources []net.IP
	// base is the gateway of --baseline-bin; nil without one.
	base *baseline
	// cached is the gateway with the response cache on, while the cached
	// scenario runs; nil otherwise.
	cached *cachedGateway

	result *report.Run
	// undo runs at tear-down, last added first.
	undo []func()
}

// baseline is an older gateway measured beside the current one: its own
// process and database, the same users (same ids, so the same tokens) and
// the same environment.
type baseline struct {
	gw     *gateway.Process
	proc   *procstat.Source
	dbName string
	dbURL  string
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// setUp prepares everything the scenarios need: limits, the mock, the
// database, the gateway and the users' tokens.
func (h *harness) setUp(ctx context.Context) error {
	o := h.o
	h.stamp = time.Now().UTC().Format("2006-01-02T150405Z")
	if o.quick {
		h.stamp += "-quick"
	}
	h.runID = strings.ToLower(strings.NewReplacer("-", "", "T", "").Replace(h.stamp))
	if repo, err := gateway.ModuleRoot("."); err == nil {
		h.repo = repo
	}
	h.outDir = o.out
	if h.outDir == "" {
		if h.repo == "" {
			return errors.New("not inside the repository: pass --out")
		}
		h.outDir = filepath.Join(h.repo, "bench", "results")
	}
	if err := os.MkdirAll(h.outDir, 0o755); err != nil {
		return fmt.Errorf("create results directory: %w", err)
	}
	work, err := os.MkdirTemp("", "genzai-bench-"+h.stamp+"-")
	if err != nil {
		return fmt.Errorf("create work directory: %w", err)
	}
	h.workDir = work
	h.result = &report.Run{Started: time.Now(), Quick: o.quick, Command: "genzai-bench " + strings.Join(o.args, " ")}
	h.result.Settings.GOMAXPROCS = runtime.GOMAXPROCS(0)

	if err := h.systemSettings(); err != nil {
		return err
	}

	h.mock = mock.New(mock.Profile{Tokens: 10})
	if h.mockHTTP, err = mock.Start(h.mock, o.mockAddr, false); err != nil {
		return fmt.Errorf("start mock: %w", err)
	}
	h.undo = append(h.undo, func() { _ = h.mockHTTP.Close() })
	h.logf("mock upstream at %s/v1", h.mockHTTP.URL)
	if h.mockTLS, err = mock.Start(h.mock, "127.0.0.1:0", true); err != nil {
		return fmt.Errorf("start TLS mock: %w", err)
	}
	h.undo = append(h.undo, func() { _ = h.mockTLS.Close() })
	h.mockRoots = x509.NewCertPool()
	h.mockRoots.AppendCertsFromPEM(h.mockTLS.CertPEM)

	if o.gatewayURL != "" {
		err = h.useGateway(ctx)
	} else {
		err = h.startGateway(ctx)
	}
	if err != nil {
		return err
	}
	if h.o.baselineBin != "" {
		if err := h.startBaseline(ctx); err != nil {
			return err
		}
	}
	if err := h.seedUsers(ctx); err != nil {
		return err
	}
	return h.createAPIKey(ctx)
}

// createAPIKey has the first active user create a personal API key through
// the gateway's own route, as a user would.
func (h *harness) createAPIKey(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.gwURL+"/api/v1/keys", strings.NewReader(`{"name":"genzai-bench"}`))
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.tokens[0])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	var created struct {
		Key string `json:"key"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.Key == "" {
		return fmt.Errorf("create api key: %s: %s", res.Status, body)
	}
	h.apiKey = created.Key
	return nil
}

// systemSettings raises the open-files limit and checks the local port
// range against the streams scenario's needs, widening it when it can.
func (h *harness) systemSettings() error {
	o, s := h.o, &h.result.Settings
	streams := slices.Contains(o.scenarios, "streams")
	// Per stream over HTTP/1.1 the harness holds the client connection and
	// the mock's side of the gateway's connection, and the gateway both of
	// its ends: two descriptors each. Over HTTP/2 the upstream side is a
	// few multiplexed connections: one descriptor per stream. With the load
	// over HTTP/2 too (--streams-client h2), the client side is a few
	// connections as well.
	perStream := 2
	if o.streamsUpstream == "h2" && o.gatewayURL == "" {
		perStream = 1
	}
	const reserve = 1000 // database pool, listeners, logs, the mock's h2 connections
	want := uint64(65_536)
	if streams && o.streamsClient != "h2" {
		want = max(want, uint64(perStream*o.streams+reserve))
	}
	limit, err := sysinfo.RaiseNoFile(want)
	if err != nil {
		return err
	}
	s.OpenFilesLimit = limit
	if limit < want {
		s.Changes = append(s.Changes, fmt.Sprintf("open-files limit only %d (wanted %d): the hard limit cannot be raised without CAP_SYS_RESOURCE", limit, want))
	} else {
		s.Changes = append(s.Changes, fmt.Sprintf("open-files limit raised to %d for the harness and the gateway", limit))
	}
	most := (int(limit) - reserve) / perStream
	switch {
	case !streams || o.streamsClient == "h2":
	case o.streams <= most:
		o.streamsClient = "h1"
	case o.streamsClient == "auto":
		o.streamsClient = "h2"
		o.streamsNote = fmt.Sprintf("The open-files limit is %d and cannot be raised here (the hard limit needs CAP_SYS_RESOURCE: `ulimit -Hn`, LimitNOFILE= in systemd, nofile in /etc/security/limits.conf, or docker run --ulimit nofile=%d:%d): %d streams over HTTP/1.1 need %d descriptor(s) each. So the load reaches the gateway over HTTP/2 without TLS (HTTP2_CLEARTEXT, as from a load balancer that speaks HTTP/2 to its backends), up to HTTP2_MAX_CONCURRENT_STREAMS (250) streams per connection.",
			limit, want, want, o.streams, perStream)
		h.logf("%s", o.streamsNote)
	default: // h1 asked for explicitly: run what fits
		o.streamsNote = fmt.Sprintf("%d streams were asked for over HTTP/1.1, but the open-files limit is %d and cannot be raised here (the hard limit needs CAP_SYS_RESOURCE: `ulimit -Hn`, LimitNOFILE= in systemd, nofile in /etc/security/limits.conf, or docker run --ulimit nofile=%d:%d); %d descriptor(s) per stream leave room for %d, so %d were run and the memory is extrapolated (--streams-client h2 runs them all).",
			o.streams, limit, want, want, perStream, most, most)
		o.streamsAsked, o.streams = o.streams, most
		h.logf("%s", o.streamsNote)
	}

	h.sources = load.SourceAddrs(sourceAddrCount)
	for _, ip := range h.sources {
		s.SourceAddresses = append(s.SourceAddresses, ip.String())
	}
	s.Sysctls = map[string]string{}
	for _, name := range []string{"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_tw_reuse", "fs.file-max", "fs.nr_open", "net.netfilter.nf_conntrack_max"} {
		if v := sysinfo.ReadSysctl(name); v != "" {
			s.Sysctls[name] = v
		}
	}

	pr, err := sysinfo.ReadPortRange()
	if err != nil {
		return fmt.Errorf("read the local port range: %w", err)
	}
	s.LocalPortRange = pr.String()
	// Over HTTP/1.1 the gateway holds one connection to the mock per open
	// stream, all from 127.0.0.1 to one address: each needs its own local
	// port. (The load's own connections come from several addresses.)
	if !streams || o.streamsUpstream == "h2" || o.gatewayURL != "" {
		return nil
	}
	need := o.streams + 3_000
	if pr.Size() >= need {
		return nil
	}
	if need > 65535-1024+1 {
		return fmt.Errorf("%d streams over HTTP/1.1 need %d local ports from one address, more than exist: use --upstream h2", o.streams, need)
	}
	wider := sysinfo.PortRange{Low: min(pr.Low, 65535-need+1), High: 65535}
	if err := sysinfo.WritePortRange(wider); err != nil {
		return fmt.Errorf("the streams scenario needs %d local ports (gateway to mock, one per stream) but net.ipv4.ip_local_port_range is %q (%d ports) and the harness cannot change it (%v); run:\n  sudo sysctl -w net.ipv4.ip_local_port_range=%q\nor use --upstream h2, or a smaller --streams", need, pr, pr.Size(), err, wider)
	}
	h.undo = append(h.undo, func() {
		if err := sysinfo.WritePortRange(pr); err != nil {
			h.logf("restore net.ipv4.ip_local_port_range %q: %v", pr, err)
		}
	})
	s.LocalPortRange = wider.String()
	s.Changes = append(s.Changes, fmt.Sprintf("net.ipv4.ip_local_port_range widened from %q to %q (restored at the end)", pr, wider))
	h.logf("widened net.ipv4.ip_local_port_range from %q to %q for the streams scenario (restored at the end)", pr, wider)
	return nil
}

// startGateway builds (unless given) and starts the gateway on a fresh
// database.
func (h *harness) startGateway(ctx context.Context) error {
	o := h.o
	bin := o.gatewayBin
	if bin == "" {
		if h.repo == "" {
			return errors.New("not inside the repository: pass --gateway-bin")
		}
		bin = filepath.Join(h.workDir, "genzai")
		h.logf("building the gateway (go build ./cmd/genzai)")
		if err := gateway.Build(ctx, h.repo, bin); err != nil {
			return err
		}
		h.undo = append(h.undo, func() { _ = os.Remove(bin) })
	}
	h.dbName = "genzai_bench_" + h.runID
	dbURL, err := seed.CreateDatabase(ctx, o.databaseURL, h.dbName)
	if err != nil {
		return fmt.Errorf("%w (set BENCH_DATABASE_URL or --database-url to a PostgreSQL server where this role can create databases)", err)
	}
	h.dbURL = dbURL
	if !o.keep {
		h.undo = append(h.undo, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := seed.DropDatabase(ctx, o.databaseURL, h.dbName); err != nil {
				h.logf("%v", err)
			}
		})
	}

	o.jwtSecret, o.metricsToken = rand.Text()+rand.Text(), rand.Text()
	// The fast tier goes to Groq, pointed at the plain HTTP/1.1 mock; the
	// smart tier to OpenRouter, pointed at the HTTPS mock (HTTP/2), whose
	// certificate the gateway trusts through SSL_CERT_FILE.
	cert := filepath.Join(h.workDir, "mock-cert.pem")
	if err := os.WriteFile(cert, h.mockTLS.CertPEM, 0o600); err != nil {
		return fmt.Errorf("write mock certificate: %w", err)
	}
	upstream := "h1: fast tier, Groq provider, plain HTTP/1.1 to the mock; h2: smart tier, OpenRouter provider, HTTPS with HTTP/2 to the mock (certificate trusted through SSL_CERT_FILE)"
	env, public := h.gatewayEnv(dbURL, cert)

	logPath := filepath.Join(h.workDir, "gateway.log")
	h.logf("starting the gateway (ENV=production, PostgreSQL database %s); log %s", h.dbName, logPath)
	p, err := gateway.Start(ctx, bin, h.workDir, env, logPath, time.Minute)
	if err != nil {
		return err
	}
	h.gw, h.gwURL = p, p.URL
	h.undo = append(h.undo, func() {
		if err := p.Stop(30 * time.Second); err != nil {
			h.logf("stop gateway: %v", err)
		}
	})
	h.proc = &procstat.Source{PID: p.PID, MetricsURL: p.URL + "/metrics", MetricsToken: o.metricsToken, Client: &http.Client{Timeout: 10 * time.Second},
		ListenPort: urlPort(p.URL)}
	h.result.Gateway = report.Gateway{Started: true, URL: p.URL, Binary: bin, Version: gateway.Version(ctx, bin), Upstream: upstream, Env: public, Log: logPath, Database: h.dbName}
	return nil
}

// gatewayEnv is the environment of a gateway on database dbURL, with its
// secrets, and the same with the secrets left out (for the results).
// extra come before --gateway-env, which may override them.
func (h *harness) gatewayEnv(dbURL, cert string, extra ...string) (env, public []string) {
	o := h.o
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-key-%d", i+1)
	}
	env = []string{
		"ENV=production",
		"LOG_LEVEL=INFO",
		"DATABASE_URL=" + dbURL,
		"ALLOWED_HOSTS=127.0.0.1,localhost",
		"GROQ_API_KEYS=" + strings.Join(keys, ","),
		"GROQ_BASE_URL=" + h.mockHTTP.URL + "/v1",
		"GROQ_FAST_MODEL=bench",
		"GROQ_BALANCED_MODEL=bench",
		"GROQ_RPM_PER_KEY=0",
		"OPENROUTER_API_KEYS=" + strings.Join(keys, ","),
		"OPENROUTER_BASE_URL=" + h.mockTLS.URL + "/v1",
		"OPENROUTER_SMART_MODEL=bench",
		"OPENROUTER_BALANCED_MODEL=bench",
		"OPENROUTER_RPM_PER_KEY=0",
		"SSL_CERT_FILE=" + cert,
		"USER_DAILY_QUOTA=1000000",
		"RATE_LIMIT_PER_MINUTE=10000000",
		"AUTH_RATE_LIMIT_PER_MINUTE=10000000",
		// The load comes from few users, many requests at once each.
		"MAX_CONCURRENT_REQUESTS_PER_USER=0",
		"PROVIDER_CHECK_INTERVAL_SECONDS=0",
		"ENABLE_WEB_SEARCH=false",
		"SHUTDOWN_TIMEOUT_SECONDS=10",
	}
	if o.redisURL != "" {
		env = append(env, "REDIS_URL="+o.redisURL)
	}
	if o.profile {
		env = append(env, "PPROF_ADDR=127.0.0.1:0")
	}
	// Later duplicates win (os/exec keeps the last value of a name).
	env = append(env, extra...)
	env = append(env, o.gatewayEnv...)
	public = slices.Clone(env)
	env = append(env, "JWT_SECRET="+o.jwtSecret, "METRICS_TOKEN="+o.metricsToken)
	for i, v := range public {
		if strings.HasPrefix(v, "DATABASE_URL=") || strings.HasPrefix(v, "REDIS_URL=") {
			public[i] = strings.SplitN(v, "=", 2)[0] + "=" + redactURL(strings.SplitN(v, "=", 2)[1])
		}
	}
	public = append(public, "JWT_SECRET=(random, 52 characters)", "METRICS_TOKEN=(random)")
	return env, public
}

// startBaseline starts the --baseline-bin gateway beside the current one:
// the same environment and secrets, a database of its own (an older
// binary migrates to its own schema), a directory of its own.
func (h *harness) startBaseline(ctx context.Context) error {
	o := h.o
	b := &baseline{dbName: h.dbName + "_base"}
	dbURL, err := seed.CreateDatabase(ctx, o.databaseURL, b.dbName)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	b.dbURL = dbURL
	if !o.keep {
		h.undo = append(h.undo, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := seed.DropDatabase(ctx, o.databaseURL, b.dbName); err != nil {
				h.logf("%v", err)
			}
		})
	}
	dir := filepath.Join(h.workDir, "baseline")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	env, _ := h.gatewayEnv(dbURL, filepath.Join(h.workDir, "mock-cert.pem"))
	logPath := filepath.Join(h.workDir, "baseline.log")
	h.logf("starting the baseline gateway %s (database %s); log %s", o.baselineBin, b.dbName, logPath)
	p, err := gateway.Start(ctx, o.baselineBin, dir, env, logPath, time.Minute)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	b.gw = p
	h.undo = append(h.undo, func() {
		if err := p.Stop(30 * time.Second); err != nil {
			h.logf("stop baseline gateway: %v", err)
		}
	})
	b.proc = &procstat.Source{PID: p.PID, MetricsURL: p.URL + "/metrics", MetricsToken: o.metricsToken, Client: &http.Client{Timeout: 10 * time.Second},
		ListenPort: urlPort(p.URL)}
	h.base = b
	h.result.Gateway.Baseline = &report.Baseline{URL: p.URL, Binary: o.baselineBin, Version: gateway.Version(ctx, o.baselineBin), Log: logPath, Database: b.dbName}
	return nil
}

// cachedGateway is the gateway of the cached scenario: the current binary
// with CACHE_ENABLED=true on the gateway's database (so the same users and
// tokens), in a directory of its own.
type cachedGateway struct {
	gw   *gateway.Process
	proc *procstat.Source
}

// startCached starts the cached scenario's gateway and returns what stops
// it. Against a gateway started by someone else (--gateway-url) there is
// none: that gateway is used, and must have the cache on.
func (h *harness) startCached(ctx context.Context, rs *report.Scenario) (stop func(), err error) {
	if h.gw == nil {
		rs.Notes = append(rs.Notes, "the gateway was given (--gateway-url) and used as it is: its cache figures mean something only if it runs with CACHE_ENABLED=true")
		return func() {}, nil
	}
	dir := filepath.Join(h.workDir, "cached")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cached gateway: %w", err)
	}
	env, _ := h.gatewayEnv(h.dbURL, filepath.Join(h.workDir, "mock-cert.pem"), "CACHE_ENABLED=true")
	logPath := filepath.Join(h.workDir, "cached.log")
	h.logf("starting a gateway with CACHE_ENABLED=true for the cached scenario (database %s); log %s", h.dbName, logPath)
	p, err := gateway.Start(ctx, h.result.Gateway.Binary, dir, env, logPath, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("cached gateway: %w", err)
	}
	h.cached = &cachedGateway{gw: p, proc: &procstat.Source{PID: p.PID, MetricsURL: p.URL + "/metrics", MetricsToken: h.o.metricsToken,
		Client: &http.Client{Timeout: 10 * time.Second}, ListenPort: urlPort(p.URL)}}
	rs.Notes = append(rs.Notes, fmt.Sprintf("the gateway of this scenario is a second process of the same binary on the same database, with the gateway's environment and CACHE_ENABLED=true (log %s)", logPath))
	return func() {
		if err := p.Stop(30 * time.Second); err != nil {
			h.logf("stop cached gateway: %v", err)
		}
		h.cached = nil
	}, nil
}

// cacheSeries are the gateway's response cache counters.
var cacheSeries = []string{`genzai_cache_requests_total{status="hit"}`, `genzai_cache_requests_total{status="miss"}`, `genzai_cache_requests_total{status="bypass"}`}

// cacheCounts reads the gateway's response cache counters; nil when its
// metrics page cannot be read.
func cacheCounts(ctx context.Context, src *procstat.Source) map[string]float64 {
	m, err := src.Series(ctx, cacheSeries...)
	if err != nil {
		return nil
	}
	return m
}

// cacheDelta is the phase's requests by cache status: after less before.
func cacheDelta(before, after map[string]float64) *report.CacheCounts {
	if before == nil || after == nil {
		return nil
	}
	d := func(i int) int64 { return int64(after[cacheSeries[i]] - before[cacheSeries[i]]) }
	return &report.CacheCounts{Hits: d(0), Misses: d(1), Bypasses: d(2)}
}

// useGateway targets a gateway started by someone else.
func (h *harness) useGateway(ctx context.Context) error {
	o := h.o
	h.gwURL = o.gatewayURL
	h.dbURL = o.databaseURL
	h.proc = &procstat.Source{PID: o.gatewayPID, MetricsURL: o.gatewayURL + "/metrics", MetricsToken: o.metricsToken, Client: &http.Client{Timeout: 10 * time.Second}}
	if o.gatewayPID > 0 {
		// A local gateway's accepted connections are in this machine's tables.
		h.proc.ListenPort = urlPort(o.gatewayURL)
	}
	if s := h.proc.Sample(ctx); s.Goroutines < 0 {
		h.logf("warning: %s/metrics did not answer: goroutines and heap will be missing (--metrics-token?)", o.gatewayURL)
	}
	h.result.Gateway = report.Gateway{URL: o.gatewayURL, Upstream: "as configured (fast tier must reach the mock at " + h.mockHTTP.URL + "/v1, smart tier " + h.mockTLS.URL + "/v1)", Database: redactURL(o.databaseURL)}
	return nil
}

// seedUsers inserts the registered users and mints the active users'
// tokens.
func (h *harness) seedUsers(ctx context.Context) error {
	o := h.o
	start := time.Now()
	users, err := seed.InsertUsers(ctx, h.dbURL, h.runID, o.users)
	if err != nil {
		return err
	}
	if o.gatewayURL != "" && !o.keep {
		h.undo = append(h.undo, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := seed.DeleteUsers(ctx, h.dbURL, h.runID); err != nil {
				h.logf("%v", err)
			}
		})
	}
	if h.base != nil {
		if err := seed.CopyUsers(ctx, h.base.dbURL, users); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
	}
	h.userCount = len(users)
	h.result.Gateway.Users = len(users)
	scale := seed.Sample(users, min(scaleUsers, len(users)), 1)
	if h.scaleTokens, err = seed.Tokens(scale, o.jwtSecret, 48*time.Hour); err != nil {
		return err
	}
	h.tokens = h.scaleTokens[:min(o.activeUsers, len(h.scaleTokens))]
	h.logf("inserted %d users with COPY and minted %d tokens in %v", len(users), len(h.scaleTokens), time.Since(start).Round(time.Millisecond))
	return nil
}

// tearDown undoes setUp, last step first.
func (h *harness) tearDown() {
	for i := len(h.undo) - 1; i >= 0; i-- {
		h.undo[i]()
	}
	h.undo = nil
}

// target is a load target and whether it is the gateway.
type target struct {
	load.Target
	gateway bool
	// src samples the gateway process under this target's load.
	src *procstat.Source
}

// targets returns the direct path, the gateway and the extra targets for
// s. The direct path speaks to the mock as the gateway does: HTTP/1.1 or
// HTTPS with HTTP/2.
func (h *harness) targets(s scenario) []target {
	mockURL := h.mockHTTP.URL
	if s.upstream == "h2" {
		mockURL = h.mockTLS.URL
	}
	out := []target{
		{Target: load.Target{Name: directName, URL: mockURL + "/v1/chat/completions", Protocol: load.OpenAI, Model: "bench", Prompt: prompt}},
	}
	tokens := h.tokens
	if s.users > len(tokens) {
		tokens = h.scaleTokens
	}
	tier := "fast"
	if s.upstream == "h2" {
		tier = "smart"
	}
	gwURL, src := h.gwURL, h.proc
	if s.cached && h.cached != nil {
		gwURL, src = h.cached.gw.URL, h.cached.proc
	}
	out = append(out, target{gateway: true, src: src, Target: load.Target{Name: gatewayName, URL: gwURL + "/api/v1/chat", Protocol: load.Gateway,
		Model: tier, Tokens: tokens[:min(s.users, len(tokens))], Prompt: prompt}})
	if s.oneUser {
		out = append(out,
			target{gateway: true, src: h.proc, Target: load.Target{Name: gatewayOneName, URL: h.gwURL + "/api/v1/chat", Protocol: load.Gateway,
				Model: tier, Tokens: tokens[:1], Prompt: prompt}},
			target{gateway: true, src: h.proc, Target: load.Target{Name: gatewayKeyName, URL: h.gwURL + "/v1/chat/completions", Protocol: load.OpenAI,
				Model: tier, Tokens: []string{h.apiKey}, Prompt: prompt}})
	}
	if h.base != nil && s.oneUser {
		out = append(out, target{gateway: true, src: h.base.proc, Target: load.Target{Name: baselineName, URL: h.base.gw.URL + "/api/v1/chat",
			Protocol: load.Gateway, Model: tier, Tokens: tokens[:min(s.users, len(tokens))], Prompt: prompt}})
	}
	for i, t := range h.o.targets {
		name := "target"
		if len(h.o.targets) > 1 {
			name = fmt.Sprintf("target%d", i+1)
		}
		if u, err := url.Parse(t.URL); err == nil {
			name += " (" + u.Host + ")"
		}
		out = append(out, target{Target: load.Target{Name: name, URL: t.URL, Protocol: load.OpenAI, Header: t.Header, Model: t.Model, Prompt: prompt}})
	}
	return out
}

// runScenario runs s against every target in turn.
func (h *harness) runScenario(ctx context.Context, s scenario) (*report.Scenario, error) {
	h.mock.SetProfile(s.profile)
	rs := &report.Scenario{
		Name: s.name, Description: s.description, Mock: s.profile, ActiveUsers: s.users, Upstream: s.upstream, Notes: s.notes,
		Load: report.LoadSpec{Mode: s.load.Mode, Concurrency: s.load.Concurrency, Rate: s.load.Rate, DurationS: s.load.Duration.Seconds(),
			MaxRequests: s.load.MaxRequests, StreamShare: s.load.StreamShare, WarmupS: s.warmup.Seconds()},
	}
	if s.load.Mode == load.Open {
		rs.Load.Concurrency = 0
	}
	if s.cached {
		stop, err := h.startCached(ctx, rs)
		if err != nil {
			return rs, err
		}
		defer stop()
	}
	var direct *report.Phase
	for _, t := range h.targets(s) {
		if err := ctx.Err(); err != nil {
			return rs, err
		}
		if h.gw != nil && h.gw.Exited() {
			return rs, fmt.Errorf("the gateway exited; its log ends:\n%s", h.gw.Tail(20))
		}
		if h.cached != nil && h.cached.gw.Exited() {
			return rs, fmt.Errorf("the cached gateway exited; its log ends:\n%s", h.cached.gw.Tail(20))
		}
		p, err := h.runPhase(ctx, s, t, rs)
		if err != nil {
			return rs, err
		}
		rs.Phases = append(rs.Phases, p)
		if t.Name == directName {
			direct = p
		} else if direct != nil {
			rs.Comparisons = append(rs.Comparisons, report.Compare(direct, p))
		}
		h.logf("%s: %-9s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d%s", s.name, t.Name, p.RPS, p.Latency.P50, p.Latency.P99, p.ErrorCount(), ttftText(p))
		// Let connections close and the request log flush before the next.
		pause := time.Second
		if h.o.quick {
			pause = 100 * time.Millisecond
		}
		time.Sleep(pause)
	}
	if s.checks != nil {
		rs.Checks = s.checks(rs)
	}
	return rs, nil
}

func ttftText(p *report.Phase) string {
	if p.TTFT == nil {
		return ""
	}
	return fmt.Sprintf("  TTFT p50 %.2f ms  peak open %d", p.TTFT.P50, p.PeakOpen)
}

// runPhase runs s's load against t (after a warm-up) and, for the gateway,
// samples its process meanwhile.
func (h *harness) runPhase(ctx context.Context, s scenario, t target, rs *report.Scenario) (*report.Phase, error) {
	maxConns := max(s.load.Concurrency, s.load.MaxInFlight, 1024)
	client := load.NewClient(maxConns, h.sources, h.mockRoots, s.client == "h2")
	defer client.CloseIdleConnections()
	r, err := load.NewRunner(t.Target, client)
	if err != nil {
		return nil, err
	}
	if busy, settled := h.settle(ctx); !settled && !h.o.quick {
		rs.Notes = append(rs.Notes, fmt.Sprintf("%s phase: the machine was still busy (%.2f CPUs) after %v of waiting; its numbers are disturbed", t.Name, busy, maxSettle))
	}
	if s.warmup > 0 {
		w := s.load
		w.Duration, w.MaxRequests = s.warmup, 0
		r.Run(ctx, w)
	}
	h.mock.ResetPeak()

	var (
		rec     *procstat.Recorder
		before  procstat.Sample
		peakOK  bool
		profile func() (string, error)
	)
	var cacheBefore map[string]float64
	if t.gateway && s.cached {
		cacheBefore = cacheCounts(ctx, t.src)
	}
	if t.gateway {
		peakOK = t.src.ResetPeak()
		before = t.src.Sample(ctx)
		rec = procstat.Record(ctx, t.src, s.sampleEvery)
		if h.o.profile && t.src == h.proc {
			profile = h.startProfile(ctx, s, s.load.Duration)
		}
	}
	mark := h.markCPU()
	lp := r.Run(ctx, s.load)
	p := report.PhaseOf(lp, t.Protocol)
	p.CPU = h.cpuShare(mark, h.markCPU())
	if !t.gateway {
		return p, nil
	}
	samples := rec.Stop()
	after := t.src.Sample(ctx)
	if s.cached {
		p.Cache = cacheDelta(cacheBefore, cacheCounts(ctx, t.src))
	}
	p.Process = processOf(before, after, samples, p.OK)
	if peakOK {
		if peak := t.src.PeakRSS(); peak > p.Process.PeakRSSBytes {
			p.Process.PeakRSSBytes = peak
		}
	}
	if s.trends {
		rs.Trends, rs.Series = trendsOf(samples)
	}
	if profile != nil {
		file, err := profile()
		if err != nil {
			rs.Notes = append(rs.Notes, "CPU profile failed: "+err.Error())
		} else {
			rs.Profile = file
		}
	}
	return p, nil
}

// Settling: before a phase, wait until the machine is idle, so that work
// left over from the previous phase (a gateway draining a backlog,
// PostgreSQL vacuuming) does not land on this one.
// A quick run looks briefly: it checks the harness, not the machine.
const (
	maxSettle       = 2 * time.Minute
	maxSettleQuick  = time.Second
	idleCPUs        = 0.25
	settleStep      = time.Second
	settleStepQuick = 100 * time.Millisecond
)

// settle waits until the machine has been idle for settleStep, at most
// maxSettle; it returns the CPUs busy at the last look and whether the
// machine settled.
func (h *harness) settle(ctx context.Context) (float64, bool) {
	limit, step := maxSettle, settleStep
	if h.o.quick {
		limit, step = maxSettleQuick, settleStepQuick
	}
	deadline := time.Now().Add(limit)
	a := h.markCPU()
	busy := 0.0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(step):
		}
		b := h.markCPU()
		if !a.ok || !b.ok {
			return 0, true
		}
		busy = (b.machine.Busy - a.machine.Busy) / b.at.Sub(a.at).Seconds()
		if busy < idleCPUs {
			return busy, true
		}
		if time.Now().After(deadline) {
			return busy, false
		}
		if h.o.verbose {
			h.logf("waiting for the machine to settle: %.2f CPUs busy", busy)
		}
		a = b
	}
	return busy, true
}

// cpuMark is the CPU time used so far by the machine and each party.
type cpuMark struct {
	at       time.Time
	machine  procstat.MachineCPU
	harness  float64
	gateway  float64
	postgres map[int]float64
	ok       bool
}

func (h *harness) markCPU() cpuMark {
	m := cpuMark{at: time.Now()}
	var err error
	if m.machine, err = procstat.ReadMachineCPU(); err != nil {
		return m
	}
	if st, err := procstat.ReadStat(os.Getpid()); err == nil {
		m.harness = st.CPU
	}
	// Both gateways count as the gateway: only one is under load at a time.
	for _, src := range []*procstat.Source{h.proc, h.baseProc(), h.cachedProc()} {
		if src != nil && src.PID > 0 {
			if st, err := procstat.ReadStat(src.PID); err == nil {
				m.gateway += st.CPU
			}
		}
	}
	m.postgres, _ = procstat.CommCPU("postgres")
	m.ok = true
	return m
}

// cachedProc is the cached scenario's gateway's source, nil while it does
// not run.
func (h *harness) cachedProc() *procstat.Source {
	if h.cached == nil {
		return nil
	}
	return h.cached.proc
}

// baseProc is the baseline gateway's source, nil without one.
func (h *harness) baseProc() *procstat.Source {
	if h.base == nil {
		return nil
	}
	return h.base.proc
}

// cpuShare is the average CPUs each party used between two marks.
func (h *harness) cpuShare(a, b cpuMark) *report.CPUShare {
	secs := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || secs <= 0 {
		return nil
	}
	c := &report.CPUShare{
		Harness:  (b.harness - a.harness) / secs,
		Gateway:  (b.gateway - a.gateway) / secs,
		Postgres: procstat.CPUSince(a.postgres, b.postgres) / secs,
		Steal:    (b.machine.Steal - a.machine.Steal) / secs,
	}
	busy := (b.machine.Busy - a.machine.Busy) / secs
	c.Other = max(busy-c.Harness-c.Gateway-c.Postgres, 0)
	return c
}

// processOf derives a phase's process figures from its samples.
func processOf(before, after procstat.Sample, samples []procstat.Sample, ok int) *report.Process {
	pr := &report.Process{PeakRSSBytes: -1, StartRSSBytes: before.RSS, GoroutinesMax: -1, GoroutinesEnd: after.Goroutines, HeapInuseMax: -1, StackInuseMax: -1, FDsMax: -1, ThreadsMax: -1}
	if before.CPU >= 0 && after.CPU >= 0 {
		pr.CPUSeconds = after.CPU - before.CPU
		if ok > 0 {
			pr.CPUSecondsPer1000 = pr.CPUSeconds / float64(ok) * 1000
		}
	}
	for _, s := range append(samples, after) {
		pr.PeakRSSBytes = max(pr.PeakRSSBytes, s.RSS)
		pr.GoroutinesMax = max(pr.GoroutinesMax, s.Goroutines)
		pr.HeapInuseMax = max(pr.HeapInuseMax, s.HeapInuse)
		pr.StackInuseMax = max(pr.StackInuseMax, s.StackInuse)
		pr.FDsMax = max(pr.FDsMax, s.FDs)
		pr.ThreadsMax = max(pr.ThreadsMax, s.Threads)
	}
	return pr
}

// netOfInbound names a figure counted net of the inbound connections.
func netOfInbound(metric string) string { return metric + " net of inbound connections" }

// lessInbound is v less the inbound connections, -1 when either is unknown.
func lessInbound(v, inbound int64) int64 {
	if v < 0 || inbound < 0 {
		return -1
	}
	return v - inbound
}

// urlPort is the port of a URL (0 when it has none).
func urlPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(u.Port())
	return n
}

// warmupShare is the part of a soak's samples left out of the trend fit:
// pools, caches and the heap's target settle during it.
const warmupShare = 0.2

// trendsOf fits heap, goroutines, open files and RSS over the samples.
func trendsOf(samples []procstat.Sample) ([]report.Trend, []report.Point) {
	if len(samples) == 0 {
		return nil, nil
	}
	t0 := samples[0].At
	points := make([]report.Point, 0, len(samples))
	for _, s := range samples {
		points = append(points, report.Point{T: s.At.Sub(t0).Seconds(), RSS: s.RSS, HeapInuse: s.HeapInuse, Goroutines: s.Goroutines, FDs: s.FDs, Inbound: s.Inbound})
	}
	fit := samples[int(float64(len(samples))*warmupShare):]
	series := []struct {
		name, unit string
		get        func(procstat.Sample) int64
	}{
		{"heap in use", "bytes", func(s procstat.Sample) int64 { return s.HeapInuse }},
		{"goroutines", "", func(s procstat.Sample) int64 { return s.Goroutines }},
		{"open fds", "", func(s procstat.Sample) int64 { return s.FDs }},
		{"rss", "bytes", func(s procstat.Sample) int64 { return s.RSS }},
		{"inbound connections", "", func(s procstat.Sample) int64 { return s.Inbound }},
		// An idle keep-alive connection costs one goroutine and one
		// descriptor; net of them, what remains is the gateway's own.
		{netOfInbound("goroutines"), "", func(s procstat.Sample) int64 { return lessInbound(s.Goroutines, s.Inbound) }},
		{netOfInbound("open fds"), "", func(s procstat.Sample) int64 { return lessInbound(s.FDs, s.Inbound) }},
	}
	var trends []report.Trend
	for _, se := range series {
		var at []time.Time
		var ys []float64
		for _, s := range fit {
			if v := se.get(s); v >= 0 {
				at, ys = append(at, s.At), append(ys, float64(v))
			}
		}
		if len(ys) < 3 {
			continue
		}
		trends = append(trends, report.TrendOf(se.name, se.unit, at, ys, 5))
	}
	return trends, points
}

// writeResults writes the run as JSON and Markdown into the results
// directory and prints the Markdown.
func (h *harness) writeResults() (string, error) {
	h.result.Finished = time.Now()
	base := filepath.Join(h.outDir, h.stamp)
	b, err := json.MarshalIndent(h.result, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	md := report.Markdown(h.result)
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	fmt.Fprint(h.stdout, md)
	return base, nil
}

// redactURL hides a URL's password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable]"
	}
	return u.Redacted()
}

// describeMachine fills in the machine's description.
func (h *harness) describeMachine(ctx context.Context) {
	pg := ""
	if h.dbURL != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if v, err := seed.ServerVersion(ctx, h.dbURL); err == nil {
			pg = v
		}
	}
	h.result.Machine = sysinfo.Describe(context.WithoutCancel(ctx), h.repo, pg)
}
