package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MachineCPU is the machine's CPU time in seconds, from /proc/stat.
type MachineCPU struct {
	// Busy is user, nice, system, irq and softirq time over all CPUs.
	Busy float64
	// Steal is time the hypervisor gave to other guests.
	Steal float64
}

// ReadMachineCPU reads /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	return ParseMachineCPU(b)
}

// ParseMachineCPU parses the "cpu" line of a /proc/stat text.
func ParseMachineCPU(b []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("malformed /proc/stat")
	}
	var v [8]float64 // user nice system idle iowait irq softirq steal
	for i := range v {
		n, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("malformed /proc/stat: %w", err)
		}
		v[i] = n / clockTicks
	}
	return MachineCPU{Busy: v[0] + v[1] + v[2] + v[5] + v[6], Steal: v[7]}, nil
}

// CommCPU sums the CPU time in seconds of the processes whose command
// name is comm (such as "postgres"), by pid.
func CommCPU(comm string) (map[int]float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]float64{}
	want := "(" + comm + ")"
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !bytes.Contains(b, []byte(want)) {
			continue
		}
		if st, err := ParseStat(b); err == nil {
			out[pid] = st.CPU
		}
	}
	return out, nil
}

// CPUSince is the CPU time the processes of now used since then: for
// processes in both, the difference; for new ones, all their time.
// Processes that ended in between are lost.
func CPUSince(then, now map[int]float64) float64 {
	var sum float64
	for pid, t := range now {
		sum += t - then[pid]
	}
	return sum
}
