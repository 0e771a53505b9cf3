package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// A store used after Close answers CodeUnavailable: the pool's own "closed"
// error is recognised by identity.
func TestClosedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	require.Error(t, errDBClosed)
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "genzai.db"), Config{})
	require.NoError(t, err)
	db.Close()
	_, err = db.UserByID(context.Background(), domain.UserID("0190d3c4-0000-7000-8000-000000000001"))
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "%v", err)
}
