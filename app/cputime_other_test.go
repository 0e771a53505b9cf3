//go:build !unix

package app_test

import "time"

// processCPU is unknown here: -1.
func processCPU() time.Duration { return -1 }
