package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMigrationLockLease drives two locks on one file directly: the holder's
// heartbeat keeps its lease alive well past the lease time, the other waits
// until Unlock, and a holder whose lease was taken over learns it on Unlock.
func TestMigrationLockLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lock.db")
	pa, err := openPool(path, 2)
	require.NoError(t, err)
	defer pa.Close()
	pb, err := openPool(path, 2)
	require.NoError(t, err)
	defer pb.Close()

	const lease = 60 * time.Millisecond
	timing := lockTiming{lease: lease, retry: 5 * time.Millisecond, timeout: 100 * time.Millisecond}
	a, b := newMigrationLock(timing, nil), newMigrationLock(timing, nil)

	require.NoError(t, a.Lock(ctx, pa))
	time.Sleep(5 * lease) // renewed by the heartbeat meanwhile
	err = b.Lock(ctx, pb)
	require.Error(t, err, "a renewed lease is not stale")
	assert.Contains(t, err.Error(), "still held by "+a.owner)

	require.NoError(t, a.Unlock(ctx, pa))
	require.NoError(t, b.Lock(ctx, pb), "free once released")
	require.NoError(t, b.Unlock(ctx, pb))

	// a takes the lock again, but its lease ends unrenewed (its heartbeat
	// is stopped, as when a process freezes) and b takes it over.
	require.NoError(t, a.Lock(ctx, pa))
	a.mu.Lock()
	a.stopBeat()
	a.mu.Unlock()
	time.Sleep(2 * lease)
	require.NoError(t, b.Lock(ctx, pb))
	err = a.Unlock(ctx, pa)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another process took it over")
	require.NoError(t, b.Unlock(ctx, pb))
}
