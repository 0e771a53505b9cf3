package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Markdown renders the run as Markdown: the results per target, the
// gateway against the direct path, the gateway process, the targets of
// the issue, the soak trends and the machine.
func Markdown(r *Run) string {
	var b strings.Builder
	title := "Benchmark results"
	if r.Quick {
		title += " (quick smoke run: reduced sizes, not comparable to the targets)"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	fmt.Fprintf(&b, "Run %s, %s, took %s. Latencies in ms. Machine: %s.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), "`"+r.Command+"`",
		r.Finished.Sub(r.Started).Round(1e9), r.Machine)

	b.WriteString("### Per target\n\n")
	t := table{head: []string{"Scenario", "Load", "Target", "OK", "req/s", "p50", "p90", "p99", "max", "TTFT p50", "TTFT p99", "token gap p50", "Errors"}}
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			row := []string{s.Name, loadText(s), p.Target, fmt.Sprint(p.OK), num(p.RPS),
				msText(p.Latency.P50), msText(p.Latency.P90), msText(p.Latency.P99), msText(p.Latency.Max), "", "", "", errorsText(p.Errors)}
			if p.TTFT != nil {
				row[9], row[10] = msText(p.TTFT.P50), msText(p.TTFT.P99)
				row[11] = msText(p.TokenGap.P50)
			}
			t.rows = append(t.rows, row)
		}
	}
	b.WriteString(t.String())

	b.WriteString("\n### Gateway (and other targets) against direct\n\n")
	b.WriteString("Added latency is the target's percentile minus the direct one, in ms.\n\n")
	t = table{head: []string{"Scenario", "Target", "req/s ratio", "added p50", "added p90", "added p99", "added max", "TTFT overhead p50", "TTFT overhead p99", "token gap overhead p50"}}
	for _, s := range r.Scenarios {
		for _, c := range s.Comparisons {
			row := []string{s.Name, c.Target, pct(c.RPSRatio), signed(c.AddedLatency.P50), signed(c.AddedLatency.P90),
				signed(c.AddedLatency.P99), signed(c.AddedLatency.Max), "", "", ""}
			if c.TTFTOverhead != nil {
				row[7], row[8] = signed(c.TTFTOverhead.P50), signed(c.TTFTOverhead.P99)
			}
			if c.GapOverhead != nil {
				row[9] = signed(c.GapOverhead.P50)
			}
			t.rows = append(t.rows, row)
		}
	}
	b.WriteString(t.String())

	b.WriteString("\n### Gateway process\n\n")
	t = table{head: []string{"Scenario", "peak RSS", "CPU s / 1000 req", "goroutines max", "goroutines end", "heap in use max", "stacks max", "open fds max", "threads max"}}
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			if p.Process == nil {
				continue
			}
			pr := p.Process
			t.rows = append(t.rows, []string{s.Name, bytesText(pr.PeakRSSBytes), fmt.Sprintf("%.3f", pr.CPUSecondsPer1000),
				count(pr.GoroutinesMax), count(pr.GoroutinesEnd), bytesText(pr.HeapInuseMax), bytesText(pr.StackInuseMax), count(pr.FDsMax), count(pr.ThreadsMax)})
		}
	}
	b.WriteString(t.String())

	t = table{head: []string{"Scenario", "Target", "hits", "misses", "bypasses", "hit share"}}
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			if c := p.Cache; c != nil {
				t.rows = append(t.rows, []string{s.Name, p.Target, count(c.Hits), count(c.Misses), count(c.Bypasses), pct(c.HitShare())})
			}
		}
	}
	if len(t.rows) > 0 {
		b.WriteString("\n### Response cache\n\nThe measured phase's requests by how they met the cache (the gateway's `genzai_cache_requests_total`, after the warm-up filled it).\n\n")
		b.WriteString(t.String())
	}

	t = table{head: []string{"Scenario", "Target", "harness + mock", "gateway", "PostgreSQL", "other", "steal"}}
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			if c := p.CPU; c != nil {
				t.rows = append(t.rows, []string{s.Name, p.Target, cores(c.Harness), cores(c.Gateway), cores(c.Postgres), cores(c.Other), cores(c.Steal)})
			}
		}
	}
	if len(t.rows) > 0 {
		fmt.Fprintf(&b, "\n### CPU during each phase\n\nAverage CPUs busy (of %d); \"other\" is the rest of the machine, which should be near 0.\n\n", r.Machine.Cores)
		b.WriteString(t.String())
	}

	t = table{head: []string{"Scenario", "Goal", "Measured", "Result"}}
	for _, s := range r.Scenarios {
		for _, c := range s.Checks {
			res := "met"
			if !c.Pass {
				res = "**missed**"
				if c.Miss != "" {
					res += " (" + c.Miss + ")"
				}
			}
			t.rows = append(t.rows, []string{s.Name, c.Goal, c.Measured, res})
		}
	}
	if len(t.rows) > 0 {
		b.WriteString("\n### Targets\n\n")
		b.WriteString(t.String())
	}

	for _, s := range r.Scenarios {
		if len(s.Trends) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### Trends over the %s (gateway, least-squares fit after warm-up)\n\n", s.Name)
		t = table{head: []string{"Metric", "fitted start", "fitted end", "slope per hour", "± (std. error)", "rise over window", "upward trend"}}
		for _, tr := range s.Trends {
			up := "no"
			if tr.Upward {
				up = "**yes**"
			}
			t.rows = append(t.rows, []string{tr.Metric, unitText(tr.First, tr.Unit), unitText(tr.Last, tr.Unit),
				unitText(tr.SlopePerHour, tr.Unit), unitText(tr.StdErrPerHour, tr.Unit), fmt.Sprintf("%+.1f %%", tr.RisePercent), up})
		}
		b.WriteString(t.String())
	}

	notes := false
	for _, s := range r.Scenarios {
		for _, n := range s.Notes {
			if !notes {
				b.WriteString("\n### Notes\n\n")
				notes = true
			}
			fmt.Fprintf(&b, "- %s: %s\n", s.Name, n)
		}
	}

	b.WriteString("\n### Setup\n\n")
	fmt.Fprintf(&b, "- Gateway: %s, upstream %s, %d registered users, log `%s`.\n", gatewayText(r.Gateway), r.Gateway.Upstream, r.Gateway.Users, r.Gateway.Log)
	fmt.Fprintf(&b, "- Open files limit %d; local port range %s; load sent from %d loopback addresses; harness GOMAXPROCS %d.\n",
		r.Settings.OpenFilesLimit, r.Settings.LocalPortRange, len(r.Settings.SourceAddresses), r.Settings.GOMAXPROCS)
	for _, c := range r.Settings.Changes {
		fmt.Fprintf(&b, "- Changed for the run: %s\n", c)
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "- `%s`: %s Mock: %s.\n", s.Name, s.Description, s.Mock)
	}
	return b.String()
}

func gatewayText(g Gateway) string {
	if g.Started {
		out := "started by the harness (" + g.URL + ")"
		if g.Version != "" {
			out = "version " + g.Version + ", " + out
		}
		return out
	}
	return "given at " + g.URL
}

func loadText(s *Scenario) string {
	l := s.Load
	var out string
	if l.Mode == "open" {
		out = fmt.Sprintf("%s/s", num(l.Rate))
		if l.MaxRequests > 0 {
			out = fmt.Sprintf("%d streams at %s/s", l.MaxRequests, num(l.Rate))
		}
	} else {
		out = fmt.Sprintf("c%d", l.Concurrency)
	}
	switch {
	case l.StreamShare >= 1:
		out += " stream"
	case l.StreamShare > 0:
		out += fmt.Sprintf(" %.0f %% stream", l.StreamShare*100)
	}
	return out
}

func errorsText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// msText prints milliseconds with precision that fits their size.
func msText(v float64) string {
	switch a := abs(v); {
	case a < 10:
		return fmt.Sprintf("%.2f", v)
	case a < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func signed(v float64) string {
	s := msText(v)
	if v >= 0 {
		return "+" + s
	}
	return s
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func cores(v float64) string { return fmt.Sprintf("%.2f", v) }

func pct(v float64) string { return fmt.Sprintf("%.1f %%", v*100) }

func count(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprint(v)
}

func bytesText(v int64) string {
	switch {
	case v < 0:
		return "n/a"
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(v)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20))
}

func unitText(v float64, unit string) string {
	if unit == "bytes" {
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.1f", v)
}

// table is a Markdown table.
type table struct {
	head []string
	rows [][]string
}

func (t table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}
