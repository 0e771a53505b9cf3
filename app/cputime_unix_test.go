//go:build unix

package app_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) this process used so far,
// or -1 when the system does not say.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
