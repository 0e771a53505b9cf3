package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// defaultDatabaseURL is the PostgreSQL server runs create their database on.
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// extraTarget is an OpenAI-compatible endpoint measured on the same load.
type extraTarget struct {
	URL    string
	Header http.Header
	Model  string
}

// options are the command line.
type options struct {
	// args is the command line as given.
	args []string

	scenarios    []string
	duration     time.Duration
	soakDuration time.Duration
	quick        bool

	streams int
	// streamsAsked is the --streams asked for when the limits allowed
	// fewer; streamsNote says why.
	streamsAsked int
	streamsNote  string
	streamsRamp  time.Duration
	streamsHold  time.Duration

	users       int
	activeUsers int

	gatewayURL string
	gatewayPID int
	gatewayBin string
	// baselineBin is an older gateway measured beside the current one in
	// the same run, on a database of its own.
	baselineBin  string
	jwtSecret    string
	metricsToken string
	databaseURL  string
	redisURL     string
	// gatewayEnv are extra NAME=value variables for the started gateway.
	gatewayEnv []string
	upstream   string
	// streamsUpstream is upstream for the streams scenario.
	streamsUpstream string
	// streamsClient is how the load reaches the gateway in the streams
	// scenario: h1, h2 (HTTP/2 without TLS) or auto (h1 when the
	// open-files limit fits a connection per stream); resolved to h1 or h2
	// by systemSettings.
	streamsClient string
	keep          bool

	mockAddr string
	targets  []*extraTarget

	out     string
	profile bool
	verbose bool
}

// parseOptions reads args (without the program name).
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{args: args}
	fs := flag.NewFlagSet("genzai-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `genzai-bench measures the gateway against a mock OpenAI-compatible upstream,
running every scenario's load directly against the mock and through the gateway.

Usage:
  genzai-bench [flags]            run the scenarios (see bench/README.md)
  genzai-bench mock [flags]       only serve the mock upstream

Scenarios: %s

Flags:
`, strings.Join(scenarioNames, ", "))
		fs.PrintDefaults()
	}
	scenarios := fs.String("scenarios", strings.Join(scenarioNames, ","), "comma-separated scenarios to run, or \"all\"")
	fs.DurationVar(&o.duration, "duration", 0, "measured duration of each scenario except the soak and the many-streams one (0: each scenario's default)")
	fs.DurationVar(&o.soakDuration, "soak-duration", 0, "duration of the soak (0: 10m, or 3s with --quick)")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: short durations, few users and streams")
	fs.IntVar(&o.streams, "streams", 0, "concurrent streams of the streams scenario (0: 50000, or 200 with --quick)")
	fs.DurationVar(&o.streamsRamp, "streams-ramp", 0, "time over which the streams are opened (0: 60s)")
	fs.DurationVar(&o.streamsHold, "streams-hold", 0, "length of each of those streams (0: 90s); all are open at once from the end of the ramp until then")
	fs.IntVar(&o.users, "users", 0, "registered users inserted in the database (0: 100000, or 2000 with --quick)")
	fs.IntVar(&o.activeUsers, "active-users", 0, "users the requests of most scenarios are spread over (0: 1000); the scale scenario uses 10000")
	fs.StringVar(&o.gatewayURL, "gateway", "", "URL of a running gateway to measure instead of starting one (it must use --mock-addr as its provider; needs --jwt-secret and --database-url of its database)")
	fs.IntVar(&o.gatewayPID, "gateway-pid", 0, "pid of the --gateway process, to read its memory and CPU from /proc (else from its /metrics)")
	fs.StringVar(&o.gatewayBin, "gateway-bin", "", "gateway binary to start (default: build ./cmd/genzai)")
	fs.StringVar(&o.baselineBin, "baseline-bin", "", "an older gateway binary (built from an earlier commit) measured beside the current one in the same run, on its own database, for the CPU comparison")
	fs.StringVar(&o.jwtSecret, "jwt-secret", getenv("BENCH_JWT_SECRET"), "JWT_SECRET of the --gateway (env BENCH_JWT_SECRET)")
	fs.StringVar(&o.metricsToken, "metrics-token", getenv("BENCH_METRICS_TOKEN"), "METRICS_TOKEN of the --gateway (env BENCH_METRICS_TOKEN)")
	fs.StringVar(&o.databaseURL, "database-url", or(getenv("BENCH_DATABASE_URL"), defaultDatabaseURL),
		"PostgreSQL server on which each run creates (and drops) its database; with --gateway, that gateway's own database (env BENCH_DATABASE_URL)")
	fs.StringVar(&o.redisURL, "redis-url", "", "REDIS_URL for the started gateway (shared rate limits), as a variant")
	fs.StringVar(&o.upstream, "upstream", "h1", "how the gateway reaches the mock, except in the streams scenario: h1 (plain HTTP/1.1, the fast tier through Groq) or h2 (HTTPS with HTTP/2 as real providers, the smart tier through OpenRouter)")
	fs.StringVar(&o.streamsUpstream, "streams-upstream", "h2", "the same for the streams scenario: h2 multiplexes the streams over a few connections, h1 needs a connection, a file descriptor and a local port per stream")
	fs.StringVar(&o.streamsClient, "streams-client", "auto", "how the load reaches the gateway in the streams scenario: h1 (a connection and a file descriptor per stream on both sides), h2 (HTTP/2 without TLS, HTTP2_CLEARTEXT: up to HTTP2_MAX_CONCURRENT_STREAMS streams per connection) or auto (h1 when the open-files limit fits it, else h2)")
	fs.Func("gateway-env", "extra NAME=value variable for the started gateway, e.g. GOMEMLIMIT=2GiB or DATABASE_POOL_SIZE=40 (repeatable; wins over the harness's settings)", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not NAME=value", s)
		}
		o.gatewayEnv = append(o.gatewayEnv, s)
		return nil
	})
	fs.BoolVar(&o.keep, "keep", false, "keep the database (and the bench users) at the end")
	fs.StringVar(&o.mockAddr, "mock-addr", "127.0.0.1:0", "address of the mock upstream (fix it to point another gateway at it)")
	fs.Func("target", "extra OpenAI-compatible target measured on the same load: its base URL (…/v1) or chat completions URL; repeatable, --header and --target-model after it apply to it", func(s string) error {
		u, err := chatURL(s)
		if err != nil {
			return err
		}
		o.targets = append(o.targets, &extraTarget{URL: u, Header: http.Header{}, Model: "bench"})
		return nil
	})
	fs.Func("header", "'Name: value' header of the last --target (repeatable)", func(s string) error {
		if len(o.targets) == 0 {
			return errors.New("--header must follow the --target it belongs to")
		}
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not 'Name: value'", s)
		}
		o.targets[len(o.targets)-1].Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		return nil
	})
	fs.Func("target-model", "model name sent to the last --target (default \"bench\")", func(s string) error {
		if len(o.targets) == 0 {
			return errors.New("--target-model must follow the --target it belongs to")
		}
		o.targets[len(o.targets)-1].Model = s
		return nil
	})
	fs.StringVar(&o.out, "out", "", "directory of the results (default bench/results of the repository)")
	fs.BoolVar(&o.profile, "profile", false, "profile each gateway phase: the gateway's CPU profile (PPROF_ADDR), heap and goroutines at the height of the load, and with perf the CPU of every process (written beside the results)")
	fs.BoolVar(&o.verbose, "v", false, "print progress details")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *scenarios == "all" {
		*scenarios = strings.Join(scenarioNames, ",")
	}
	for s := range strings.SplitSeq(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(scenarioNames, s) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(scenarioNames, ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	if len(o.scenarios) == 0 {
		return nil, errors.New("no scenario to run")
	}
	for name, v := range map[string]string{"--upstream": o.upstream, "--streams-upstream": o.streamsUpstream} {
		if v != "h1" && v != "h2" {
			return nil, fmt.Errorf("%s %q is not h1 or h2", name, v)
		}
	}
	if c := o.streamsClient; c != "auto" && c != "h1" && c != "h2" {
		return nil, fmt.Errorf("--streams-client %q is not auto, h1 or h2", c)
	}
	if o.baselineBin != "" {
		if o.gatewayURL != "" {
			return nil, errors.New("--baseline-bin starts a gateway of its own: it does not go with --gateway")
		}
		if st, err := os.Stat(o.baselineBin); err != nil || st.IsDir() {
			return nil, fmt.Errorf("--baseline-bin %q: not a file", o.baselineBin)
		}
	}
	if o.gatewayURL != "" {
		if o.jwtSecret == "" {
			return nil, errors.New("--gateway needs the gateway's JWT secret (--jwt-secret or BENCH_JWT_SECRET) to mint tokens")
		}
		if _, err := url.Parse(o.gatewayURL); err != nil {
			return nil, fmt.Errorf("--gateway: %w", err)
		}
		o.gatewayURL = strings.TrimRight(o.gatewayURL, "/")
	}
	o.defaults()
	return o, nil
}

// defaults fills what was left at zero, by --quick.
func (o *options) defaults() {
	pick := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	pickD := func(v *time.Duration, full, quick time.Duration) {
		if *v == 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	pick(&o.streams, 50_000, 200)
	pick(&o.users, 100_000, 2_000)
	pick(&o.activeUsers, 1_000, 500)
	pickD(&o.streamsRamp, 60*time.Second, time.Second)
	pickD(&o.streamsHold, 90*time.Second, 2*time.Second)
	pickD(&o.soakDuration, 10*time.Minute, 3*time.Second)
	o.streamsHold = max(o.streamsHold, o.streamsRamp+time.Second)
}

// chatURL turns a base URL into its chat completions endpoint.
func chatURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	if !strings.HasSuffix(u.Path, "/chat/completions") {
		u.Path = strings.TrimRight(u.Path, "/") + "/chat/completions"
	}
	return u.String(), nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
