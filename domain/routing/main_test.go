package routing_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// server, stream and timer a test starts must be stopped by its end (the
// router's tests checked this when they lived in domain/chat).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
