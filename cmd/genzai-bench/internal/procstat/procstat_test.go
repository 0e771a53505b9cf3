package procstat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/procstat"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    procstat.Stat
		wantErr bool
	}{
		{
			name: "plain",
			in:   "4242 (genzai) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 1000000 5000 18446744073709551615",
			want: procstat.Stat{CPU: 3.25, Threads: 12},
		},
		{
			name: "name with spaces and parentheses",
			in:   "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 3 0 1 1 1 1",
			want: procstat.Stat{CPU: 0.03, Threads: 3},
		},
		{name: "truncated", in: "7 (x) R 1 2 3", wantErr: true},
		{name: "no name", in: "garbage", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := procstat.ParseStat([]byte(tt.in))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want.CPU, got.CPU, 1e-9)
			assert.Equal(t, tt.want.Threads, got.Threads)
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	in := "Name:\tgenzai\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\nbogus line\n"
	got := procstat.ParseStatus([]byte(in))
	assert.Equal(t, map[string]int64{"VmHWM": 200 << 20, "VmRSS": 100 << 20}, got)
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	page := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 1.2345e+07
http_requests_total{route="/x"} 7
process_open_fds 19
broken_line
`
	got, err := procstat.ParseMetrics(strings.NewReader(page))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"go_goroutines": 42, "go_memstats_heap_inuse_bytes": 12345000, "process_open_fds": 19}, got)
}

func TestParseSeries(t *testing.T) {
	t.Parallel()
	page := `# HELP genzai_cache_requests_total Chat requests by how they met the response cache.
# TYPE genzai_cache_requests_total counter
genzai_cache_requests_total{status="bypass"} 0
genzai_cache_requests_total{status="hit"} 1.25e+06
genzai_cache_requests_total{status="miss"} 1000
genzai_other_total{status="hit"} 5
go_goroutines 42
odd{label="a } b"} 3
broken{status="hit"}
`
	got, err := procstat.ParseSeries(strings.NewReader(page),
		`genzai_cache_requests_total{status="hit"}`, `genzai_cache_requests_total{status="miss"}`, "go_goroutines", `odd{label="a } b"}`, `broken{status="hit"}`, "absent")
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{
		`genzai_cache_requests_total{status="hit"}`: 1_250_000, `genzai_cache_requests_total{status="miss"}`: 1000,
		"go_goroutines": 42, `odd{label="a } b"}`: 3,
	}, got)
}

func TestSampleOwnProcess(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sesame" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("go_goroutines 7\ngo_memstats_heap_inuse_bytes 1024\ngo_memstats_stack_inuse_bytes 2048\nprocess_resident_memory_bytes 4096\nprocess_open_fds 3\nprocess_cpu_seconds_total 1.5\n"))
	}))
	t.Cleanup(srv.Close)

	local := &procstat.Source{PID: os.Getpid(), MetricsURL: srv.URL, MetricsToken: "sesame"}
	s := local.Sample(context.Background())
	assert.Positive(t, s.RSS, "RSS from /proc")
	assert.Positive(t, s.FDs)
	assert.Positive(t, s.Threads)
	assert.GreaterOrEqual(t, s.CPU, 0.0)
	assert.Equal(t, int64(7), s.Goroutines, "goroutines from /metrics")
	assert.Equal(t, int64(1024), s.HeapInuse)
	assert.Equal(t, int64(2048), s.StackInuse)
	assert.True(t, local.ResetPeak(), "clear_refs is writable for our own process")
	assert.Positive(t, local.PeakRSS())

	remote := &procstat.Source{MetricsURL: srv.URL, MetricsToken: "sesame"}
	s = remote.Sample(context.Background())
	assert.Equal(t, int64(4096), s.RSS, "without a pid, process figures come from /metrics")
	assert.Equal(t, int64(3), s.FDs)
	assert.Equal(t, 1.5, s.CPU)
	assert.Equal(t, int64(-1), s.Threads)
	assert.Equal(t, int64(-1), remote.PeakRSS())

	denied := &procstat.Source{MetricsURL: srv.URL}
	assert.Equal(t, int64(-1), denied.Sample(context.Background()).Goroutines, "a refused scrape leaves the figures unknown")
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	rec := procstat.Record(context.Background(), &procstat.Source{PID: os.Getpid()}, 10*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	samples := rec.Stop()
	// One at once, then one per tick: a loaded machine may skip some.
	assert.GreaterOrEqual(t, len(samples), 2)
	for i := 1; i < len(samples); i++ {
		assert.True(t, samples[i].At.After(samples[i-1].At))
	}
}

func TestParseMachineCPU(t *testing.T) {
	t.Parallel()
	got, err := procstat.ParseMachineCPU([]byte("cpu  1000 100 500 9000 50 20 30 40 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	require.NoError(t, err)
	assert.InDelta(t, 16.5, got.Busy, 1e-9, "user+nice+system+irq+softirq")
	assert.InDelta(t, 0.4, got.Steal, 1e-9)
	_, err = procstat.ParseMachineCPU([]byte("intr 1 2 3"))
	assert.Error(t, err)

	live, err := procstat.ReadMachineCPU()
	require.NoError(t, err)
	assert.Positive(t, live.Busy)
}

func TestCommCPU(t *testing.T) {
	t.Parallel()
	st, err := procstat.ReadStat(os.Getpid())
	require.NoError(t, err)
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	got, err := procstat.CommCPU(strings.TrimSpace(string(comm)))
	require.NoError(t, err)
	assert.Contains(t, got, os.Getpid())
	assert.GreaterOrEqual(t, got[os.Getpid()], st.CPU)

	assert.InDelta(t, 3.5, procstat.CPUSince(map[int]float64{1: 1, 2: 5}, map[int]float64{1: 2, 3: 2.5}), 1e-9,
		"1 s more for pid 1, all 2.5 s of new pid 3, ended pid 2 lost")
}

func TestParseInbound(t *testing.T) {
	t.Parallel()
	// Port 8000 is 1F40: two established inbound connections, one listening
	// socket (0A), one in TIME_WAIT (06), and one outbound connection to
	// 8000 from an ephemeral port, which is the client's side.
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F40 0200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F40 0300007F:C351 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F40 0300007F:C352 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000
   4: 0200007F:C350 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`
	tests := []struct {
		port int
		want int64
	}{
		{8000, 2},
		{50000, 1}, // C350: the client's side of connection 1
		{9000, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, procstat.ParseInbound([]byte(table), tt.port), "port %d", tt.port)
	}
}
