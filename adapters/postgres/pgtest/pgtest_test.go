package pgtest

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamesCarryTheirCreationTime(t *testing.T) {
	t.Parallel()
	made := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))
	for _, prefix := range []string{prefixTemplated, prefixEmpty} {
		name := newName(prefix, made)
		assert.Regexp(t, `^genzai_[te]_20260314_140926_[a-z2-7]{10}$`, name, "UTC, to the second")
		assert.LessOrEqual(t, len(name), 63, "PostgreSQL's identifier limit")
		got, ok := createdAt(name)
		require.True(t, ok, name)
		assert.Equal(t, made.Truncate(time.Second).UTC(), got)
	}
	assert.NotEqual(t, newName(prefixTemplated, made), newName(prefixTemplated, made), "names made in one second differ")

	for _, name := range []string{
		"postgres",
		"genzai_tmpl_0123456789abcdef",
		"genzai_bench_20260314_140926",
		"genzai_t_abcdefghijklmnop", // an earlier version's name: no time
		"genzai_t_20260314_140926",  // no random part
		"genzai_t_20261314_140926_abcdefghij",
		"genzai_x_20260314_140926_abcdefghij",
	} {
		_, ok := createdAt(name)
		assert.False(t, ok, name)
	}
}

// TestDropStale leaves test databases behind as a run that died would, and
// checks that a later run drops the old ones and nothing else.
func TestDropStale(t *testing.T) {
	t.Parallel()
	admin := adminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	dbs := map[string]string{
		"stale":             newName(prefixTemplated, now.Add(-2*time.Hour)),
		"stale empty":       newName(prefixEmpty, now.Add(-25*time.Hour)),
		"stale but in use":  newName(prefixTemplated, now.Add(-3*time.Hour)),
		"fresh":             newName(prefixTemplated, now.Add(-10*time.Minute)),
		"fresh empty":       newName(prefixEmpty, now),
		"earlier version's": "genzai_t_" + strings.ToLower(rand.Text()[:16]),
	}
	for _, name := range dbs {
		require.NoError(t, exec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()))
		t.Cleanup(func() { drop(t, admin, name) })
	}
	conn, err := pgx.Connect(ctx, withDatabase(admin, dbs["stale but in use"]))
	require.NoError(t, err)
	defer conn.Close(context.Background())

	dropped, err := dropStale(ctx, admin, now, StaleAfter)
	require.NoError(t, err)

	// Other runs' leftovers on the same server may be dropped too.
	assert.Subset(t, dropped, []string{dbs["stale"], dbs["stale empty"]})
	for what, name := range dbs {
		var exists bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
		gone := what == "stale" || what == "stale empty"
		assert.Equal(t, !gone, exists, "%s database %s", what, name)
		assert.Equal(t, gone, slices.Contains(dropped, name), "%s database %s reported", what, name)
	}
}
