// Package report holds a benchmark run's results, derives the comparisons
// between targets, and renders them as JSON and Markdown.
package report

import (
	"time"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/load"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/stats"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/sysinfo"
)

// Run is one invocation of the harness.
type Run struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Quick marks a smoke run with reduced sizes: its numbers are not
	// comparable to the targets.
	Quick     bool            `json:"quick"`
	Command   string          `json:"command"`
	Machine   sysinfo.Machine `json:"machine"`
	Settings  Settings        `json:"settings"`
	Gateway   Gateway         `json:"gateway"`
	Scenarios []*Scenario     `json:"scenarios"`
}

// Settings are the system settings in force during the run.
type Settings struct {
	// OpenFilesLimit is RLIMIT_NOFILE of the harness and the gateway.
	OpenFilesLimit uint64 `json:"open_files_limit"`
	// LocalPortRange is net.ipv4.ip_local_port_range during the run.
	LocalPortRange string `json:"local_port_range"`
	// Changes lists what the harness changed (and restored at the end).
	Changes []string `json:"changes,omitempty"`
	// SourceAddresses are the loopback addresses load is sent from.
	SourceAddresses []string `json:"source_addresses"`
	// Sysctls are other relevant settings as read.
	Sysctls map[string]string `json:"sysctls"`
	// GOMAXPROCS of the harness.
	GOMAXPROCS int `json:"gomaxprocs"`
}

// Gateway is how the gateway ran.
type Gateway struct {
	// Started is set when the harness started it (else it was given by URL).
	Started bool   `json:"started"`
	URL     string `json:"url"`
	Binary  string `json:"binary,omitempty"`
	// Version is what the binary's "version" command printed.
	Version string `json:"version,omitempty"`
	// Upstream is how the gateway reached the mock: "http/1.1" or "h2 (TLS)".
	Upstream string `json:"upstream"`
	// Env is the gateway's configuration, secrets left out.
	Env      []string `json:"env,omitempty"`
	Log      string   `json:"log,omitempty"`
	Users    int      `json:"registered_users"`
	Database string   `json:"database"`
	// Baseline is the older gateway measured beside it (--baseline-bin).
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Baseline is an older gateway run beside the measured one, with the same
// environment on a database of its own.
type Baseline struct {
	URL      string `json:"url"`
	Binary   string `json:"binary"`
	Version  string `json:"version,omitempty"`
	Log      string `json:"log,omitempty"`
	Database string `json:"database"`
}

// Scenario is one scenario's results.
type Scenario struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Load        LoadSpec     `json:"load"`
	Mock        mock.Profile `json:"mock"`
	// ActiveUsers is how many users the gateway's requests are spread over.
	ActiveUsers int `json:"active_users"`
	// Upstream is how the gateway reached the mock: h1 or h2.
	Upstream    string        `json:"upstream"`
	Phases      []*Phase      `json:"phases"`
	Comparisons []*Comparison `json:"comparisons"`
	Trends      []Trend       `json:"trends,omitempty"`
	Checks      []Check       `json:"checks,omitempty"`
	Notes       []string      `json:"notes,omitempty"`
	// Series is the gateway's samples over time (soak only).
	Series []Point `json:"series,omitempty"`
	// Profile is the file with the CPU profile taken during the gateway
	// phase, if one was.
	Profile string `json:"profile,omitempty"`
}

// LoadSpec describes a scenario's load.
type LoadSpec struct {
	Mode        load.Mode `json:"mode"`
	Concurrency int       `json:"concurrency,omitempty"`
	Rate        float64   `json:"rate_per_s,omitempty"`
	DurationS   float64   `json:"duration_s"`
	MaxRequests int       `json:"max_requests,omitempty"`
	StreamShare float64   `json:"stream_share"`
	WarmupS     float64   `json:"warmup_s"`
}

// Dist is a distribution in milliseconds.
type Dist struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// DistOf summarises durations.
func DistOf(ds []time.Duration) Dist {
	s := stats.Summarize(ds)
	return Dist{Count: s.Count, Mean: ms(s.Mean), P50: ms(s.P50), P90: ms(s.P90), P99: ms(s.P99), Max: ms(s.Max)}
}

// Minus is d - o at each percentile (for overheads).
func (d Dist) Minus(o Dist) Dist {
	return Dist{Count: d.Count, Mean: d.Mean - o.Mean, P50: d.P50 - o.P50, P90: d.P90 - o.P90, P99: d.P99 - o.P99, Max: d.Max - o.Max}
}

// Phase is one target's results in a scenario.
type Phase struct {
	Target    string         `json:"target"`
	Protocol  string         `json:"protocol"`
	Sent      int            `json:"sent"`
	OK        int            `json:"ok"`
	Errors    map[string]int `json:"errors"`
	DurationS float64        `json:"duration_s"`
	RPS       float64        `json:"requests_per_s"`
	Latency   Dist           `json:"latency"`
	TTFT      *Dist          `json:"ttft,omitempty"`
	TokenGap  *Dist          `json:"token_gap,omitempty"`
	// TokensPerStream is the mean number of tokens a successful stream
	// carried.
	TokensPerStream float64 `json:"tokens_per_stream,omitempty"`
	// PeakOpen is the most answers in progress at once.
	PeakOpen int      `json:"peak_open"`
	Process  *Process `json:"process,omitempty"`
	// CPU is how busy the machine was, and with what, during the phase.
	CPU *CPUShare `json:"cpu_cores,omitempty"`
	// Cache is how the phase's requests met the gateway's response cache
	// (the cached scenario), from its genzai_cache_requests_total.
	Cache *CacheCounts `json:"cache,omitempty"`
}

// CacheCounts are a phase's requests by response cache status.
type CacheCounts struct {
	Hits     int64 `json:"hits"`
	Misses   int64 `json:"misses"`
	Bypasses int64 `json:"bypasses"`
}

// HitShare is the hits' share of all the counted requests, 0 when none.
func (c CacheCounts) HitShare() float64 {
	n := c.Hits + c.Misses + c.Bypasses
	if n == 0 {
		return 0
	}
	return float64(c.Hits) / float64(n)
}

// CPUShare is the average number of CPUs busy during a phase, by party: it
// says what limited the phase, and whether something else on the machine
// disturbed it.
type CPUShare struct {
	// Harness is the load generator and the mock (one process).
	Harness  float64 `json:"harness"`
	Gateway  float64 `json:"gateway"`
	Postgres float64 `json:"postgres"`
	// Other is everything else: the kernel's share of the machine not
	// charged to a process, and other programs.
	Other float64 `json:"other"`
	// Steal is time the hypervisor gave to other guests.
	Steal float64 `json:"steal"`
}

// ErrorCount is the number of failed requests.
func (p *Phase) ErrorCount() int {
	n := 0
	for _, c := range p.Errors {
		n += c
	}
	return n
}

// PhaseOf summarises a load run.
func PhaseOf(p *load.Phase, proto load.Protocol) *Phase {
	out := &Phase{
		Target:    p.Target,
		Protocol:  proto.String(),
		Sent:      p.Sent,
		OK:        p.OK,
		Errors:    p.Errors,
		DurationS: p.Elapsed().Seconds(),
		RPS:       p.RPS(),
		Latency:   DistOf(p.Latency),
		PeakOpen:  p.PeakOpen,
	}
	if p.Streams > 0 {
		ttft, gap := DistOf(p.TTFT), DistOf(p.Gaps)
		out.TTFT, out.TokenGap = &ttft, &gap
		out.TokensPerStream = float64(p.Tokens) / float64(p.Streams)
	}
	return out
}

// Process is the gateway process's figures during a phase.
type Process struct {
	// PeakRSSBytes is the peak resident set (the kernel's VmHWM, reset at
	// the start of the phase, or the largest sample).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// StartRSSBytes is the resident set when the phase began.
	StartRSSBytes int64 `json:"start_rss_bytes"`
	// CPUSeconds is user+system CPU time used during the phase.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUSecondsPer1000 is CPUSeconds per 1000 answered requests.
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000_requests"`
	GoroutinesMax     int64   `json:"goroutines_max"`
	GoroutinesEnd     int64   `json:"goroutines_end"`
	HeapInuseMax      int64   `json:"heap_inuse_max_bytes"`
	StackInuseMax     int64   `json:"stack_inuse_max_bytes"`
	FDsMax            int64   `json:"open_fds_max"`
	ThreadsMax        int64   `json:"threads_max"`
}

// Comparison sets a target against the direct run of the same load.
type Comparison struct {
	Target string `json:"target"`
	// RPSRatio is the target's requests/s over the direct ones.
	RPSRatio float64 `json:"rps_ratio"`
	// AddedLatency is target minus direct at each percentile.
	AddedLatency Dist  `json:"added_latency"`
	TTFTOverhead *Dist `json:"ttft_overhead,omitempty"`
	GapOverhead  *Dist `json:"token_gap_overhead,omitempty"`
}

// Compare sets target against direct.
func Compare(direct, target *Phase) *Comparison {
	c := &Comparison{Target: target.Target, AddedLatency: target.Latency.Minus(direct.Latency)}
	if direct.RPS > 0 {
		c.RPSRatio = target.RPS / direct.RPS
	}
	if direct.TTFT != nil && target.TTFT != nil {
		d := target.TTFT.Minus(*direct.TTFT)
		c.TTFTOverhead = &d
	}
	if direct.TokenGap != nil && target.TokenGap != nil {
		d := target.TokenGap.Minus(*direct.TokenGap)
		c.GapOverhead = &d
	}
	return c
}

// Trend is the fitted trend of one gateway figure over a soak.
type Trend struct {
	Metric        string  `json:"metric"`
	Unit          string  `json:"unit"`
	Samples       int     `json:"samples"`
	WindowS       float64 `json:"window_s"`
	First         float64 `json:"first"`
	Last          float64 `json:"last"`
	Mean          float64 `json:"mean"`
	SlopePerHour  float64 `json:"slope_per_hour"`
	StdErrPerHour float64 `json:"slope_stderr_per_hour"`
	RisePercent   float64 `json:"rise_percent"`
	Upward        bool    `json:"upward"`
}

// TrendOf fits a trend; growth is called upward when it is significant
// and more than minRise percent of the mean over the window.
func TrendOf(metric, unit string, at []time.Time, ys []float64, minRise float64) Trend {
	t := stats.FitTrend(at, ys)
	return Trend{
		Metric: metric, Unit: unit, Samples: t.Samples, WindowS: t.Window.Seconds(),
		First: t.First, Last: t.Last, Mean: t.Mean,
		SlopePerHour: t.SlopePerHour, StdErrPerHour: t.StdErrPerHour, RisePercent: t.RisePercent,
		Upward: t.Upward(minRise),
	}
}

// Point is one sample of the gateway over time.
type Point struct {
	// T is seconds since the phase began.
	T          float64 `json:"t_s"`
	RSS        int64   `json:"rss_bytes"`
	HeapInuse  int64   `json:"heap_inuse_bytes"`
	Goroutines int64   `json:"goroutines"`
	FDs        int64   `json:"open_fds"`
	// Inbound counts the accepted connections open (-1: not counted).
	Inbound int64 `json:"inbound_connections"`
}

// Check is one target of the issue, measured.
type Check struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
	// Miss says by how much a missed goal was missed.
	Miss string `json:"miss,omitempty"`
}
