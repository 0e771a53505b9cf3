package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/load"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/report"
)

// scenarioNames lists the scenarios in the order they run.
var scenarioNames = []string{"nonstream", "cached", "rate500", "stream", "scale", "streams", "soak"}

// scaleUsers is how many users the scale scenario spreads its requests over.
const scaleUsers = 10_000

// scenario is one load shape, run against every target in turn.
type scenario struct {
	name        string
	description string
	profile     mock.Profile
	load        load.Load
	warmup      time.Duration
	// users is how many users the gateway's requests are spread over.
	users int
	// sampleEvery is the interval of the gateway's process samples.
	sampleEvery time.Duration
	// trends fits the gateway's samples for growth (the soak).
	trends bool
	// oneUser adds two gateway targets: every request from one user, and
	// the OpenAI-compatible route with one personal API key.
	oneUser bool
	// cached runs the gateway's load against a gateway of its own started
	// with CACHE_ENABLED=true (on the same database, with the same users),
	// and counts the phase's cache hits.
	cached bool
	// upstream is how the gateway reaches the mock: h1 or h2.
	upstream string
	// client is how the load reaches the gateway: h1 (HTTP/1.1) or h2
	// (HTTP/2 without TLS).
	client string
	// notes go into the report.
	notes []string
	// checks are the targets for the scenario.
	checks func(*report.Scenario) []report.Check
}

// scenario returns the named scenario sized by the options.
func (o *options) scenario(name string) scenario {
	s := o.baseScenario(name)
	s.upstream, s.client = o.upstream, "h1"
	if name == "streams" {
		s.upstream = o.streamsUpstream
		if o.streamsClient == "h2" {
			s.client = "h2"
		}
		if o.streamsNote != "" {
			s.notes = append(s.notes, o.streamsNote)
		}
	}
	return s
}

func (o *options) baseScenario(name string) scenario {
	dur := func(full, quick time.Duration) time.Duration {
		switch {
		case o.duration > 0:
			return o.duration
		case o.quick:
			return quick
		}
		return full
	}
	warmup := 3 * time.Second
	sample := 2 * time.Second
	if o.quick {
		warmup, sample = 300*time.Millisecond, 250*time.Millisecond
	}
	timeout := 30 * time.Second
	switch name {
	case "nonstream":
		return scenario{
			name:        name,
			description: "Non-streamed chat, closed loop at concurrency 64; the mock answers at once, so this measures the cost of the full path (JWT, user lookup, rate limit, quota in PostgreSQL, request log).",
			profile:     mock.Profile{Tokens: 10},
			load:        load.Load{Mode: load.Closed, Concurrency: 64, Duration: dur(30*time.Second, time.Second), Timeout: timeout},
			warmup:      warmup, users: o.activeUsers, sampleEvery: sample, oneUser: true,
			checks: func(s *report.Scenario) []report.Check {
				return withBaseline(s, func(of string, c *report.Comparison, gw *report.Phase) []report.Check {
					return []report.Check{
						atLeast("requests/s through the gateway ≥ 35 % of direct"+of, c.RPSRatio*100, 35, " %"),
						atMost("zero errors through the gateway"+of, float64(gw.ErrorCount()), 0, ""),
					}
				})
			},
		}
	case "cached":
		// The warm-up must reach every user for the phase to be hits: a
		// smoke run's 300 ms may not reach 500 on a loaded machine (CI).
		users := o.activeUsers
		if o.quick {
			users = min(users, 20)
		}
		return scenario{
			name:        name,
			description: fmt.Sprintf("The nonstream load (non-streamed chat, closed loop at concurrency 64, spread over the %d active users) asking the same question over and over, through a gateway started with CACHE_ENABLED=true (CACHE_SCOPE=user): the warm-up stores each user's answer, then every request is a hit answered without a provider call.", users),
			profile:     mock.Profile{Tokens: 10},
			load:        load.Load{Mode: load.Closed, Concurrency: 64, Duration: dur(30*time.Second, time.Second), Timeout: timeout},
			warmup:      warmup, users: users, sampleEvery: sample, cached: true,
			checks: func(s *report.Scenario) []report.Check {
				return eachGateway(s, func(of string, c *report.Comparison, gw *report.Phase) []report.Check {
					checks := []report.Check{
						atLeast("requests/s through the gateway ≥ 35 % of direct, as nonstream"+of, c.RPSRatio*100, 35, " %"),
						atMost("zero errors through the gateway"+of, float64(gw.ErrorCount()), 0, ""),
					}
					if gw.Cache != nil {
						checks = append(checks, atLeast("cache hits ≥ 99 % of the requests after the warm-up"+of, gw.Cache.HitShare()*100, 99, " %"))
					}
					return checks
				})
			},
		}
	case "rate500":
		return scenario{
			name:        name,
			description: "Non-streamed chat at a fixed 500 requests/s (open loop, latency counted from each request's scheduled time); the mock answers after 10 ms.",
			profile:     mock.Profile{TTFT: 10 * time.Millisecond, Tokens: 10},
			load:        load.Load{Mode: load.Open, Rate: 500, Duration: dur(60*time.Second, time.Second), Timeout: timeout},
			warmup:      warmup, users: o.activeUsers, sampleEvery: sample, oneUser: true,
			checks: func(s *report.Scenario) []report.Check {
				return withBaseline(s, func(of string, c *report.Comparison, gw *report.Phase) []report.Check {
					return []report.Check{
						comparable(s, gw.Target, atMost("added latency p50 ≤ 1 ms"+of, c.AddedLatency.P50, 1, " ms")),
						comparable(s, gw.Target, atMost("added latency p99 ≤ 3 ms"+of, c.AddedLatency.P99, 3, " ms")),
						atMost("zero errors through the gateway"+of, float64(gw.ErrorCount()), 0, ""),
					}
				})
			},
		}
	case "stream":
		p := mock.Profile{TTFT: 20 * time.Millisecond, Tokens: 50, Interval: 20 * time.Millisecond}
		rate := 100.0
		if o.quick {
			p.Tokens, p.Interval, rate = 10, 10*time.Millisecond, 50
		}
		return scenario{
			name:        name,
			description: fmt.Sprintf("Streamed chat at %.0f streams/s (open loop): %d tokens %v apart, the first after %v.", rate, p.Tokens, p.Interval, p.TTFT),
			profile:     p,
			load:        load.Load{Mode: load.Open, Rate: rate, Duration: dur(60*time.Second, time.Second), StreamShare: 1, Timeout: timeout},
			warmup:      warmup, users: o.activeUsers, sampleEvery: sample, oneUser: true,
			checks: func(s *report.Scenario) []report.Check {
				return withBaseline(s, func(of string, c *report.Comparison, gw *report.Phase) []report.Check {
					if c.TTFTOverhead == nil {
						return nil
					}
					return []report.Check{
						comparable(s, gw.Target, atMost("time-to-first-token overhead p50 ≤ 1 ms"+of, c.TTFTOverhead.P50, 1, " ms")),
						comparable(s, gw.Target, atMost("time-to-first-token overhead p99 ≤ 5 ms"+of, c.TTFTOverhead.P99, 5, " ms")),
						comparable(s, gw.Target, atMost("tokens forwarded without batching: token gap overhead p50 ≤ 1 ms"+of, c.GapOverhead.P50, 1, " ms")),
						atLeast(fmt.Sprintf("each of the %d tokens its own event%s", p.Tokens, of), gw.TokensPerStream, float64(p.Tokens), " per stream"),
						atMost("zero errors through the gateway"+of, float64(gw.ErrorCount()), 0, ""),
					}
				})
			},
		}
	case "scale":
		return scenario{
			name: name,
			description: fmt.Sprintf("The seed's scale: %d registered users, non-streamed requests spread over %d of them, closed loop at concurrency 64 (compare with nonstream, spread over %d).",
				o.users, min(scaleUsers, o.users), o.activeUsers),
			profile: mock.Profile{Tokens: 10},
			load:    load.Load{Mode: load.Closed, Concurrency: 64, Duration: dur(30*time.Second, time.Second), Timeout: timeout},
			warmup:  warmup, users: min(scaleUsers, o.users), sampleEvery: sample,
			checks: func(s *report.Scenario) []report.Check {
				gw := gatewayPhase(s)
				if gw == nil {
					return nil
				}
				return []report.Check{atMost("zero errors through the gateway", float64(gw.ErrorCount()), 0, "")}
			},
		}
	case "streams":
		interval := 5 * time.Second
		if o.quick {
			interval = 500 * time.Millisecond
		}
		ttft := 100 * time.Millisecond
		tokens := int((o.streamsHold-ttft)/interval) + 1
		n := o.streams
		return scenario{
			name: name,
			description: fmt.Sprintf("%d concurrent streams: opened evenly over %v, each lasting %v (%d tokens %v apart), so that all are open at once for the last %v of the ramp's streams.",
				n, o.streamsRamp, o.streamsHold, tokens, interval, o.streamsHold-o.streamsRamp),
			profile: mock.Profile{TTFT: ttft, Tokens: tokens, Interval: interval},
			load: load.Load{Mode: load.Open, Rate: float64(n) / o.streamsRamp.Seconds(), Duration: o.streamsRamp + time.Second,
				MaxRequests: n, StreamShare: 1, Timeout: o.streamsHold + 2*time.Minute, MaxInFlight: n + 1000},
			users: o.activeUsers, sampleEvery: sample,
			checks: func(s *report.Scenario) []report.Check {
				gw := gatewayPhase(s)
				if gw == nil {
					return nil
				}
				checks := []report.Check{
					atLeast(fmt.Sprintf("all %d streams completed", n), float64(gw.OK), float64(n), ""),
					atLeast(fmt.Sprintf("all %d open at once", n), float64(gw.PeakOpen), float64(n), ""),
				}
				if gw.Process != nil && gw.Process.PeakRSSBytes > 0 {
					checks = append(checks, atMost(fmt.Sprintf("gateway peak RSS ≤ 3 GiB (at %d streams)", n), float64(gw.Process.PeakRSSBytes)/(1<<30), 3, " GiB"))
				}
				if asked := o.streamsAsked; asked > n {
					checks = append(checks, report.Check{Goal: fmt.Sprintf("%d concurrent streams on one instance", asked),
						Measured: fmt.Sprintf("not runnable here: %d at most", n), Miss: "the open-files limit (see notes)"})
					if pr := gw.Process; pr != nil && pr.PeakRSSBytes > 0 && pr.StartRSSBytes > 0 && gw.PeakOpen == n {
						perStream := float64(pr.PeakRSSBytes-pr.StartRSSBytes) / float64(gw.PeakOpen)
						projected := float64(pr.StartRSSBytes) + perStream*float64(asked)
						c := atMost(fmt.Sprintf("gateway RSS for %d streams ≤ 3 GiB (extrapolated)", asked), projected/(1<<30), 3, " GiB")
						c.Measured += fmt.Sprintf(" (%.1f KiB per open stream)", perStream/1024)
						checks = append(checks, c)
					}
				}
				return checks
			},
		}
	case "soak":
		p := mock.Profile{TTFT: 20 * time.Millisecond, Tokens: 10, Interval: 10 * time.Millisecond}
		rate := 300.0
		soakSample := 5 * time.Second
		if o.quick {
			soakSample = 200 * time.Millisecond
		}
		return scenario{
			name:        name,
			description: fmt.Sprintf("Soak: %.0f requests/s for %v (open loop), 20 %% of them streamed (every answer %d tokens over %v); the gateway's heap, goroutines and open files are sampled every %v and fitted for a trend.", rate, o.soakDuration, p.Tokens, p.Latency(), soakSample),
			profile:     p,
			load:        load.Load{Mode: load.Open, Rate: rate, Duration: o.soakDuration, StreamShare: 0.2, Timeout: timeout},
			warmup:      warmup, users: o.activeUsers, sampleEvery: soakSample, trends: true,
			checks: func(s *report.Scenario) []report.Check {
				gw := gatewayPhase(s)
				if gw == nil {
					return nil
				}
				checks := []report.Check{atMost("zero errors through the gateway", float64(gw.ErrorCount()), 0, "")}
				judged := map[string]bool{}
				for _, t := range s.Trends {
					judged[t.Metric] = true
				}
				for _, t := range s.Trends {
					switch {
					case t.Metric == "rss", t.Metric == "inbound connections":
						continue // reported: RSS follows the heap and the allocator's whims; connections are the load's
					case judged[netOfInbound(t.Metric)]:
						// Judged net of the idle keep-alive connections the
						// load generator keeps open, which are no leak.
						continue
					}
					c := report.Check{Goal: "no upward trend in " + t.Metric, Pass: !t.Upward,
						Measured: fmt.Sprintf("%s per hour (±%s), %+.1f %% over the window", trendUnit(t.SlopePerHour, t.Unit), trendUnit(t.StdErrPerHour, t.Unit), t.RisePercent)}
					if t.Upward {
						c.Miss = fmt.Sprintf("grows %s per hour", trendUnit(t.SlopePerHour, t.Unit))
					}
					checks = append(checks, c)
				}
				return checks
			},
		}
	}
	panic("unknown scenario " + name)
}

func trendUnit(v float64, unit string) string {
	if unit == "bytes" {
		return fmt.Sprintf("%+.2f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%+.1f", v)
}

// comparable voids a check that compares the gateway with the direct path
// when either side had failures: the comparison then says nothing (a
// gateway answering nothing has no latency to add).
func comparable(s *report.Scenario, target string, c report.Check) report.Check {
	var bad []string
	for _, p := range s.Phases {
		if p.Target != directName && p.Target != target {
			continue
		}
		if n := p.ErrorCount(); n > 0 || p.OK == 0 {
			bad = append(bad, fmt.Sprintf("%s: %d ok, %d failed", p.Target, p.OK, n))
		}
	}
	if len(bad) == 0 {
		return c
	}
	return report.Check{Goal: c.Goal, Measured: "not comparable (" + strings.Join(bad, "; ") + ")", Miss: "requests failed"}
}

// gatewayPhase returns the gateway's phase of s, or nil.
func gatewayPhase(s *report.Scenario) *report.Phase {
	for _, p := range s.Phases {
		if p.Target == gatewayName {
			return p
		}
	}
	return nil
}

// withBaseline is eachGateway plus, when an older gateway ran beside the
// current one (--baseline-bin), the CPU comparison with it.
func withBaseline(s *report.Scenario, checks func(of string, c *report.Comparison, gw *report.Phase) []report.Check) []report.Check {
	return append(eachGateway(s, checks), cpuAgainstBaseline(s)...)
}

// cpuAgainstBaseline checks the gateway's CPU per 1000 answered requests
// against the baseline's, under the same load in the same run: the issue
// asks for at most a third.
func cpuAgainstBaseline(s *report.Scenario) []report.Check {
	var gw, base *report.Phase
	for _, p := range s.Phases {
		switch p.Target {
		case gatewayName:
			gw = p
		case baselineName:
			base = p
		}
	}
	if gw == nil || base == nil || gw.Process == nil || base.Process == nil || base.Process.CPUSecondsPer1000 <= 0 || gw.Process.CPUSecondsPer1000 <= 0 {
		return nil
	}
	share := gw.Process.CPUSecondsPer1000 / base.Process.CPUSecondsPer1000 * 100
	c := atMost("gateway CPU per 1000 requests ≤ a third of the baseline's", share, 100.0/3, " %")
	c.Measured = fmt.Sprintf("%.3f s against %.3f s: %s %%", gw.Process.CPUSecondsPer1000, base.Process.CPUSecondsPer1000, fmtNum(share))
	return []report.Check{c}
}

// eachGateway gathers the checks of every gateway target of s that has a
// comparison with direct; of names the target in each goal ("" for the
// gateway spread over many users, as the goals always read).
func eachGateway(s *report.Scenario, checks func(of string, c *report.Comparison, gw *report.Phase) []report.Check) []report.Check {
	var out []report.Check
	for _, name := range gatewayNames {
		var c *report.Comparison
		for _, cc := range s.Comparisons {
			if cc.Target == name {
				c = cc
			}
		}
		var gw *report.Phase
		for _, p := range s.Phases {
			if p.Target == name {
				gw = p
			}
		}
		if c == nil || gw == nil {
			continue
		}
		of := ""
		if name != gatewayName {
			of = " (" + name + ")"
		}
		out = append(out, checks(of, c, gw)...)
	}
	return out
}

// atMost checks measured <= limit.
func atMost(goal string, measured, limit float64, unit string) report.Check {
	c := report.Check{Goal: goal, Measured: fmt.Sprintf("%s%s", fmtNum(measured), unit), Pass: measured <= limit}
	if !c.Pass {
		c.Miss = fmt.Sprintf("over by %s%s", fmtNum(measured-limit), unit)
	}
	return c
}

// atLeast checks measured >= limit.
func atLeast(goal string, measured, limit float64, unit string) report.Check {
	c := report.Check{Goal: goal, Measured: fmt.Sprintf("%s%s", fmtNum(measured), unit), Pass: measured >= limit}
	if !c.Pass {
		c.Miss = fmt.Sprintf("short by %s%s", fmtNum(limit-measured), unit)
	}
	return c
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) < 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
