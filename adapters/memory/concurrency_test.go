package memory_test

import (
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestConcurrencyLimiterContract(t *testing.T) {
	portstest.RunConcurrencyLimiter(t, func(*testing.T) (ports.ConcurrencyLimiter, func(time.Duration)) {
		clock := memory.NewClock(time.Now())
		return memory.NewConcurrencyLimiter(clock), clock.Advance
	})
}
