package quotacount

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.QuotaStore = (*Leases)(nil)

// LeaseRequest asks for a block of a user's quota for a day.
type LeaseRequest struct {
	UserID domain.UserID
	Day    time.Time
	// Limit is the user's limit now: the block keeps written counts and
	// every instance's live leases within it.
	Limit int
	// Need is how many requests wait for a unit now; Want how many units
	// the instance would like (Want >= Need). Beyond Need the block takes
	// at most a quarter of what is free, so that blocks shrink to what is
	// needed near the limit and leave the rest to other instances.
	Need, Want int
	// Return is how many of the instance's units for the day it gives back
	// in the same transaction (a block it may no longer use).
	Return int
	// TTL is how long the lease lives unless renewed.
	TTL time.Duration
}

// Lease is what the database granted.
type Lease struct {
	// Granted is the number of units added to the instance's lease (0: the
	// quota is used up or leased by other instances).
	Granted int
	// Used is the day's written count (quota_usage.used).
	Used int
}

// Settlement is one of the instance's leases at a flush: Written grants
// move from the lease to the written count, Returned units are handed
// back, and the lease is renewed.
type Settlement struct {
	UserID   domain.UserID
	Day      time.Time
	Written  int
	Returned int
}

// LeaseStore is what Leases needs of the database. PostgreSQL implements
// it.
type LeaseStore interface {
	// QuotaUsed returns the day's written count; RefundQuota takes units
	// of written grants back (never below zero).
	QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error)
	RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error
	// TakeQuotaLease grants instance a block in one transaction that locks
	// the day's count first, so that the written count and all live leases
	// stay within the limit whatever other instances do.
	TakeQuotaLease(ctx context.Context, instance string, r LeaseRequest) (Lease, error)
	// SettleQuotaLeases writes the settlements in one transaction and
	// renews each lease listed for ttl; leases left with no units are
	// dropped.
	SettleQuotaLeases(ctx context.Context, instance string, s []Settlement, ttl time.Duration) error
	// ReleaseQuotaLeases drops all of instance's leases.
	ReleaseQuotaLeases(ctx context.Context, instance string) error
	// PruneQuotaLeases drops leases expired for longer than grace.
	PruneQuotaLeases(ctx context.Context, grace time.Duration) error
}

// LeaseConfig tunes Leases; zero fields take the defaults.
type LeaseConfig struct {
	// Interval between writes (DefaultInterval).
	Interval time.Duration
	// TTL of a lease not renewed (DefaultLeaseTTL). The instance stops
	// granting from a lease a third of it before it ends, so that it never
	// grants from a lease other instances no longer count.
	TTL time.Duration
	// Idle is how long a lease may go without a grant before it is handed
	// back (DefaultLeaseIdle).
	Idle time.Duration
	// RefusalHold is how long a refusal is repeated without asking the
	// database again, unless the limit rises or a unit comes back
	// (DefaultRefusalHold; negative: never).
	RefusalHold time.Duration
}

// Lease defaults (see LeaseConfig).
const (
	// DefaultLeaseTTL is ten writes: a slow write or two keep the lease,
	// and a crashed instance's units are free again within ten seconds.
	DefaultLeaseTTL  = 10 * time.Second
	DefaultLeaseIdle = 5 * time.Second
	// DefaultRefusalHold spares the database a transaction per request
	// from a user at the limit.
	DefaultRefusalHold = time.Second
	// firstBlock is what a take asks for beyond the requests waiting when
	// the user's last block did not go quickly (or there was none): a
	// user who sends a request every second or two then costs a take
	// every few seconds rather than several, and the database still
	// grants at most a quarter of what is free, so that near the limit
	// the block shrinks to the requests waiting.
	firstBlock = 16
	// maxBlock bounds a block however busy the user.
	maxBlock = 256
	// settleChunk bounds the leases settled in one transaction, so that
	// none holds many row locks and a take waits behind at most one
	// small one.
	settleChunk = 100
	// staleGrace is how long an expired lease is kept before any instance
	// deletes it.
	staleGrace = 10 * time.Minute
	// pruneEvery is how often an instance deletes stale leases.
	pruneEvery = time.Minute
)

// Leases is a ports.QuotaStore for several instances on one PostgreSQL
// without Redis: an instance takes a block of a user's remaining quota in
// one transaction (rarely: when its block is used up), grants from it in
// process under a mutex per user and day, and every interval writes its
// grants to quota_usage, renews its leases and hands back those idle, in
// one transaction. No statement runs on a request while its user's block
// lasts. Safe for concurrent use.
type Leases struct {
	db       LeaseStore
	log      *slog.Logger
	cfg      LeaseConfig
	instance string

	mu      sync.Mutex
	entries map[dayKey]*lease

	// flushMu lets one batch be written at a time; readers and direct
	// refunds wait for a batch in flight (RLock), so that they never see
	// or take back a grant between the process and the database.
	flushMu   sync.RWMutex
	lastPrune time.Time

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// lease is this instance's block of one user's quota for one day.
type lease struct {
	id  domain.UserID
	day time.Time
	// refs counts the callers using the entry (changed under Leases.mu,
	// read anywhere): it is the demand a block is sized to, and an entry in
	// use is never dropped.
	refs atomic.Int32

	mu sync.Mutex
	// live: the database holds a lease of this instance for the day.
	live bool
	// limit is the limit the block was taken under.
	limit int
	// free units may be granted; unwritten are granted and not yet
	// written; toReturn are to be handed back at the next write. The
	// database's lease holds free + unwritten + toReturn.
	free, unwritten, toReturn int
	// count is the user's count as this instance knows it: the written
	// count at the last take plus this instance's grants since.
	count int
	// validUntil ends the grants from this block: a third of the TTL
	// before the database lets the lease expire.
	validUntil time.Time
	lastTake   time.Time
	lastGrant  time.Time
	// renewedAt is when the database last renewed the lease (a take or a
	// settle): a lease with nothing to write is renewed only once
	// renewedAt is half a TTL old.
	renewedAt time.Time
	block     int
	// refusedUntil holds a refusal for cfg.RefusalHold, so that a user at
	// the limit does not cost a transaction per request.
	refusedUntil time.Time
	refusedLimit int
	refusedUnits int
}

// NewLeases counts over db as a new instance (a random id) and starts its
// writes. Close it to write and hand back what it holds.
func NewLeases(db LeaseStore, logger *slog.Logger, cfg LeaseConfig) *Leases {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultLeaseTTL
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultLeaseIdle
	}
	if cfg.RefusalHold == 0 {
		cfg.RefusalHold = DefaultRefusalHold
	}
	l := &Leases{
		db: db, log: logger, cfg: cfg, instance: uuid.NewString(),
		entries: map[dayKey]*lease{},
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go l.run()
	return l
}

// Instance is this counter's id in quota_leases.
func (l *Leases) Instance() string { return l.instance }

func (l *Leases) run() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*l.cfg.Interval)
			if err := l.Flush(ctx); err != nil {
				l.log.Error("write quota leases (kept for the next attempt)", "error", err)
			}
			l.prune(ctx)
			cancel()
		}
	}
}

// prune deletes stale leases of stopped instances once per pruneEvery.
func (l *Leases) prune(ctx context.Context) {
	if time.Since(l.lastPrune) < pruneEvery {
		return
	}
	l.lastPrune = time.Now()
	if err := l.db.PruneQuotaLeases(ctx, staleGrace); err != nil {
		l.log.Warn("delete stale quota leases", "error", err)
	}
}

// acquire returns the entry of the user on day, counted as in use until
// release. Lock order: a lease's mu before Leases.mu, never the reverse.
func (l *Leases) acquire(id domain.UserID, day time.Time) *lease {
	k := keyOf(id, day)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[k]
	if !ok {
		e = &lease{id: id, day: day}
		l.entries[k] = e
	}
	e.refs.Add(1)
	return e
}

func (l *Leases) release(e *lease) {
	l.mu.Lock()
	e.refs.Add(-1)
	l.mu.Unlock()
}

// lookup returns the entry of the user on day, if any.
func (l *Leases) lookup(id domain.UserID, day time.Time) *lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entries[keyOf(id, day)]
}

// ConsumeQuota implements ports.QuotaStore. A request of several units is
// granted from the block only whole; when the block holds fewer, the
// instance asks for the difference, and refuses when the database has
// not that many free (handing back what it did get).
func (l *Leases) ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit, units int) (int, bool, error) {
	e := l.acquire(id, day)
	defer l.release(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.free > 0 && (limit < e.limit || !now.Before(e.validUntil)) {
		// A lowered limit, or a lease the database may soon let expire:
		// the block goes back with the next take.
		e.toReturn += e.free
		e.free = 0
	}
	if e.free < units {
		if now.Before(e.refusedUntil) && limit <= e.refusedLimit && units >= e.refusedUnits {
			return e.count, false, nil
		}
		before := e.free
		if err := l.take(ctx, e, limit, units, now); err != nil {
			return 0, false, err
		}
		if e.free < units {
			// Too few for this request: what the take added goes back with
			// the next write rather than sit in this block while requests
			// on other instances could use it.
			got := e.free - before
			e.free -= got
			e.toReturn += got
			e.refusedUntil, e.refusedLimit, e.refusedUnits = now.Add(l.cfg.RefusalHold), limit, units
			return e.count, false, nil
		}
	}
	e.free -= units
	e.unwritten += units
	e.count += units
	e.lastGrant = now
	return e.count, true, nil
}

// take asks the database for a block holding at least the units this
// request lacks; e.mu is held.
func (l *Leases) take(ctx context.Context, e *lease, limit, units int, now time.Time) error {
	// Every other caller waiting on the entry wants a unit at least.
	need := max(int(e.refs.Load())-1, 0) + units - e.free
	want := max(need, firstBlock)
	if !e.lastTake.IsZero() && now.Sub(e.lastTake) < l.cfg.Idle {
		// The last block went quickly: ask for twice as much.
		want = max(want, min(2*e.block, maxBlock))
	}
	ret := e.toReturn
	res, err := l.db.TakeQuotaLease(ctx, l.instance, LeaseRequest{
		UserID: e.id, Day: e.day, Limit: limit, Need: need, Want: want, Return: ret, TTL: l.cfg.TTL,
	})
	if err != nil {
		if mayHaveRun(err) {
			// The units may be back already: never hand them back twice
			// (the database then holds them until the lease ends: against
			// no one but this instance's next takes).
			e.toReturn -= ret
		}
		return err
	}
	e.toReturn -= ret
	e.live = e.live || res.Granted > 0
	e.limit = limit
	e.free += res.Granted
	e.count = res.Used + e.unwritten
	e.lastTake = now
	e.block = res.Granted
	if res.Granted > 0 {
		e.validUntil = now.Add(l.cfg.TTL - l.cfg.TTL/3)
		e.renewedAt = now
	}
	return nil
}

// RefundQuota implements ports.QuotaStore: grants still unwritten go back
// into the block; written ones are taken back in the database, after any
// batch in flight.
func (l *Leases) RefundQuota(ctx context.Context, id domain.UserID, day time.Time, units int) error {
	if units -= l.refundLocally(id, day, units); units <= 0 {
		return nil
	}
	l.flushMu.RLock()
	defer l.flushMu.RUnlock()
	if units -= l.refundLocally(id, day, units); units <= 0 {
		return nil
	}
	if err := l.db.RefundQuota(ctx, id, day, units); err != nil {
		return err
	}
	if e := l.lookup(id, day); e != nil {
		e.mu.Lock()
		e.count = max(e.count-units, 0)
		e.refusedUntil = time.Time{}
		e.mu.Unlock()
	}
	return nil
}

// refundLocally cancels up to units unwritten grants and returns how many
// it cancelled.
func (l *Leases) refundLocally(id domain.UserID, day time.Time, units int) int {
	e := l.lookup(id, day)
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := min(units, e.unwritten)
	if n <= 0 {
		return 0
	}
	e.unwritten -= n
	if e.live {
		e.free += n
	} else {
		// The lease was handed back (its write failed): so go the units.
		e.toReturn += n
	}
	e.count = max(e.count-n, 0)
	e.refusedUntil = time.Time{}
	return n
}

// QuotaUsed implements ports.QuotaStore: the written count and this
// instance's grants not yet written (other instances' show within their
// next write).
func (l *Leases) QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error) {
	l.flushMu.RLock()
	defer l.flushMu.RUnlock()
	used, err := l.db.QuotaUsed(ctx, id, day)
	if err != nil {
		return 0, err
	}
	if e := l.lookup(id, day); e != nil {
		e.mu.Lock()
		used += e.unwritten
		e.mu.Unlock()
	}
	return used, nil
}

// Flush writes the grants, hands back the leases idle for cfg.Idle and
// renews those due (half a TTL since their last renewal), in transactions
// of at most settleChunk leases in key order. A lease with nothing to
// write, return or renew is not touched. On failure the failed chunk and
// those after it are kept for the next attempt, unless the failed chunk
// may have been applied (see WriteBehind.Flush): that one is then dropped,
// in the users' favour.
func (l *Leases) Flush(ctx context.Context) error {
	return l.flush(ctx, false)
}

// batchEntry is an entry's part of a batch.
type batchEntry struct {
	e     *lease
	s     Settlement
	renew bool
}

func (l *Leases) flush(ctx context.Context, all bool) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	now := time.Now()
	batch := l.collect(now, all)
	slices.SortFunc(batch, func(a, b batchEntry) int {
		if c := strings.Compare(string(a.s.UserID), string(b.s.UserID)); c != 0 {
			return c
		}
		return a.s.Day.Compare(b.s.Day)
	})
	settle := make([]Settlement, len(batch))
	for i, b := range batch {
		settle[i] = b.s
	}
	for i := 0; i < len(batch); i += settleChunk {
		end := min(i+settleChunk, len(batch))
		if err := l.db.SettleQuotaLeases(ctx, l.instance, settle[i:end], l.cfg.TTL); err != nil {
			kept := batch[i:]
			if mayHaveRun(err) {
				l.log.Error("write quota leases: the write may or may not have been applied; not written again", "error", err, "leases", end-i)
				kept = batch[end:]
			}
			requeue(kept)
			return err
		}
		l.renewed(batch[i:end], now)
	}
	return nil
}

// requeue puts a batch's grants and returns back into its entries, for the
// next write.
func requeue(batch []batchEntry) {
	for _, b := range batch {
		b.e.mu.Lock()
		b.e.unwritten += b.s.Written
		b.e.toReturn += b.s.Returned
		b.e.mu.Unlock()
	}
}

// renewed extends the grants of the live leases of a batch written at now.
func (l *Leases) renewed(batch []batchEntry, now time.Time) {
	for _, b := range batch {
		if !b.renew {
			continue
		}
		b.e.mu.Lock()
		if b.e.live {
			b.e.validUntil = maxTime(b.e.validUntil, now.Add(l.cfg.TTL-l.cfg.TTL/3))
			b.e.renewedAt = maxTime(b.e.renewedAt, now)
		}
		b.e.mu.Unlock()
	}
}

// collect takes the batch out of the entries and drops entries with
// nothing left; flushMu is held. all hands back every lease.
func (l *Leases) collect(now time.Time, all bool) []batchEntry {
	l.mu.Lock()
	entries := make([]*lease, 0, len(l.entries))
	for _, e := range l.entries {
		entries = append(entries, e)
	}
	l.mu.Unlock()
	var batch []batchEntry
	for _, e := range entries {
		if b, ok := l.collectOne(e, now, all); ok {
			batch = append(batch, b)
		}
	}
	return batch
}

// collectOne takes e's part of the batch, if any, and drops e when it
// holds nothing and nobody uses it.
func (l *Leases) collectOne(e *lease, now time.Time, all bool) (batchEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live && (all || now.Sub(maxTime(e.lastGrant, e.lastTake)) >= l.cfg.Idle) {
		// Idle (or shutting down): hand the block back.
		e.toReturn += e.free
		e.free = 0
		e.live = false
	}
	if !e.live && e.unwritten == 0 && e.toReturn == 0 {
		l.mu.Lock()
		if k := keyOf(e.id, e.day); e.refs.Load() == 0 && l.entries[k] == e {
			delete(l.entries, k)
		}
		l.mu.Unlock()
		return batchEntry{}, false
	}
	if e.unwritten == 0 && e.toReturn == 0 && now.Sub(e.renewedAt) < l.cfg.TTL/2 {
		// Nothing to write, and the lease is not due for renewal.
		return batchEntry{}, false
	}
	b := batchEntry{e: e, s: Settlement{UserID: e.id, Day: e.day, Written: e.unwritten, Returned: e.toReturn}, renew: e.live}
	e.unwritten, e.toReturn = 0, 0
	return b, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Close stops the timer, writes the grants and hands back every lease,
// trying again until ctx ends, then drops the instance's leases. Calling
// it again does nothing more.
func (l *Leases) Close(ctx context.Context) error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		for {
			if err = l.flush(ctx, true); err == nil || mayHaveRun(err) {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(closeRetry):
			}
		}
		if rerr := l.db.ReleaseQuotaLeases(ctx, l.instance); rerr != nil && err == nil {
			err = rerr
		}
	})
	return err
}

// Abandon stops the timer and drops what is held, as a crash would: for
// tests of what a crash may lose.
func (l *Leases) Abandon() {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		l.entries = map[dayKey]*lease{}
		l.mu.Unlock()
	})
}
