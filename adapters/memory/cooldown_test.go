package memory_test

import (
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/ports"
	"github.com/genzai/genzai/ports/portstest"
)

func TestCooldownStoreContract(t *testing.T) {
	portstest.RunCooldownStore(t, func(*testing.T) (ports.CooldownStore, func(time.Duration)) {
		// The suite sets cooldowns relative to the wall clock.
		clock := memory.NewClock(time.Now())
		return memory.NewCooldownStore(clock), clock.Advance
	})
}

func TestLoginGuardContract(t *testing.T) {
	portstest.RunLoginGuard(t, func(*testing.T) (ports.LoginGuard, func(time.Duration)) {
		clock := memory.NewClock(time.Now())
		return memory.NewLoginGuard(clock), clock.Advance
	})
}
