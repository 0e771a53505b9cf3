package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// startProfile profiles a gateway phase of d: the gateway's own CPU
// profile from its pprof listener (PPROF_ADDR, set by --profile) and,
// when perf is installed, a system-wide sample of which processes used the
// CPU (the gateway, PostgreSQL and the harness share the machine, so each
// one's share matters as much as what the gateway does). The returned
// function waits for both and writes them beside the results; it returns
// the name of the summary file.
func (h *harness) startProfile(ctx context.Context, s scenario, d time.Duration) func() (string, error) {
	snapAt := d
	if l := s.load; l.MaxRequests > 0 && l.Rate > 0 {
		// The last request is due then; the streams scenario's are all open.
		snapAt = min(d, time.Duration(float64(l.MaxRequests)/l.Rate*float64(time.Second))+200*time.Millisecond)
	}
	base := filepath.Join(h.outDir, h.stamp+"-profile-"+s.name)
	secs := max(int(d.Seconds()), 1)

	var pprofErr error
	pprofDone := make(chan struct{})
	go func() {
		defer close(pprofDone)
		if h.gw == nil || h.gw.PprofURL == "" {
			pprofErr = fmt.Errorf("the gateway has no pprof listener")
			return
		}
		pprofErr = fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", h.gw.PprofURL, secs), base+".cpu.pb.gz", d+time.Minute)
	}()

	// Memory and goroutines when the load is at its height: at the end of
	// the schedule (for the streams scenario, when all streams are open).
	var snapErr error
	snapDone := make(chan struct{})
	go func() {
		defer close(snapDone)
		if h.gw == nil || h.gw.PprofURL == "" {
			snapErr = fmt.Errorf("the gateway has no pprof listener")
			return
		}
		select {
		case <-time.After(snapAt):
		case <-ctx.Done():
			snapErr = ctx.Err()
			return
		}
		snapErr = errors.Join(
			fetch(ctx, h.gw.PprofURL+"/debug/pprof/heap", base+".heap.pb.gz", time.Minute),
			fetch(ctx, h.gw.PprofURL+"/debug/pprof/goroutine?debug=1", base+".goroutines.txt", time.Minute))
	}()

	data := filepath.Join(h.workDir, "perf-"+s.name+".data")
	var perf *exec.Cmd
	var perfErr bytes.Buffer
	if _, err := exec.LookPath("perf"); err == nil {
		perf = exec.CommandContext(ctx, "perf", "record", "-a", "-g", "-F", "499", "-o", data, "--", "sleep", strconv.Itoa(secs))
		perf.Stderr = &perfErr
		if err := perf.Start(); err != nil {
			perf = nil
		}
	}

	return func() (string, error) {
		<-pprofDone
		var out bytes.Buffer
		fmt.Fprintf(&out, "CPU profiles of the %s scenario's gateway phase (%d s).\n\n", s.name, secs)
		if perf != nil {
			if err := perf.Wait(); err != nil {
				fmt.Fprintf(&out, "perf record failed: %v: %s\n\n", err, perfErr.Bytes())
			} else {
				defer os.Remove(data)
				for _, r := range []struct{ title, args string }{
					{"CPU by process (perf record -a, all CPUs)", "--sort comm -g none"},
					{"postgres: functions by own time", "--comms postgres --no-children --sort symbol -g none --percent-limit 2"},
				} {
					args := append([]string{"report", "-i", data, "--stdio", "--no-header"}, splitArgs(r.args)...)
					b, err := exec.CommandContext(ctx, "perf", args...).Output()
					if err != nil {
						fmt.Fprintf(&out, "perf report failed: %v\n\n", err)
						continue
					}
					fmt.Fprintf(&out, "## %s\n\n%s\n\n", r.title, bytes.TrimSpace(b))
				}
			}
		}
		if pprofErr != nil {
			fmt.Fprintf(&out, "gateway CPU profile failed: %v\n", pprofErr)
		} else {
			for _, r := range []struct{ title, flag string }{
				{"gateway (pprof): functions by own time", "-top"},
				{"gateway (pprof): functions by time including callees", "-top -cum"},
			} {
				args := append([]string{"tool", "pprof"}, splitArgs(r.flag)...)
				args = append(args, "-nodecount=45", base+".cpu.pb.gz")
				b, err := exec.CommandContext(ctx, "go", args...).Output()
				if err != nil {
					fmt.Fprintf(&out, "go tool pprof failed: %v\n\n", err)
					continue
				}
				fmt.Fprintf(&out, "## %s (%s)\n\n%s\n\n", r.title, filepath.Base(base)+".cpu.pb.gz", bytes.TrimSpace(b))
			}
		}
		<-snapDone
		if snapErr != nil {
			fmt.Fprintf(&out, "heap and goroutine profiles failed: %v\n", snapErr)
		} else {
			b, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-sample_index=inuse_space", "-nodecount=25", base+".heap.pb.gz").Output()
			if err != nil {
				fmt.Fprintf(&out, "go tool pprof failed: %v\n\n", err)
			} else {
				fmt.Fprintf(&out, "## gateway (pprof): heap in use at the end of the schedule (%s)\n\n%s\n\n", filepath.Base(base)+".heap.pb.gz", bytes.TrimSpace(b))
			}
			if g, err := os.ReadFile(base + ".goroutines.txt"); err == nil {
				fmt.Fprintf(&out, "## gateway: goroutines at the end of the schedule, largest groups (%s)\n\n%s\n", filepath.Base(base)+".goroutines.txt", topGoroutines(g, 8))
			}
		}
		if err := os.WriteFile(base+".txt", out.Bytes(), 0o644); err != nil {
			return "", err
		}
		return filepath.Base(base) + ".txt", nil
	}
}

// topGoroutines returns the header and the first n groups of a goroutine
// profile in text form (debug=1, largest groups first), each with the
// count and the innermost frames.
func topGoroutines(b []byte, n int) string {
	blocks := strings.Split(string(b), "\n\n")
	if len(blocks) == 0 {
		return ""
	}
	var out strings.Builder
	for i, blk := range blocks {
		if i > n {
			break
		}
		lines := strings.Split(strings.TrimSpace(blk), "\n")
		if i == 0 {
			// The header line, then the first group.
			out.WriteString(lines[0] + "\n")
			lines = lines[1:]
		}
		if len(lines) == 0 {
			continue
		}
		count, _, _ := strings.Cut(lines[0], " @")
		var frames []string
		for _, l := range lines[1:] {
			f := strings.Fields(strings.TrimPrefix(l, "#"))
			if len(f) < 2 || strings.HasPrefix(f[1], "internal/") || strings.HasPrefix(f[1], "runtime.") {
				continue // the parking machinery says little
			}
			name, _, _ := strings.Cut(f[1], "+0x")
			frames = append(frames, name)
			if len(frames) == 5 {
				break
			}
		}
		fmt.Fprintf(&out, "%8s  %s\n", count, strings.Join(frames, " < "))
	}
	return out.String()
}

// fetch saves the body of url into file.
func fetch(ctx context.Context, url, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("GET %s: %s: %s", url, res.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func splitArgs(s string) []string { return strings.Fields(s) }
