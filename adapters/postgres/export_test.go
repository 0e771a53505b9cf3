package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenPoolConfig is Open with a pool configuration the test builds itself,
// for settings Open does not offer (notice handlers, session parameters).
func OpenPoolConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return newDB(pool), nil
}

// Refused counts the connections the server refused for want of a slot,
// each of which made a statement wait.
func (db *DB) Refused() int64 { return db.conns.refused.Load() }

// Hold takes a pooled connection as a statement would, until release.
func (db *DB) Hold(ctx context.Context) (release func(), err error) {
	conn, err := db.conns.acquire(ctx)
	if err != nil {
		return nil, storeErr("hold", err)
	}
	return func() { db.conns.release(conn) }, nil
}

// Exec runs sql through the pool's statement path.
func (db *DB) Exec(ctx context.Context, sql string) error {
	if _, err := db.conns.Exec(ctx, sql); err != nil {
		return storeErr("exec", err)
	}
	return nil
}

// SetMaxWait shortens how long a statement waits for a connection when its
// context does not end first.
func (db *DB) SetMaxWait(d time.Duration) { db.conns.maxWait = d }
