// Package procstat samples a running process: memory, CPU time and open
// files from /proc when its pid is known, and the Go runtime's figures
// (goroutines, heap) from its Prometheus /metrics page.
package procstat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Sample is a process's figures at one moment; a figure that could not be
// read is -1.
type Sample struct {
	At time.Time
	// RSS is the resident set in bytes.
	RSS int64
	// CPU is user plus system CPU time in seconds since the process began.
	CPU float64
	// FDs is the number of open file descriptors.
	FDs int64
	// Threads is the number of OS threads.
	Threads int64
	// Goroutines, HeapInuse and StackInuse (bytes of goroutine stacks)
	// come from the process's /metrics.
	Goroutines int64
	HeapInuse  int64
	StackInuse int64
	// Inbound is the number of established TCP connections accepted on
	// the process's listening port: idle keep-alive connections cost a
	// goroutine and a descriptor each, which is not a leak.
	Inbound int64
}

// Source reads samples of one process.
type Source struct {
	// PID is the process id; 0 when the process is not local (then RSS,
	// CPU and FDs come from /metrics too).
	PID int
	// MetricsURL is the process's Prometheus page ("" for none).
	MetricsURL string
	// MetricsToken, when set, is sent as a bearer token.
	MetricsToken string
	// ListenPort is the process's listening port, for Inbound (0: not
	// counted).
	ListenPort int
	// Client fetches MetricsURL.
	Client *http.Client
}

// Sample reads the process's figures now.
func (s *Source) Sample(ctx context.Context) Sample {
	out := Sample{At: time.Now(), RSS: -1, CPU: -1, FDs: -1, Threads: -1, Goroutines: -1, HeapInuse: -1, StackInuse: -1, Inbound: -1}
	if s.ListenPort > 0 {
		if n, err := CountInbound(s.ListenPort); err == nil {
			out.Inbound = n
		}
	}
	if s.PID > 0 {
		if st, err := ReadStat(s.PID); err == nil {
			out.CPU, out.Threads = st.CPU, st.Threads
		}
		if m, err := ReadStatus(s.PID); err == nil {
			out.RSS = m["VmRSS"]
		}
		if n, err := CountFDs(s.PID); err == nil {
			out.FDs = n
		}
	}
	if s.MetricsURL != "" {
		m, err := s.scrape(ctx)
		if err == nil {
			get := func(name string) int64 {
				if v, ok := m[name]; ok {
					return int64(v)
				}
				return -1
			}
			out.Goroutines = get("go_goroutines")
			out.HeapInuse = get("go_memstats_heap_inuse_bytes")
			out.StackInuse = get("go_memstats_stack_inuse_bytes")
			if s.PID <= 0 {
				out.RSS = get("process_resident_memory_bytes")
				out.FDs = get("process_open_fds")
				if v, ok := m["process_cpu_seconds_total"]; ok {
					out.CPU = v
				}
			}
		}
	}
	return out
}

// ResetPeak restarts the kernel's peak resident set (VmHWM) of a local
// process; it reports whether that worked.
func (s *Source) ResetPeak() bool {
	if s.PID <= 0 {
		return false
	}
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.PID), []byte("5"), 0) == nil
}

// PeakRSS returns the peak resident set in bytes (VmHWM) of a local
// process since it began or since the last ResetPeak; -1 if unknown.
func (s *Source) PeakRSS() int64 {
	if s.PID <= 0 {
		return -1
	}
	m, err := ReadStatus(s.PID)
	if err != nil {
		return -1
	}
	if v, ok := m["VmHWM"]; ok {
		return v
	}
	return -1
}

func (s *Source) scrape(ctx context.Context) (map[string]float64, error) {
	return fetchMetrics(ctx, s, ParseMetrics)
}

// fetchMetrics gets the process's /metrics page (5 s at most) and parses
// it with parse.
func fetchMetrics(ctx context.Context, s *Source, parse func(io.Reader) (map[string]float64, error)) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.MetricsURL, nil)
	if err != nil {
		return nil, err
	}
	if s.MetricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.MetricsToken)
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.MetricsURL, res.Status)
	}
	return parse(res.Body)
}

// ParseMetrics reads the samples without labels of a Prometheus text
// page, by metric name.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsRune(name, '{') {
			continue
		}
		value, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		out[name] = v
	}
	return out, sc.Err()
}

// Series scrapes the process's /metrics page and returns the samples of
// the series named (each as written on the page, labels included:
// `genzai_cache_requests_total{status="hit"}`); a series the page lacks
// is absent from the map.
func (s *Source) Series(ctx context.Context, series ...string) (map[string]float64, error) {
	if s.MetricsURL == "" {
		return nil, errors.New("no metrics page")
	}
	return fetchMetrics(ctx, s, func(r io.Reader) (map[string]float64, error) { return ParseSeries(r, series...) })
}

// ParseSeries reads the samples of the named series (name and labels as
// written on the page) from a Prometheus text page.
func ParseSeries(r io.Reader, series ...string) (map[string]float64, error) {
	want := make(map[string]bool, len(series))
	for _, s := range series {
		want[s] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// Label values may hold spaces: the value follows the last '}'.
		cut := strings.LastIndexByte(line, '}') + 1
		if cut == 0 {
			cut = strings.IndexByte(line, ' ')
		}
		if cut <= 0 || cut >= len(line) || !want[line[:cut]] {
			continue
		}
		value, _, _ := strings.Cut(strings.TrimSpace(line[cut:]), " ")
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[line[:cut]] = v
		}
	}
	return out, sc.Err()
}

// Stat is the part of /proc/<pid>/stat that is read.
type Stat struct {
	// CPU is utime + stime in seconds.
	CPU     float64
	Threads int64
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// ParseStat parses the text of /proc/<pid>/stat.
func ParseStat(b []byte) (Stat, error) {
	// The command name is in parentheses and may contain spaces and
	// parentheses: fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
	if len(f) < 18 {
		return Stat{}, fmt.Errorf("malformed stat: %d fields", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	threads, err3 := strconv.ParseInt(f[17], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("malformed stat numbers")
	}
	return Stat{CPU: float64(utime+stime) / clockTicks, Threads: threads}, nil
}

// ReadStatus returns the kB fields of /proc/<pid>/status (VmRSS, VmHWM,
// ...) in bytes.
func ReadStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	return ParseStatus(b), nil
}

// ParseStatus returns the fields of a /proc/<pid>/status text given in kB,
// in bytes.
func ParseStatus(b []byte) map[string]int64 {
	out := map[string]int64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[name] = v << 10
		}
	}
	return out
}

// CountFDs counts the open file descriptors of a process.
func CountFDs(pid int) (int64, error) {
	d, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	defer d.Close()
	var n int64
	for {
		names, err := d.Readdirnames(4096)
		n += int64(len(names))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// CountInbound counts the established TCP connections (IPv4 and IPv6) whose
// local port is port: on a server's listening port, the connections it
// accepted.
func CountInbound(port int) (int64, error) {
	var n int64
	read := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		read++
		n += ParseInbound(b, port)
	}
	if read == 0 {
		return 0, errors.New("count inbound connections: no /proc/net/tcp")
	}
	return n, nil
}

// ParseInbound counts the lines of a /proc/net/tcp table in state
// ESTABLISHED (01) whose local address has port.
func ParseInbound(table []byte, port int) int64 {
	want := fmt.Sprintf(":%04X", port)
	var n int64
	for i, line := range strings.Split(string(table), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue // the header, or the last empty line
		}
		if strings.HasSuffix(f[1], want) && f[3] == "01" {
			n++
		}
	}
	return n
}

// Recorder samples a Source at a fixed interval.
type Recorder struct {
	mu      sync.Mutex
	samples []Sample
	cancel  context.CancelFunc
	done    chan struct{}
}

// Record samples src every interval, starting now, until Stop.
func Record(ctx context.Context, src *Source, every time.Duration) *Recorder {
	ctx, cancel := context.WithCancel(ctx)
	r := &Recorder{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s := src.Sample(ctx)
			if ctx.Err() != nil {
				return
			}
			r.mu.Lock()
			r.samples = append(r.samples, s)
			r.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Stop ends the sampling and returns the samples.
func (r *Recorder) Stop() []Sample {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples
}
