package batchlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/internal/batchlog"
	"github.com/genzai/genzai/domain"
)

// sink is a fake store of rows (the record's prompt tokens); writes can be
// made to block or fail.
type sink struct {
	mu      sync.Mutex
	rows    []int
	batches []int // sizes of the successful writes

	// block, when set, is received from before each write.
	block chan struct{}
	// writing is sent to (without blocking) when a write starts.
	writing chan struct{}
	// fail makes every write fail with it.
	fail error
}

var errBadRow = errors.New("bad row")

func (s *sink) store() batchlog.Store[int] {
	return batchlog.Store[int]{
		Row: func(r domain.RequestRecord, _ time.Time) (int, error) {
			if r.UserID == "" {
				return 0, errors.New("no user")
			}
			return r.Usage.PromptTokens, nil
		},
		Write: func(ctx context.Context, rows []int) error {
			if s.writing != nil {
				select {
				case s.writing <- struct{}{}:
				default:
				}
			}
			if s.block != nil {
				select {
				case <-s.block:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if s.fail != nil {
				return s.fail
			}
			if slices.Contains(rows, -1) {
				return errBadRow
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			s.rows = append(s.rows, rows...)
			s.batches = append(s.batches, len(rows))
			return nil
		},
		IsDataError: func(err error) bool { return errors.Is(err, errBadRow) },
		User:        func(int) string { return "u1" },
	}
}

func (s *sink) written() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rows)
}

func rec(tokens int) domain.RequestRecord {
	return domain.RequestRecord{UserID: "u1", Usage: domain.Usage{PromptTokens: tokens}}
}

func closeWriter(t *testing.T, w *batchlog.Writer[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))
}

func TestBatches(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 4, FlushInterval: time.Hour}, s.store())
	for i := range 10 {
		w.Record(rec(i))
	}
	closeWriter(t, w)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, s.written(), "in order, each once")
	assert.Equal(t, []int{4, 4, 2}, s.batches, "full batches, then the rest on Close")
	assert.Zero(t, w.Dropped())
}

func TestFlushInterval(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 100, FlushInterval: 10 * time.Millisecond}, s.store())
	defer closeWriter(t, w)
	w.Record(rec(1))
	assert.Eventually(t, func() bool { return len(s.written()) == 1 }, 5*time.Second, time.Millisecond)
}

// TestFullBuffer stalls the writer on record 1 and fills the one-slot buffer
// with record 2: record 3 waits EnqueueTimeout and is dropped.
func TestFullBuffer(t *testing.T) {
	t.Parallel()
	s := &sink{block: make(chan struct{}), writing: make(chan struct{}, 1)}
	logs := &syncBuffer{}
	const wait = 100 * time.Millisecond
	w := batchlog.New(slog.New(slog.NewTextHandler(logs, nil)),
		batchlog.Config{BatchSize: 1, Buffer: 1, EnqueueTimeout: wait}, s.store())

	w.Record(rec(1))
	<-s.writing
	w.Record(rec(2)) // fills the buffer
	assert.Zero(t, w.Dropped())
	start := time.Now()
	w.Record(rec(3)) // finds it full
	assert.GreaterOrEqual(t, time.Since(start), wait)
	assert.Equal(t, int64(1), w.Dropped())

	close(s.block)
	closeWriter(t, w)
	assert.Equal(t, []int{1, 2}, s.written())
	assert.Equal(t, int64(1), w.Dropped())
	assert.Contains(t, logs.String(), `level=ERROR msg="request log buffer full, record dropped" user_id=u1 dropped_total=1`)
}

// TestCloseDeadline gives up on a stuck writer when Close's context ends,
// and counts what it abandoned.
func TestCloseDeadline(t *testing.T) {
	t.Parallel()
	s := &sink{block: make(chan struct{}), writing: make(chan struct{}, 1)}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 1}, s.store())
	w.Record(rec(1))
	<-s.writing
	w.Record(rec(2)) // queued behind the stuck one

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Close(ctx), context.DeadlineExceeded)
	assert.Eventually(t, func() bool { return w.Dropped() == 2 }, 5*time.Second, time.Millisecond)
	assert.Empty(t, s.written())
}

// TestDataErrorCostsOnlyTheRow writes a batch the store refuses for one row
// row by row; a record Row refuses is dropped at once.
func TestDataErrorCostsOnlyTheRow(t *testing.T) {
	t.Parallel()
	s := &sink{}
	logs := &syncBuffer{}
	w := batchlog.New(slog.New(slog.NewTextHandler(logs, nil)), batchlog.Config{FlushInterval: time.Hour}, s.store())
	w.Record(rec(1))
	w.Record(rec(-1))
	w.Record(domain.RequestRecord{}) // no user: refused by Row
	w.Record(rec(2))
	closeWriter(t, w)
	assert.Equal(t, []int{1, 2}, s.written())
	assert.Equal(t, int64(2), w.Dropped())
	out := logs.String()
	assert.Contains(t, out, `level=ERROR msg="request log record invalid, dropped" user_id="" dropped_total=1 error="no user"`)
	assert.Contains(t, out, `level=ERROR msg="request log record lost" user_id=u1 error="bad row"`)
	assert.Contains(t, out, `level=ERROR msg="request log batch partly lost" records=3 lost=1`)
}

// TestFailingStore retries a batch three times, then counts it lost.
func TestFailingStore(t *testing.T) {
	t.Parallel()
	s := &sink{fail: errors.New("disk on fire")}
	logs := &syncBuffer{}
	w := batchlog.New(slog.New(slog.NewTextHandler(logs, nil)), batchlog.Config{FlushInterval: time.Hour}, s.store())
	for i := range 3 {
		w.Record(rec(i))
	}
	closeWriter(t, w)
	assert.Equal(t, int64(3), w.Dropped())
	out := logs.String()
	assert.Equal(t, 3, strings.Count(out, "request log write failed, retrying"), out)
	assert.Contains(t, out, `level=ERROR msg="request log batch lost" records=3 error="disk on fire"`)
}

// TestRecordAfterClose drops and counts records that come after Close, from
// many goroutines racing with it; nothing recorded before Close is lost.
func TestRecordAfterClose(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 7, FlushInterval: time.Millisecond}, s.store())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				w.Record(rec(g*1000 + i))
			}
		})
	}
	time.Sleep(time.Millisecond)
	closeWriter(t, w)
	wg.Wait()
	assert.Equal(t, 8*200, len(s.written())+int(w.Dropped()), "every record is written or counted as dropped")
	closeWriter(t, w) // idempotent
}

func flush(t *testing.T, w *batchlog.Writer[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.Flush(ctx))
}

// TestFlush writes what is queued at once, however far the batch is from
// full and the flush interval from passing.
func TestFlush(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 4, FlushInterval: time.Hour}, s.store())
	defer closeWriter(t, w)

	flush(t, w) // nothing queued
	assert.Empty(t, s.written())
	for i := range 6 {
		w.Record(rec(i))
	}
	flush(t, w)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, s.written(), "in order, each once")
	w.Record(rec(6))
	flush(t, w)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, s.written())
	s.mu.Lock()
	assert.Equal(t, []int{4, 2, 1}, s.batches, "full batches, then the rest")
	s.mu.Unlock()
}

// TestFlushCountsLostRecords returns once a batch the store refuses has
// been dealt with: the offending row is lost and counted, not an error.
func TestFlushCountsLostRecords(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{FlushInterval: time.Hour}, s.store())
	defer closeWriter(t, w)
	w.Record(rec(1))
	w.Record(rec(-1))
	flush(t, w)
	assert.Equal(t, []int{1}, s.written())
	assert.Equal(t, int64(1), w.Dropped())
}

// TestFlushContext gives up when its context ends while the store is stuck;
// the records are written once it recovers.
func TestFlushContext(t *testing.T) {
	t.Parallel()
	s := &sink{block: make(chan struct{}), writing: make(chan struct{}, 1)}
	w := batchlog.New(nil, batchlog.Config{FlushInterval: time.Hour}, s.store())
	defer closeWriter(t, w)
	w.Record(rec(1))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Flush(ctx), context.DeadlineExceeded)
	<-s.writing // the flush started a write, which is stuck

	// A second Flush waits for the stuck write, then takes its turn.
	w.Record(rec(2))
	errs := make(chan error, 1)
	go func() { errs <- w.Flush(context.Background()) }()
	select {
	case err := <-errs:
		t.Fatalf("Flush returned while the store was stuck: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(s.block)
	require.NoError(t, <-errs)
	assert.Equal(t, []int{1, 2}, s.written())
}

// TestFlushAfterClose returns at once: Close wrote everything.
func TestFlushAfterClose(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{FlushInterval: time.Hour}, s.store())
	w.Record(rec(1))
	closeWriter(t, w)
	flush(t, w)
	assert.Equal(t, []int{1}, s.written())
}

// TestFlushConcurrent flushes from many goroutines while they record: each
// Flush covers the records its goroutine queued before it. Then Close races
// with more of the same, and every Flush still returns.
func TestFlushConcurrent(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 3, FlushInterval: time.Millisecond}, s.store())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				v := g*1000 + i
				w.Record(rec(v))
				if !assert.NoError(t, w.Flush(context.Background())) {
					return
				}
				assert.Contains(t, s.written(), v, "record %d queued before Flush", v)
			}
		})
	}
	wg.Wait()
	assert.Len(t, s.written(), 8*20)

	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				w.Record(rec(10000 + g*1000 + i))
				assert.NoError(t, w.Flush(context.Background()))
			}
		})
	}
	time.Sleep(time.Millisecond)
	closeWriter(t, w)
	wg.Wait()
	assert.Equal(t, 8*20+8*50, len(s.written())+int(w.Dropped()), "every record is written or counted as dropped")
}

// syncBuffer is a bytes.Buffer safe for the writer's and the test's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestQueued knows which request ids wait to be written, so that feedback
// can tell a request of this instance not written yet from an unknown id
// without asking the database.
func TestQueued(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := batchlog.New(nil, batchlog.Config{BatchSize: 100, FlushInterval: time.Hour}, s.store())
	defer closeWriter(t, w)

	r := rec(1)
	r.RequestID = "req-1"
	w.Record(r)
	w.Record(r) // a second record of the same id (a retried write) counts too
	assert.True(t, w.Queued("req-1"))
	assert.False(t, w.Queued("req-2"))
	assert.False(t, w.Queued(""))

	flush(t, w)
	assert.False(t, w.Queued("req-1"), "written: no longer queued")
	assert.Len(t, s.written(), 2)

	bad := rec(2)
	bad.RequestID, bad.UserID = "req-3", "" // refused by Row: never queued
	w.Record(bad)
	assert.False(t, w.Queued("req-3"))
}
