// Package clock provides the real-time ports.Clock.
package clock

import (
	"time"

	"github.com/genzai/genzai/ports"
)

var _ ports.Clock = System{}

// System is the wall clock, in UTC.
type System struct{}

// Now implements ports.Clock.
func (System) Now() time.Time { return time.Now().UTC() }
