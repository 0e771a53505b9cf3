package report_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/load"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/report"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/sysinfo"
)

func durations(msecs ...float64) []time.Duration {
	out := make([]time.Duration, len(msecs))
	for i, m := range msecs {
		out[i] = time.Duration(m * float64(time.Millisecond))
	}
	return out
}

func TestPhaseOfAndCompare(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	direct := report.PhaseOf(&load.Phase{
		Target: "direct", Start: start, End: start.Add(2 * time.Second), Sent: 4, OK: 4, Errors: map[string]int{},
		Latency: durations(10, 20, 30, 40), TTFT: durations(1, 2, 3, 4), Gaps: durations(5, 5, 5), Streams: 4, Tokens: 8,
	}, load.OpenAI)
	gateway := report.PhaseOf(&load.Phase{
		Target: "gateway", Start: start, End: start.Add(4 * time.Second), Sent: 5, OK: 4, Errors: map[string]int{"timeout": 1},
		Latency: durations(11, 22, 33, 44), TTFT: durations(2, 3, 4, 5), Gaps: durations(5, 6, 5), Streams: 4, Tokens: 8,
	}, load.Gateway)

	assert.Equal(t, "openai", direct.Protocol)
	assert.Equal(t, "genzai", gateway.Protocol)
	assert.InDelta(t, 2.0, direct.RPS, 1e-9)
	assert.InDelta(t, 1.0, gateway.RPS, 1e-9)
	assert.Equal(t, 1, gateway.ErrorCount())
	assert.InDelta(t, 2.0, direct.TokensPerStream, 1e-9)
	assert.Equal(t, report.Dist{Count: 4, Mean: 25, P50: 20, P90: 40, P99: 40, Max: 40}, direct.Latency)

	c := report.Compare(direct, gateway)
	assert.Equal(t, "gateway", c.Target)
	assert.InDelta(t, 0.5, c.RPSRatio, 1e-9)
	assert.InDelta(t, 2.0, c.AddedLatency.P50, 1e-9)
	assert.InDelta(t, 4.0, c.AddedLatency.P99, 1e-9)
	require.NotNil(t, c.TTFTOverhead)
	assert.InDelta(t, 1.0, c.TTFTOverhead.P50, 1e-9)
	require.NotNil(t, c.GapOverhead)
	assert.InDelta(t, 0.0, c.GapOverhead.P50, 1e-9)
	assert.InDelta(t, 1.0, c.GapOverhead.Max, 1e-9)

	plain := report.PhaseOf(&load.Phase{Target: "x", Errors: map[string]int{}}, load.OpenAI)
	assert.Nil(t, plain.TTFT, "no streams, no TTFT")
	assert.Zero(t, plain.RPS)
	c = report.Compare(plain, gateway)
	assert.Zero(t, c.RPSRatio, "no ratio against zero")
	assert.Nil(t, c.TTFTOverhead)
}

func TestTrendOf(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	var at []time.Time
	var ys []float64
	for i := range 30 {
		at = append(at, t0.Add(time.Duration(i)*time.Minute))
		ys = append(ys, 100+float64(i)*2)
	}
	tr := report.TrendOf("goroutines", "", at, ys, 5)
	assert.Equal(t, "goroutines", tr.Metric)
	assert.InDelta(t, 120, tr.SlopePerHour, 1e-6)
	assert.InDelta(t, 29*60, tr.WindowS, 1e-6)
	assert.True(t, tr.Upward)
}

func sampleRun() *report.Run {
	gwPhase := &report.Phase{Target: "gateway", Protocol: "genzai", OK: 900, Errors: map[string]int{"http_503_providers_unavailable": 2, "timeout": 1}, RPS: 450,
		Latency:  report.Dist{P50: 2.5, P90: 4, P99: 12.26, Max: 150},
		TTFT:     &report.Dist{P50: 21.5, P99: 30},
		TokenGap: &report.Dist{P50: 20},
		CPU:      &report.CPUShare{Harness: 0.5, Gateway: 0.8, Postgres: 0.6, Other: 0.05, Steal: 0},
		Process:  &report.Process{PeakRSSBytes: 3 << 29, CPUSecondsPer1000: 0.3456, GoroutinesMax: 200, GoroutinesEnd: 20, HeapInuseMax: 64 << 20, StackInuseMax: 8 << 20, FDsMax: 100, ThreadsMax: 9}}
	directPhase := &report.Phase{Target: "direct", Protocol: "openai", OK: 1000, Errors: map[string]int{}, RPS: 500,
		Latency: report.Dist{P50: 1.5, P90: 3, P99: 10, Max: 100}, TTFT: &report.Dist{P50: 20.5, P99: 25}, TokenGap: &report.Dist{P50: 20}}
	s := &report.Scenario{
		Name: "stream", Description: "Streams.", Mock: mock.Profile{TTFT: 20 * time.Millisecond, Tokens: 50, Interval: 20 * time.Millisecond},
		Load:   report.LoadSpec{Mode: load.Open, Rate: 100, StreamShare: 1},
		Phases: []*report.Phase{directPhase, gwPhase},
		Checks: []report.Check{
			{Goal: "TTFT overhead p50 ≤ 1 ms", Measured: "1.00 ms", Pass: true},
			{Goal: "zero errors", Measured: "3", Miss: "over by 3"},
		},
		Trends: []report.Trend{{Metric: "heap in use", Unit: "bytes", First: 10 << 20, Last: 12 << 20, SlopePerHour: 1 << 20, RisePercent: 18.2, Upward: true}},
		Notes:  []string{"a note | with a pipe"},
	}
	s.Comparisons = []*report.Comparison{report.Compare(directPhase, gwPhase)}
	return &report.Run{
		Started: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 26, 3, 30, 0, 0, time.UTC),
		Command: "genzai-bench --scenarios stream",
		Machine: sysinfo.Machine{CPUModel: "AMD EPYC", Cores: 2, MemoryBytes: 24 << 30, Kernel: "Linux 6.18", GoVersion: "go1.26", PostgreSQL: "15.20", GitCommit: "0123456789abcdef"},
		Gateway: report.Gateway{Started: true, URL: "http://127.0.0.1:1", Upstream: "h1", Users: 100000, Log: "/tmp/g.log"},
		Settings: report.Settings{OpenFilesLimit: 20000, LocalPortRange: "32768 60999", SourceAddresses: []string{"127.0.0.2"},
			Changes: []string{"open-files limit raised"}},
		Scenarios: []*report.Scenario{s},
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	md := report.Markdown(sampleRun())
	for _, want := range []string{
		"## Benchmark results\n",
		"| Scenario | Load | Target | OK | req/s | p50 | p90 | p99 | max | TTFT p50 | TTFT p99 | token gap p50 | Errors |",
		"| stream | 100/s stream | direct | 1000 | 500 | 1.50 | 3.00 | 10.0 | 100 | 20.5 | 25.0 | 20.0 | 0 |",
		"| stream | 100/s stream | gateway | 900 | 450 | 2.50 | 4.00 | 12.3 | 150 | 21.5 | 30.0 | 20.0 | http_503_providers_unavailable: 2, timeout: 1 |",
		"| stream | gateway | 90.0 % | +1.00 | +1.00 | +2.26 | +50.0 | +1.00 | +5.00 | +0.00 |",
		"| stream | 1.50 GiB | 0.346 | 200 | 20 | 64 MiB | 8 MiB | 100 | 9 |",
		"| stream | TTFT overhead p50 ≤ 1 ms | 1.00 ms | met |",
		"Average CPUs busy (of 2)",
		"| stream | gateway | 0.50 | 0.80 | 0.60 | 0.05 | 0.00 |",
		"| stream | zero errors | 3 | **missed** (over by 3) |",
		"| heap in use | 10.0 MiB | 12.0 MiB | 1.0 MiB | 0.0 MiB | +18.2 % | **yes** |",
		"- stream: a note | with a pipe\n",
		"AMD EPYC, 2 cores, 24.0 GiB RAM, Linux 6.18, go1.26, PostgreSQL 15.20, commit 0123456789ab",
		"Open files limit 20000; local port range 32768 60999; load sent from 1 loopback addresses",
		"- `stream`: Streams. Mock: 50 tokens, the first after 20ms, then every 20ms.",
	} {
		assert.Contains(t, md, want)
	}
	quick := sampleRun()
	quick.Quick = true
	assert.True(t, strings.HasPrefix(report.Markdown(quick), "## Benchmark results (quick smoke run"))
}

func TestRunJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(sampleRun())
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	sc := back["scenarios"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"ttft_ms": 20.0, "tokens": 50.0, "interval_ms": 20.0}, sc["mock"])
	cmp := sc["comparisons"].([]any)[0].(map[string]any)
	assert.InDelta(t, 0.9, cmp["rps_ratio"], 1e-9)
	assert.Contains(t, back, "machine")
}
