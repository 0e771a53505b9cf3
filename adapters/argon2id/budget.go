package argon2id

import (
	"bytes"
	"math"
	"os"
	"runtime/debug"
	"strconv"
)

// BudgetShare is the part of the process's memory limit that password
// hashing may hold at once: a quarter, leaving the rest to the Go heap,
// open streams, connection pools and the garbage collector's headroom.
const BudgetShare = 4

// cgroup files holding the container's memory limit: v2 (unified
// hierarchy, "max" when unlimited) and v1 (a huge number when unlimited).
// A container sees its own cgroup at these paths (cgroup namespaces).
const (
	cgroupV2MemoryMax = "/sys/fs/cgroup/memory.max"
	cgroupV1Limit     = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// unlimitedV1 is the smallest value cgroup v1 reports that means no limit
// (the kernel rounds PAGE_COUNTER_MAX to pages, just under 2^63).
const unlimitedV1 = 1 << 62

// MemorySources are where the process's memory limit is read; the zero
// value reads the real ones. Tests replace them.
type MemorySources struct {
	// ReadFile reads a cgroup file; nil is os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// GoMemLimit returns the runtime's soft memory limit, math.MaxInt64
	// when none is set; nil is debug.SetMemoryLimit(-1) (which reads it).
	GoMemLimit func() int64
}

// MemoryLimit is the process's memory limit and where it comes from.
type MemoryLimit struct {
	// Bytes is the smallest limit found; 0 when there is none.
	Bytes int64
	// Source names it: "cgroup v2", "cgroup v1", "GOMEMLIMIT" or "" for none.
	Source string
}

// Limit returns the smallest of the cgroup memory limit (v2, else v1) and
// GOMEMLIMIT. Unreadable or unlimited sources are skipped.
func (s MemorySources) Limit() MemoryLimit {
	read := s.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	goLimit := s.GoMemLimit
	if goLimit == nil {
		goLimit = func() int64 { return debug.SetMemoryLimit(-1) }
	}
	var lim MemoryLimit
	consider := func(n int64, source string) {
		if n > 0 && (lim.Bytes == 0 || n < lim.Bytes) {
			lim = MemoryLimit{Bytes: n, Source: source}
		}
	}
	// A readable memory.max means cgroup v2 governs, even when it says
	// "max": the v1 file is then absent or stale.
	if b, err := read(cgroupV2MemoryMax); err == nil {
		if n, ok := parseLimit(b); ok {
			consider(n, "cgroup v2")
		}
	} else if b, err := read(cgroupV1Limit); err == nil {
		if n, ok := parseLimit(b); ok && n < unlimitedV1 {
			consider(n, "cgroup v1")
		}
	}
	if n := goLimit(); n < math.MaxInt64 {
		consider(n, "GOMEMLIMIT")
	}
	return lim
}

// parseLimit reads the number in a cgroup file; false for "max" or
// anything else that is not a positive number.
func parseLimit(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// Budget is the memory hashing may hold at once: the override when
// positive, else a BudgetShare of the memory limit, else 0 (no limit known:
// only the CPU bound applies).
func Budget(overrideBytes int64, limit MemoryLimit) int64 {
	if overrideBytes > 0 {
		return overrideBytes
	}
	return limit.Bytes / BudgetShare
}

// Bound is how many hashes may run at once: one per CPU the runtime uses
// (more would only queue inside the scheduler), and no more than fit in
// budgetBytes at memoryKiB each; at least 1, so logins always progress. A
// budget of 0 means no memory bound.
func Bound(procs int, budgetBytes int64, memoryKiB uint32) int {
	n := max(procs, 1)
	if budgetBytes > 0 && memoryKiB > 0 {
		n = min(n, int(min(budgetBytes/(int64(memoryKiB)*1024), math.MaxInt32)))
	}
	return max(n, 1)
}
