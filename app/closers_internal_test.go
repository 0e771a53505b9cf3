package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestClosersUnwindInReverse releases what was opened last first, each
// once, with the context unwind is given.
func TestClosersUnwindInReverse(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "unwind")
	var cl closers
	var order []string
	for _, name := range []string{"observability", "database", "redis", "request log", "login", "monitor"} {
		cl.push(func(ctx context.Context) {
			assert.Equal(t, "unwind", ctx.Value(key{}))
			order = append(order, name)
		})
	}
	cl.unwind(ctx)
	assert.Equal(t, []string{"monitor", "login", "request log", "redis", "database", "observability"}, order)
}
