package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// accountChannel is the channel the stores notify on, with the id of each
// account that changed (its row or one of its keys), or anyAccount.
const accountChannel = "genzai_accounts"

// anyAccount is the payload of a notice that any account may have
// changed, as an operator who changed accounts by hand sends it:
// NOTIFY genzai_accounts, '*'.
const anyAccount = "*"

// syncPrefix marks Sync's own notices: a payload no account id has.
const syncPrefix = "sync:"

// announce notifies accountChannel that the account uid (its row or one of
// its keys) changed. Run in the writing transaction, the notice goes out
// exactly when the transaction commits, and never when it rolls back.
func announce(ctx context.Context, tx pgx.Tx, uid uuid.UUID) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", accountChannel, uid.String())
	return err
}

// announced runs write in a transaction that announces the account uid.
// Every store method that changes what authentication reads (an account's
// row, its keys) writes through it or announce, so that no write path
// forgets its notice; portstest.RunAccountFeed lists them.
func (db *DB) announced(ctx context.Context, uid uuid.UUID, write func(q *sqlcgen.Queries) error) error {
	return pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		if err := write(db.q.WithTx(tx)); err != nil {
			return err
		}
		return announce(ctx, tx, uid)
	})
}

// ListenerConfig tunes a Listener; zero values are the defaults.
type ListenerConfig struct {
	// PingAfter is how long the connection may stay silent before the
	// listener checks that it still answers (500 ms), and how long the
	// answer may take: a connection lost without a word (a network
	// partition) is noticed within about a second. One lost with a word
	// (the server ended it, or closed the socket) is noticed at once.
	PingAfter time.Duration
	// RetryMax caps the wait between reconnection attempts (2 s); the
	// first retry comes after 50 ms.
	RetryMax time.Duration
}

// Listener is ports.AccountFeed over PostgreSQL's LISTEN/NOTIFY: one
// connection of its own (outside the pool), reconnected whenever it is
// lost. The stores send the notices inside their writing transactions
// (announce), so that the gateway's writes and operator commands announce
// their changes exactly when they commit; a change made by hand is
// announced with NOTIFY genzai_accounts, '*'.
type Listener struct {
	db     *DB
	conn   *pgx.ConnConfig
	cfg    ListenerConfig
	logger *slog.Logger

	mu      sync.Mutex
	syncs   map[string]chan struct{}
	started bool // Subscribe ran, or Close did (no listening after it)
	stop    context.CancelFunc
	done    chan struct{}
}

var _ ports.AccountFeed = (*Listener)(nil)

// NewListener returns a feed of account changes on db's database; it
// connects when Subscribe is called. Close it before db.
func (db *DB) NewListener(cfg ListenerConfig, logger *slog.Logger) *Listener {
	if cfg.PingAfter <= 0 {
		cfg.PingAfter = 500 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 2 * time.Second
	}
	conn := db.pool.Config().ConnConfig.Copy()
	// Waiting for notices is not a query worth timing, and operators find
	// the connection by its name in pg_stat_activity.
	conn.Tracer = nil
	conn.RuntimeParams["application_name"] = "genzai-listener"
	return &Listener{db: db, conn: conn, cfg: cfg, logger: logger, syncs: map[string]chan struct{}{}, done: make(chan struct{})}
}

// Subscribe implements ports.AccountFeed: it starts listening in the
// background until Close. A second call does nothing.
func (l *Listener) Subscribe(n ports.AccountNotices) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	go l.run(ctx, n)
}

// Close stops listening and closes the connection; it returns once the
// listener has stopped. Calling it again does nothing.
func (l *Listener) Close() {
	l.mu.Lock()
	l.started = true
	stop := l.stop
	l.stop = nil
	l.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-l.done
}

// run listens until ctx ends, reconnecting after each loss.
func (l *Listener) run(ctx context.Context, n ports.AccountNotices) {
	defer close(l.done)
	retry := 50 * time.Millisecond
	for {
		listened, err := l.listen(ctx, n)
		if ctx.Err() != nil {
			return
		}
		if listened {
			// Once per loss, not per attempt: the database's own outage
			// is reported by the requests that fail.
			retry = 50 * time.Millisecond
			l.logger.Warn("account notices: listener connection lost; cached accounts live 1 s until it is back",
				"error", err)
		} else {
			l.logger.Debug("account notices: listener cannot connect yet", "error", err, "retry_in", retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(retry*2, l.cfg.RetryMax)
	}
}

// listen connects, listens and delivers notices until the connection fails
// or ctx ends; listened reports whether it got as far as listening.
func (l *Listener) listen(ctx context.Context, n ports.AccountNotices) (listened bool, err error) {
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, l.conn)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect: %w", redactErr(err))
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+accountChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	n.NoticesLive(true)
	defer n.NoticesLive(false)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, l.cfg.PingAfter)
		note, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			l.deliver(n, note.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			// Silence: make sure it is not a dead connection's.
			pingCtx, cancel := context.WithTimeout(ctx, l.cfg.PingAfter)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait: %w", err)
		}
	}
}

// deliver hands one notice to n, or wakes the Sync that sent it.
func (l *Listener) deliver(n ports.AccountNotices, payload string) {
	if token, ok := strings.CutPrefix(payload, syncPrefix); ok {
		l.mu.Lock()
		if ch, ok := l.syncs[token]; ok {
			close(ch)
			delete(l.syncs, token)
		}
		l.mu.Unlock()
		return
	}
	if payload == anyAccount {
		payload = ""
	}
	n.AccountChanged(domain.UserID(payload))
}

// Sync implements ports.AccountFeed: it sends a notice of its own and
// waits for the listener to receive it. PostgreSQL delivers notices in
// commit order, so every change committed before the call has been
// delivered by then. It sends again every 100 ms, in case the listener
// was not listening yet.
func (l *Listener) Sync(ctx context.Context) error {
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	token := hex.EncodeToString(raw[:])
	ch := make(chan struct{})
	l.mu.Lock()
	l.syncs[token] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.syncs, token)
		l.mu.Unlock()
	}()
	for {
		if _, err := l.db.conns.Exec(ctx, "SELECT pg_notify($1, $2)", accountChannel, syncPrefix+token); err != nil {
			return storeErr("sync account notices", err)
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return domain.Errorf(domain.CodeUnavailable, "account notices are not flowing: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
