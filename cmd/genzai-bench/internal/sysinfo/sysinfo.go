// Package sysinfo describes the machine a benchmark runs on and reads and
// adjusts the system settings that bound many concurrent connections: open
// files and the local port range.
package sysinfo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes where a benchmark ran.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"go_version"`
	PostgreSQL  string `json:"postgresql"`
	GitCommit   string `json:"git_commit"`
	// GitDirty is set when the working tree had changes.
	GitDirty bool `json:"git_dirty"`
}

// Describe returns the machine's description; dir is the repository
// (for the commit), pgVersion what the database reported.
func Describe(ctx context.Context, dir, pgVersion string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), PostgreSQL: pgVersion}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					m.MemoryBytes = kb << 10
				}
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:]) + " " + utsString(u.Machine[:])
	}
	if dir != "" {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output(); err == nil {
			m.GitCommit = strings.TrimSpace(string(out))
		}
		if out, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			m.GitDirty = len(bytes.TrimSpace(out)) > 0
		}
	}
	return m
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// String is a one-line description.
func (m Machine) String() string {
	commit := m.GitCommit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if m.GitDirty {
		commit += " (with uncommitted changes)"
	}
	return fmt.Sprintf("%s, %d cores, %.1f GiB RAM, %s, %s, PostgreSQL %s, commit %s",
		m.CPUModel, m.Cores, float64(m.MemoryBytes)/(1<<30), m.Kernel, m.GoVersion, m.PostgreSQL, commit)
}

// portRangePath is the sysctl net.ipv4.ip_local_port_range.
const portRangePath = "/proc/sys/net/ipv4/ip_local_port_range"

// PortRange is the local port range for outgoing connections.
type PortRange struct{ Low, High int }

// Size is the number of ports in the range.
func (r PortRange) Size() int { return r.High - r.Low + 1 }

// String is the sysctl's spelling, "32768 60999".
func (r PortRange) String() string { return fmt.Sprintf("%d %d", r.Low, r.High) }

// ReadPortRange reads net.ipv4.ip_local_port_range.
func ReadPortRange() (PortRange, error) {
	b, err := os.ReadFile(portRangePath)
	if err != nil {
		return PortRange{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return PortRange{}, fmt.Errorf("malformed %s: %q", portRangePath, b)
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return PortRange{}, fmt.Errorf("malformed %s: %q", portRangePath, b)
	}
	return PortRange{lo, hi}, nil
}

// WritePortRange sets net.ipv4.ip_local_port_range (needs root).
func WritePortRange(r PortRange) error {
	return os.WriteFile(portRangePath, []byte(r.String()+"\n"), 0)
}

// ReadSysctl reads a sysctl by its dotted name ("" if unreadable).
func ReadSysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// RaiseNoFile raises this process's open-files limit (soft and, when
// permitted, hard) to at least want, up to what the kernel allows
// (fs.nr_open), and returns the limit now in force. Child processes
// inherit it. It fails only if the limit could not be read.
func RaiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read open-files limit: %w", err)
	}
	if lim.Cur >= want {
		// Set it anyway: it makes children inherit the raised limit rather
		// than the one the Go runtime restores for them.
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		return lim.Cur, nil
	}
	if nrOpen, err := strconv.ParseUint(ReadSysctl("fs.nr_open"), 10, 64); err == nil && want > nrOpen {
		want = nrOpen
	}
	if want > lim.Max {
		// Raising the hard limit needs CAP_SYS_RESOURCE; try it.
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) == nil {
			return want, nil
		}
		want = lim.Max
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		var now syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
			return 0, fmt.Errorf("read open-files limit: %w", err)
		}
		return now.Cur, nil
	}
	return want, nil
}
