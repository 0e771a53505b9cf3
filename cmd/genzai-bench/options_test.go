package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/procstat"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/report"
)

func noEnv(string) string { return "" }

func TestParseOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, o *options)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, o *options) {
			assert.Equal(t, scenarioNames, o.scenarios)
			assert.Equal(t, 50_000, o.streams)
			assert.Equal(t, 100_000, o.users)
			assert.Equal(t, 1_000, o.activeUsers)
			assert.Equal(t, 10*time.Minute, o.soakDuration)
			assert.Equal(t, defaultDatabaseURL, o.databaseURL)
			assert.Equal(t, "h1", o.upstream)
			assert.Equal(t, "h2", o.streamsUpstream)
			assert.Equal(t, "auto", o.streamsClient)
		}},
		{name: "streams over HTTP/2", args: []string{"--streams-client", "h2"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "h2", o.streamsClient)
			assert.Equal(t, "h2", o.scenario("streams").client)
			assert.Equal(t, "h1", o.scenario("nonstream").client, "only the streams scenario")
		}},
		{name: "bad streams client", args: []string{"--streams-client", "h3"}, wantErr: `--streams-client "h3"`},
		{name: "quick", args: []string{"--quick"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, 200, o.streams)
			assert.Equal(t, 2_000, o.users)
			assert.Equal(t, 3*time.Second, o.soakDuration)
		}},
		{name: "explicit sizes win over quick", args: []string{"--quick", "--streams", "1000", "--soak-duration", "1m"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, 1000, o.streams)
			assert.Equal(t, time.Minute, o.soakDuration)
		}},
		{name: "database from the environment", env: map[string]string{"BENCH_DATABASE_URL": "postgres://x@db/y"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "postgres://x@db/y", o.databaseURL)
		}},
		{name: "scenario list", args: []string{"--scenarios", "stream, soak"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"stream", "soak"}, o.scenarios)
		}},
		{name: "all", args: []string{"--scenarios", "all"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, scenarioNames, o.scenarios)
		}},
		{name: "headers and models belong to the target before them", args: []string{
			"--target", "http://a.example/v1", "--header", "Authorization: Bearer a", "--header", "X-Org: 1",
			"--target", "https://b.example/api/chat/completions", "--target-model", "gpt", "--header", "Authorization: Bearer b",
		}, check: func(t *testing.T, o *options) {
			require.Len(t, o.targets, 2)
			assert.Equal(t, "http://a.example/v1/chat/completions", o.targets[0].URL)
			assert.Equal(t, http.Header{"Authorization": {"Bearer a"}, "X-Org": {"1"}}, o.targets[0].Header)
			assert.Equal(t, "bench", o.targets[0].Model)
			assert.Equal(t, "https://b.example/api/chat/completions", o.targets[1].URL)
			assert.Equal(t, http.Header{"Authorization": {"Bearer b"}}, o.targets[1].Header)
			assert.Equal(t, "gpt", o.targets[1].Model)
		}},
		{name: "running gateway", args: []string{"--gateway", "http://127.0.0.1:8000/", "--jwt-secret", "s"}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "http://127.0.0.1:8000", o.gatewayURL)
		}},
		{name: "running gateway with the secret from the environment", args: []string{"--gateway", "http://g"}, env: map[string]string{"BENCH_JWT_SECRET": "s"},
			check: func(t *testing.T, o *options) { assert.Equal(t, "s", o.jwtSecret) }},
		{name: "running gateway without secret", args: []string{"--gateway", "http://g"}, wantErr: "JWT secret"},
		{name: "unknown scenario", args: []string{"--scenarios", "nope"}, wantErr: `unknown scenario "nope"`},
		{name: "no scenario", args: []string{"--scenarios", ","}, wantErr: "no scenario"},
		{name: "header first", args: []string{"--header", "A: b"}, wantErr: "--header must follow"},
		{name: "bad header", args: []string{"--target", "http://a", "--header", "nocolon"}, wantErr: "not 'Name: value'"},
		{name: "bad target", args: []string{"--target", "ftp://a"}, wantErr: "not an http(s) URL"},
		{name: "bad upstream", args: []string{"--upstream", "h3"}, wantErr: `"h3" is not h1 or h2`},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := noEnv
			if tt.env != nil {
				getenv = func(k string) string { return tt.env[k] }
			}
			o, err := parseOptions(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, quick := range []bool{false, true} {
		args := []string{}
		if quick {
			args = append(args, "--quick")
		}
		o, err := parseOptions(args, noEnv, io.Discard)
		require.NoError(t, err)
		for _, name := range scenarioNames {
			s := o.scenario(name)
			assert.Equal(t, name, s.name)
			assert.NotEmpty(t, s.description, name)
			assert.NotNil(t, s.checks, name)
			assert.Positive(t, s.load.Duration, name)
			assert.Positive(t, s.users, name)
		}
		streams := o.scenario("streams")
		assert.Equal(t, o.streams, streams.load.MaxRequests)
		assert.Equal(t, "h2", streams.upstream)
		assert.Greater(t, streams.profile.Latency(), o.streamsRamp, "every stream outlasts the ramp, so that all are open at once")
		assert.Equal(t, min(scaleUsers, o.users), o.scenario("scale").users)
		assert.True(t, o.scenario("soak").trends)
	}
	o, err := parseOptions([]string{"--duration", "7s"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, o.scenario("rate500").load.Duration, "--duration overrides")
	assert.Equal(t, 10*time.Minute, o.scenario("soak").load.Duration, "but not the soak's")
}

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  report.Check
		want report.Check
	}{
		{"at most, met", atMost("p50 ≤ 1 ms", 0.42, 1, " ms"), report.Check{Goal: "p50 ≤ 1 ms", Measured: "0.42 ms", Pass: true}},
		{"at most, equal is met", atMost("zero errors", 0, 0, ""), report.Check{Goal: "zero errors", Measured: "0", Pass: true}},
		{"at most, missed", atMost("p99 ≤ 3 ms", 4.5, 3, " ms"), report.Check{Goal: "p99 ≤ 3 ms", Measured: "4.50 ms", Miss: "over by 1.50 ms"}},
		{"at least, met", atLeast("≥ 35 %", 41.25, 35, " %"), report.Check{Goal: "≥ 35 %", Measured: "41.2 %", Pass: true}},
		{"at least, missed", atLeast("all 50 streams", 48, 50, ""), report.Check{Goal: "all 50 streams", Measured: "48", Miss: "short by 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func TestScenarioChecks(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, noEnv, io.Discard)
	require.NoError(t, err)
	direct := &report.Phase{Target: directName, OK: 100, RPS: 1000, Latency: report.Dist{P50: 10, P99: 12}, Errors: map[string]int{}}
	gw := &report.Phase{Target: gatewayName, OK: 100, RPS: 400, Latency: report.Dist{P50: 10.5, P99: 16}, Errors: map[string]int{}}
	rs := &report.Scenario{Phases: []*report.Phase{direct, gw}, Comparisons: []*report.Comparison{report.Compare(direct, gw)}}

	checks := o.scenario("nonstream").checks(rs)
	require.Len(t, checks, 2)
	assert.True(t, checks[0].Pass, "40 % ≥ 35 %")
	assert.True(t, checks[1].Pass, "no errors")

	// The cached scenario: the nonstream goals, and the hits' share once
	// the phase's cache counts are known.
	checks = o.scenario("cached").checks(rs)
	require.Len(t, checks, 2, "no cache counts, no hit check")
	gw.Cache = &report.CacheCounts{Hits: 995, Misses: 5}
	checks = o.scenario("cached").checks(rs)
	require.Len(t, checks, 3)
	assert.True(t, checks[0].Pass && checks[1].Pass)
	assert.True(t, checks[2].Pass, "99.5 percent hits")
	gw.Cache = &report.CacheCounts{Hits: 2, Misses: 30, Bypasses: 68}
	checks = o.scenario("cached").checks(rs)
	assert.False(t, checks[2].Pass, "2 percent hits")
	assert.Equal(t, "short by 97 %", checks[2].Miss)
	gw.Cache = nil

	checks = o.scenario("rate500").checks(rs)
	require.Len(t, checks, 3)
	assert.True(t, checks[0].Pass, "added p50 0.5 ms")
	assert.False(t, checks[1].Pass, "added p99 4 ms")
	assert.Equal(t, "over by 1 ms", checks[1].Miss)
	assert.True(t, checks[2].Pass, "no errors")

	// With failures the comparison says nothing.
	gw.Errors["timeout"] = 1
	checks = o.scenario("rate500").checks(rs)
	assert.False(t, checks[0].Pass, "void, not met")
	assert.Equal(t, "not comparable (gateway: 100 ok, 1 failed)", checks[0].Measured)
	assert.False(t, checks[2].Pass, "one error")

	assert.Nil(t, o.scenario("rate500").checks(&report.Scenario{Phases: []*report.Phase{direct}}), "no gateway, no checks")

	// Fewer streams than asked: the asked-for number is reported as not run,
	// with the memory extrapolated per open stream.
	o.streamsAsked, o.streams = 50_000, 19_000
	gw = &report.Phase{Target: gatewayName, OK: 19_000, PeakOpen: 19_000, Errors: map[string]int{},
		Process: &report.Process{StartRSSBytes: 100 << 20, PeakRSSBytes: 100<<20 + 19_000*40<<10}}
	checks = o.scenario("streams").checks(&report.Scenario{Phases: []*report.Phase{gw}})
	require.Len(t, checks, 5)
	assert.True(t, checks[0].Pass && checks[1].Pass && checks[2].Pass)
	assert.False(t, checks[3].Pass)
	assert.Equal(t, "50000 concurrent streams on one instance", checks[3].Goal)
	assert.True(t, checks[4].Pass, "100 MiB + 50000 × 40 KiB < 3 GiB")
	assert.Contains(t, checks[4].Measured, "40.0 KiB per open stream")
}

func TestProcessOf(t *testing.T) {
	t.Parallel()
	at := time.Now()
	before := procstat.Sample{At: at, RSS: 10, CPU: 1, Goroutines: 5, HeapInuse: 3, StackInuse: 1, FDs: 4, Threads: 2}
	samples := []procstat.Sample{
		{At: at.Add(time.Second), RSS: 50, CPU: 2, Goroutines: 90, HeapInuse: 30, StackInuse: 7, FDs: 40, Threads: 8},
		{At: at.Add(2 * time.Second), RSS: 30, CPU: 3, Goroutines: 20, HeapInuse: -1, StackInuse: -1, FDs: -1, Threads: 9},
	}
	after := procstat.Sample{At: at.Add(3 * time.Second), RSS: 20, CPU: 4, Goroutines: 10, HeapInuse: 10, StackInuse: 2, FDs: 10, Threads: 6}
	got := processOf(before, after, samples, 2000)
	assert.Equal(t, &report.Process{PeakRSSBytes: 50, StartRSSBytes: 10, CPUSeconds: 3, CPUSecondsPer1000: 1.5,
		GoroutinesMax: 90, GoroutinesEnd: 10, HeapInuseMax: 30, StackInuseMax: 7, FDsMax: 40, ThreadsMax: 9}, got)

	unknown := procstat.Sample{RSS: -1, CPU: -1, Goroutines: -1, HeapInuse: -1, StackInuse: -1, FDs: -1, Threads: -1}
	got = processOf(unknown, unknown, nil, 10)
	assert.Equal(t, int64(-1), got.PeakRSSBytes)
	assert.Zero(t, got.CPUSeconds)
}

func TestTrendsOf(t *testing.T) {
	t.Parallel()
	at := time.Now()
	var samples []procstat.Sample
	for i := range 100 {
		samples = append(samples, procstat.Sample{At: at.Add(time.Duration(i) * 5 * time.Second),
			HeapInuse: 50 << 20, Goroutines: int64(100 + i), FDs: 30, RSS: -1})
	}
	// The warm-up is left out of the fit: a jump there does not count.
	samples[0].HeapInuse, samples[1].HeapInuse = 1<<20, 2<<20
	trends, points := trendsOf(samples)
	assert.Len(t, points, 100)
	assert.InDelta(t, 495, points[99].T, 1e-9)
	byName := map[string]report.Trend{}
	for _, tr := range trends {
		byName[tr.Metric] = tr
	}
	assert.NotContains(t, byName, "rss", "unknown figures are not fitted")
	assert.False(t, byName["heap in use"].Upward)
	assert.Equal(t, 80, byName["heap in use"].Samples)
	assert.True(t, byName["goroutines"].Upward)
	assert.InDelta(t, 720, byName["goroutines"].SlopePerHour, 1e-6, "one per 5 s")
	assert.False(t, byName["open fds"].Upward)
}

func TestChatURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/v1":                     "http://127.0.0.1:8080/v1/chat/completions",
		"http://127.0.0.1:8080/v1/":                    "http://127.0.0.1:8080/v1/chat/completions",
		"https://x.example/openai/v1/chat/completions": "https://x.example/openai/v1/chat/completions",
	} {
		got, err := chatURL(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := chatURL("/relative")
	assert.Error(t, err)
}

// Goroutines and descriptors that grow one for one with the accepted
// connections are idle keep-alives: reported, but the soak's checks judge
// the figures net of them; a real leak still fails.
func TestSoakJudgesNetOfInboundConnections(t *testing.T) {
	t.Parallel()
	o := &options{soakDuration: 10 * time.Minute}
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	run := func(leak int64) map[string]report.Check {
		var samples []procstat.Sample
		for i := range 100 {
			conns := int64(50 + i)
			samples = append(samples, procstat.Sample{At: at.Add(time.Duration(i) * 5 * time.Second),
				HeapInuse: 50 << 20, Goroutines: 100 + conns + leak*int64(i), FDs: 30 + conns, Inbound: conns, RSS: -1})
		}
		trends, _ := trendsOf(samples)
		gw := &report.Phase{Target: gatewayName, OK: 10, Errors: map[string]int{}}
		checks := map[string]report.Check{}
		for _, c := range o.scenario("soak").checks(&report.Scenario{Phases: []*report.Phase{gw}, Trends: trends}) {
			checks[c.Goal] = c
		}
		return checks
	}
	checks := run(0)
	assert.NotContains(t, checks, "no upward trend in goroutines", "the raw figure is reported, not judged")
	assert.True(t, checks["no upward trend in goroutines net of inbound connections"].Pass)
	assert.True(t, checks["no upward trend in open fds net of inbound connections"].Pass)
	checks = run(1)
	assert.False(t, checks["no upward trend in goroutines net of inbound connections"].Pass, "a goroutine leaked per sample")
}

// The one-user and one-key targets get the same goals as the gateway, each
// named, and a failure on one voids only its own comparisons.
func TestScenarioChecksPerGatewayTarget(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, noEnv, io.Discard)
	require.NoError(t, err)
	assert.True(t, o.scenario("nonstream").oneUser)
	assert.True(t, o.scenario("stream").oneUser)
	assert.False(t, o.scenario("scale").oneUser)

	direct := &report.Phase{Target: directName, OK: 100, RPS: 1000, Latency: report.Dist{P50: 10, P99: 12}, Errors: map[string]int{}}
	many := &report.Phase{Target: gatewayName, OK: 100, RPS: 400, Latency: report.Dist{P50: 10.5, P99: 13}, Errors: map[string]int{}}
	one := &report.Phase{Target: gatewayOneName, OK: 100, RPS: 200, Latency: report.Dist{P50: 10.5, P99: 13}, Errors: map[string]int{}}
	key := &report.Phase{Target: gatewayKeyName, OK: 90, RPS: 380, Latency: report.Dist{P50: 10.5, P99: 13}, Errors: map[string]int{"http_429": 10}}
	rs := &report.Scenario{Phases: []*report.Phase{direct, many, one, key},
		Comparisons: []*report.Comparison{report.Compare(direct, many), report.Compare(direct, one), report.Compare(direct, key)}}

	byGoal := map[string]report.Check{}
	for _, c := range o.scenario("nonstream").checks(rs) {
		byGoal[c.Goal] = c
	}
	require.Len(t, byGoal, 6)
	assert.True(t, byGoal["requests/s through the gateway ≥ 35 % of direct"].Pass)
	assert.False(t, byGoal["requests/s through the gateway ≥ 35 % of direct (gateway, 1 user)"].Pass, "20 %")
	assert.False(t, byGoal["zero errors through the gateway (gateway /v1, 1 key)"].Pass)

	byGoal = map[string]report.Check{}
	for _, c := range o.scenario("rate500").checks(rs) {
		byGoal[c.Goal] = c
	}
	assert.True(t, byGoal["added latency p99 ≤ 3 ms (gateway, 1 user)"].Pass)
	assert.Contains(t, byGoal["added latency p99 ≤ 3 ms (gateway /v1, 1 key)"].Measured, "not comparable")
}

// The baseline's CPU per 1000 requests is the yardstick: at most a third.
func TestCPUAgainstBaseline(t *testing.T) {
	t.Parallel()
	phase := func(name string, cpu float64) *report.Phase {
		return &report.Phase{Target: name, OK: 1000, Errors: map[string]int{}, Process: &report.Process{CPUSecondsPer1000: cpu}}
	}
	tests := []struct {
		name   string
		phases []*report.Phase
		want   int // checks
		pass   bool
	}{
		{"a third", []*report.Phase{phase(gatewayName, 0.2), phase(baselineName, 0.6)}, 1, true},
		{"a half", []*report.Phase{phase(gatewayName, 0.3), phase(baselineName, 0.6)}, 1, false},
		{"no baseline", []*report.Phase{phase(gatewayName, 0.3)}, 0, false},
		{"baseline unmeasured", []*report.Phase{phase(gatewayName, 0.3), phase(baselineName, 0)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checks := cpuAgainstBaseline(&report.Scenario{Phases: tt.phases})
			require.Len(t, checks, tt.want)
			if tt.want > 0 {
				assert.Equal(t, tt.pass, checks[0].Pass, checks[0].Measured)
			}
		})
	}
}
