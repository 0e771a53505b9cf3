package sqlite

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// migrationLock is a goose lock.Locker for SQLite, which has no advisory
// locks: one row of genzai_migration_lock names the process that holds the
// lock and when its lease ends. The holder renews the lease while it
// migrates; another process takes the row over only once the lease has
// ended, so a process that died holding the lock blocks the others for at
// most one lease.
type migrationLock struct {
	owner  string
	timing lockTiming
	log    *slog.Logger

	mu        sync.Mutex // guards the heartbeat fields between Lock and Unlock
	stopBeat  context.CancelFunc
	beatDone  chan struct{}
	beatError error // set by the heartbeat when the lease was lost
}

var _ lock.Locker = (*migrationLock)(nil)

func newMigrationLock(timing lockTiming, logger *slog.Logger) *migrationLock {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &migrationLock{
		owner:  fmt.Sprintf("%s-%d-%s", cmp.Or(host, "unknown-host"), os.Getpid(), rand.Text()[:8]),
		timing: timing,
		log:    logger,
	}
}

const createLockTable = `CREATE TABLE IF NOT EXISTS genzai_migration_lock (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL -- unix microseconds
)`

// Lock implements lock.Locker: it takes the lock, waiting while another
// process holds a live lease, and keeps the lease alive until Unlock.
func (l *migrationLock) Lock(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(l.timing.timeout)
	for {
		holder, err := l.tryLock(ctx, db)
		switch {
		case err == nil && holder == "":
			l.startHeartbeat(db)
			return nil
		case err != nil && !isUnavailable(err):
			return fmt.Errorf("take migration lock: %w", err)
		case time.Now().After(deadline):
			if err != nil {
				return fmt.Errorf("take migration lock: gave up after %s: %w", l.timing.timeout, err)
			}
			return fmt.Errorf("take migration lock: still held by %s after %s", holder, l.timing.timeout)
		}
		select {
		case <-time.After(l.timing.retry):
		case <-ctx.Done():
			return fmt.Errorf("take migration lock: %w", ctx.Err())
		}
	}
}

// tryLock takes the lock if it is free or its lease has ended, in one
// immediate transaction; it returns the other holder when it is not.
func (l *migrationLock) tryLock(ctx context.Context, db *sql.DB) (holder string, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, createLockTable); err != nil {
		return "", err
	}
	now := time.Now()
	var owner string
	var expires int64
	err = tx.QueryRowContext(ctx, "SELECT owner, expires_at FROM genzai_migration_lock WHERE id = 1").Scan(&owner, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", err
	case now.UnixMicro() < expires:
		return owner, tx.Rollback()
	default:
		l.log.Warn("taking over a stale migration lock", "stale_owner", owner, "expired_at", fromMicros(expires))
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO genzai_migration_lock (id, owner, expires_at) VALUES (1, ?, ?)",
		l.owner, now.Add(l.timing.lease).UnixMicro()); err != nil {
		return "", err
	}
	return "", tx.Commit()
}

// startHeartbeat renews the lease every third of it until Unlock.
func (l *migrationLock) startHeartbeat(db *sql.DB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l.mu.Lock()
	l.stopBeat, l.beatDone, l.beatError = cancel, done, nil
	l.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(l.timing.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			res, err := db.ExecContext(ctx, "UPDATE genzai_migration_lock SET expires_at = ? WHERE id = 1 AND owner = ?",
				time.Now().Add(l.timing.lease).UnixMicro(), l.owner)
			if err != nil {
				// A migration holding the write lock can outlast the busy
				// timeout; the next beat tries again within the lease.
				if ctx.Err() == nil {
					l.log.Warn("renew migration lock", "error", err)
				}
				continue
			}
			if n, _ := res.RowsAffected(); n == 0 {
				l.mu.Lock()
				l.beatError = errors.New("migration lock lost: its lease ended and another process took it over")
				l.mu.Unlock()
				l.log.Error("migration lock lost to another process")
				return
			}
		}
	}()
}

// Unlock implements lock.Locker: it stops renewing the lease and releases
// the lock. It fails when the lease was lost meanwhile, since another
// process may then have migrated at the same time.
func (l *migrationLock) Unlock(ctx context.Context, db *sql.DB) error {
	l.mu.Lock()
	stop, done := l.stopBeat, l.beatDone
	l.stopBeat, l.beatDone = nil, nil
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	l.mu.Lock()
	lost := l.beatError
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	res, err := db.ExecContext(ctx, "DELETE FROM genzai_migration_lock WHERE id = 1 AND owner = ?", l.owner)
	if err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errors.New("release migration lock: lost: its lease ended and another process took it over")
	}
	return nil
}
