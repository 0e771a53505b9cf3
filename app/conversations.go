package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/genzai/genzai/domain/conversations"
)

// conversationPurgeEvery is how often an instance runs the retention
// purge. Retention counts in days, so an hour late costs little; on
// PostgreSQL the instances take turns under an advisory lock, so that one
// purges while the others skip.
const conversationPurgeEvery = time.Hour

// purger is what the purge loop needs of the conversation use case.
type purger interface {
	Purge(ctx context.Context) (int64, error)
}

var _ purger = (*conversations.Service)(nil)

// startConversationPurge runs p's purge now and then every interval until
// Close stops it: it outlives the start-up context.
func startConversationPurge(ctx context.Context, p purger, every time.Duration, logger *slog.Logger, cl *closers) {
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			switch n, err := p.Purge(loopCtx); {
			case loopCtx.Err() != nil:
				return
			case err != nil:
				logger.Warn("purge idle conversations", "error", err)
			case n > 0:
				logger.Info("purged idle conversations", "deleted", n)
			}
			select {
			case <-loopCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	cl.push(func(context.Context) {
		stop()
		<-done
	})
}
