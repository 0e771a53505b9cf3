// Package quotacount counts daily quotas off the database's hot path: an
// in-process counter for one instance (Local), the write-behind queue that
// it and the Redis counter (redislimit.QuotaStore) use to bring the counts
// into the database in batches, so that /api/v1/quota, the admin analytics
// and a restart see them, and leases of each user's quota for several
// instances on one database without Redis (Leases), which write their
// grants the same way with their leases.
//
// What a crash may lose is the queue: the grants not yet written, normally
// those of the last flush interval (about a second), longer while the
// database refuses writes (each failed write is logged). They are all
// positive counts (a refund cancels an unwritten grant in the queue, or is
// written at once), so the database then counts fewer requests than were
// answered: the error is only ever in the user's favour.
package quotacount

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
)

// DefaultInterval is how often the queue is written when nothing else asks.
const DefaultInterval = time.Second

// Delta is a count of requests to add to a user's row for a day.
type Delta struct {
	UserID domain.UserID
	Day    time.Time
	N      int
}

// Sink writes a batch of deltas in one statement: each user's row for the
// day grows by its N (created when missing); users deleted meanwhile are
// skipped. The SQL stores implement it.
type Sink interface {
	AddQuotaUsage(ctx context.Context, deltas []Delta) error
}

type dayKey struct {
	id  domain.UserID
	day string
}

func keyOf(id domain.UserID, day time.Time) dayKey {
	return dayKey{id: id, day: day.UTC().Format(time.DateOnly)}
}

// WriteBehind accumulates granted requests per user and day and writes
// them to its Sink every interval, and on Close. Safe for concurrent use.
type WriteBehind struct {
	sink     Sink
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[dayKey]Delta

	// flushMu lets one batch be written at a time.
	flushMu sync.Mutex

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewWriteBehind starts a queue writing to sink every interval (0:
// DefaultInterval). Close it to write what is left.
func NewWriteBehind(sink Sink, logger *slog.Logger, interval time.Duration) *WriteBehind {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &WriteBehind{
		sink: sink, log: logger, interval: interval,
		pending: map[dayKey]Delta{},
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *WriteBehind) run() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*w.interval)
			if err := w.Flush(ctx); err != nil {
				w.log.Error("write quota counts behind (kept for the next attempt)", "error", err)
			}
			cancel()
		}
	}
}

// Add queues n granted units of the user on day.
func (w *WriteBehind) Add(id domain.UserID, day time.Time, n int) {
	k := keyOf(id, day)
	w.mu.Lock()
	d := w.pending[k]
	w.pending[k] = Delta{UserID: id, Day: day, N: d.N + n}
	w.mu.Unlock()
}

// Refund takes back n granted units of the user on day. Grants still
// queued are cancelled in the queue; direct takes the rest back in the
// database, while no batch is being written (a batch in flight may hold
// the grants: it is waited for, so that the database never counts down
// before it counted up).
func (w *WriteBehind) Refund(ctx context.Context, id domain.UserID, day time.Time, n int, direct func(ctx context.Context, n int) error) error {
	if n -= w.take(id, day, n); n <= 0 {
		return nil
	}
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if n -= w.take(id, day, n); n <= 0 {
		return nil
	}
	return direct(ctx, n)
}

// take removes up to n queued units of the user on day and returns how
// many it removed.
func (w *WriteBehind) take(id domain.UserID, day time.Time, n int) int {
	k := keyOf(id, day)
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.pending[k]
	if !ok || d.N <= 0 {
		return 0
	}
	taken := min(n, d.N)
	if d.N == taken {
		delete(w.pending, k)
	} else {
		d.N -= taken
		w.pending[k] = d
	}
	return taken
}

// Flush writes everything queued in one batch. On failure the batch goes
// back into the queue for the next attempt, unless the failure says the
// write may have been applied all the same (a connection lost after the
// statement was sent): writing it again could count it twice, against the
// user, so it is dropped and logged instead, in the user's favour.
func (w *WriteBehind) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.mu.Unlock()
		return nil
	}
	batch := make([]Delta, 0, len(w.pending))
	for _, d := range w.pending {
		batch = append(batch, d)
	}
	w.pending = map[dayKey]Delta{}
	w.mu.Unlock()

	if err := w.sink.AddQuotaUsage(ctx, batch); err != nil {
		if mayHaveRun(err) {
			w.log.Error("write quota counts behind: the write may or may not have been applied; not written again", "error", err, "deltas", len(batch))
			return err
		}
		w.mu.Lock()
		for _, d := range batch {
			k := keyOf(d.UserID, d.Day)
			p := w.pending[k]
			w.pending[k] = Delta{UserID: d.UserID, Day: d.Day, N: p.N + d.N}
		}
		w.mu.Unlock()
		return err
	}
	return nil
}

// mayHaveRun reports whether a failed write may have been applied: the
// driver says so where it can (pgx's SafeToRetry is false once the
// statement was sent). A server's refusal of the statement is not.
func mayHaveRun(err error) bool {
	var r interface{ SafeToRetry() bool }
	return errors.As(err, &r) && !r.SafeToRetry()
}

// closeRetry is the pause between Close's attempts to write the queue.
const closeRetry = 100 * time.Millisecond

// Close stops the timer and writes what is queued, trying again until ctx
// ends. Calling it again does nothing more.
func (w *WriteBehind) Close(ctx context.Context) error {
	var err error
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		for {
			if err = w.Flush(ctx); err == nil || mayHaveRun(err) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(closeRetry):
			}
		}
	})
	return err
}

// Abandon stops the timer and drops what is queued, as a crash would: for
// tests of what a crash may lose.
func (w *WriteBehind) Abandon() {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		w.mu.Lock()
		w.pending = map[dayKey]Delta{}
		w.mu.Unlock()
	})
}
