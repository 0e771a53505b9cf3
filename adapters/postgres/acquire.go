package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backoff between attempts to get a connection while the server refuses new
// ones: short, because a statement holds its connection for about a
// millisecond; capped, so that waiting requests do not knock on a full
// server hundreds of times a second each.
const (
	firstSlotRetry = 2 * time.Millisecond
	maxSlotRetry   = 100 * time.Millisecond
	// maxSlotWait bounds the wait of a statement whose context has no
	// earlier end (a chat request has no deadline): a server that frees
	// no connection for this long answers unavailable rather than hanging.
	maxSlotWait = 10 * time.Second
)

// conns runs statements on connections from the pool. When the server
// refuses a new connection because it has no slot left (SQLSTATE 53300,
// too_many_connections, which is also what a role's CONNECTION LIMIT and
// the reserved slots answer), the statement waits for a connection another
// statement gives back, for as long as its context allows, instead of
// failing: the pool's MaxConns is a ceiling the server may not grant.
//
// It implements sqlcgen.DBTX and what pgx.BeginFunc and pgx.BeginTxFunc
// need, and releases each connection as pgxpool's own methods do: after
// Exec, when rows are closed or read to the end, after a row's Scan, at a
// transaction's Commit or Rollback.
type conns struct {
	pool *pgxpool.Pool
	// released wakes one waiting statement each time a connection is
	// given back (a send that nobody receives is dropped).
	released chan struct{}
	// refused counts the server's refusals that made a statement wait.
	refused atomic.Int64
	// maxWait is maxSlotWait (shorter in tests).
	maxWait time.Duration
}

func newConns(pool *pgxpool.Pool) *conns {
	return &conns{pool: pool, released: make(chan struct{}), maxWait: maxSlotWait}
}

// tooManyConnections reports the server's refusal for want of a slot.
func tooManyConnections(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "53300"
}

// acquire takes a connection from the pool, waiting while the server has no
// slot for a new one.
func (c *conns) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := c.pool.Acquire(ctx)
	if err == nil || !tooManyConnections(err) {
		return conn, err
	}
	return c.waitForSlot(ctx, err)
}

// waitForSlot retries acquire after the server refused a connection
// (refusal), each time a connection is given back or after a backoff.
// When ctx ends first (or maxWait passes) the error wraps both the
// server's refusal (which makes it CodeUnavailable in storeErr) and the
// context's error.
func (c *conns) waitForSlot(ctx context.Context, refusal error) (*pgxpool.Conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.maxWait, errNoSlot)
	defer cancel()
	delay := firstSlotRetry
	for {
		c.refused.Add(1)
		// Jitter keeps waiters that were refused together from retrying together.
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for a free database connection: %w", errors.Join(refusal, context.Cause(ctx)))
		case <-c.released:
			t.Stop()
		case <-t.C:
		}
		delay = min(2*delay, maxSlotRetry)
		conn, err := c.pool.Acquire(ctx)
		if err == nil || !tooManyConnections(err) {
			return conn, err
		}
		refusal = err
	}
}

// errNoSlot ends a wait for a connection that lasted maxWait.
var errNoSlot = fmt.Errorf("no database connection was given back in time: %w", context.DeadlineExceeded)

// release gives conn back to the pool and wakes one waiting statement.
func (c *conns) release(conn *pgxpool.Conn) {
	conn.Release()
	select {
	case c.released <- struct{}{}:
	default:
	}
}

// Exec runs a statement on a pooled connection.
func (c *conns) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer c.release(conn)
	return conn.Exec(ctx, sql, args...)
}

// Query runs a query on a pooled connection, released when the rows are.
func (c *conns) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		c.release(conn)
		return nil, err
	}
	return &connRows{Rows: rows, release: func() { c.release(conn) }}, nil
}

// QueryRow runs a query on a pooled connection, released after Scan.
func (c *conns) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	conn, err := c.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return &connRow{row: conn.QueryRow(ctx, sql, args...), release: func() { c.release(conn) }}
}

// CopyFrom copies rows on a pooled connection.
func (c *conns) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.release(conn)
	return conn.CopyFrom(ctx, table, columns, src)
}

// Begin starts a transaction on a pooled connection, released when the
// transaction ends.
func (c *conns) Begin(ctx context.Context) (pgx.Tx, error) {
	return c.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx starts a transaction with opts on a pooled connection, released
// when the transaction ends.
func (c *conns) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		c.release(conn)
		return nil, err
	}
	return &connTx{Tx: tx, release: func() { c.release(conn) }}, nil
}

// connRows releases its connection when closed, or read to the end.
type connRows struct {
	pgx.Rows
	release func()
}

func (r *connRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *connRows) Close() {
	r.Rows.Close()
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// connRow releases its connection after Scan.
type connRow struct {
	row     pgx.Row
	release func()
}

func (r *connRow) Scan(dest ...any) error {
	defer r.release()
	return r.row.Scan(dest...)
}

// errRow is a row whose query could not start.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// connTx releases its connection when the transaction commits or rolls
// back (pgx.BeginFunc always does one of the two).
type connTx struct {
	pgx.Tx
	release func()
}

func (t *connTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	t.done()
	return err
}

func (t *connTx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	t.done()
	return err
}

func (t *connTx) done() {
	if t.release != nil {
		t.release()
		t.release = nil
	}
}

// sendBatch sends b's statements in one round trip on a pooled connection
// and hands their results to read. Without statements of its own that
// control the transaction, the batch runs in one implicit transaction: its
// row locks are held for the server's time only, never across round trips.
func (c *conns) sendBatch(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	conn, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.release(conn)
	br := conn.SendBatch(ctx, b)
	err = read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchQueue is a sqlcgen.DBTX that queues each generated statement into a
// pgx.Batch instead of running it, so that sqlc's queries can be sent
// together (conns.sendBatch); their results are read from the batch's
// results, in order. Only statements run with Exec or QueryRow can be
// queued, and a queued row scans nothing.
type batchQueue struct{ b *pgx.Batch }

var errNotQueueable = errors.New("statement cannot be queued in a batch")

// Exec implements sqlcgen.DBTX.
func (q batchQueue) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Query implements sqlcgen.DBTX: rows are never queued.
func (q batchQueue) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotQueueable
}

// QueryRow implements sqlcgen.DBTX.
func (q batchQueue) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	q.b.Queue(sql, args...)
	return queuedRow{}
}

// CopyFrom implements sqlcgen.DBTX: a copy is never queued.
func (q batchQueue) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errNotQueueable
}

// queuedRow is the row of a statement queued, not run.
type queuedRow struct{}

// Scan implements pgx.Row.
func (queuedRow) Scan(...any) error { return nil }
