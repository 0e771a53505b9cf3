package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/sqlite"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{in: "sqlite:///abs/path.db", want: "/abs/path.db"},
		{in: "sqlite:///var/lib/genzai/genzai.db", want: "/var/lib/genzai/genzai.db"},
		{in: "sqlite:////abs/path.db", want: "/abs/path.db"},
		{in: "sqlite://relative/path.db", want: "relative/path.db"},
		{in: "sqlite://./data/genzai.db", want: "data/genzai.db"},
		{in: "sqlite:///./data/genzai.db", want: "data/genzai.db"},
		{in: "sqlite:///../up.db", want: "../up.db"},
		{in: "sqlite:////./abs.db", want: "/abs.db"},
		{in: "sqlite://../up.db", want: "../up.db"},
		{in: "sqlite://genzai.db", want: "genzai.db"},
		{in: "sqlite:relative.db", want: "relative.db"},
		{in: "sqlite:data/genzai.db", want: "data/genzai.db"},
		{in: "sqlite:/abs.db", want: "/abs.db"},
		{in: "SQLite:///abs.db", want: "/abs.db"},
		{in: "sqlite+aiosqlite:///./data/x.db", want: "data/x.db"},
		{in: "sqlite:///with%20space/a%23b.db", want: "/with space/a#b.db"},
		{in: "sqlite:///a/./b/../c.db", want: "/a/c.db"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := sqlite.ParseURL(tc.in)
			require.NoError(t, err)
			assert.Equal(t, filepath.FromSlash(tc.want), got)
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ""},
		{name: "postgres", in: "postgres://u:p@h/db"},
		{name: "sqlite3 scheme", in: "sqlite3:///abs.db"},
		{name: "file scheme", in: "file:/abs.db"},
		{name: "plain path", in: "/abs/path.db"},
		{name: "no path", in: "sqlite:"},
		{name: "no path after slashes", in: "sqlite://"},
		{name: "root only", in: "sqlite:///"},
		{name: "query", in: "sqlite:///abs.db?mode=ro"},
		{name: "fragment", in: "sqlite:///abs.db#x"},
		{name: "memory", in: "sqlite::memory:"},
		{name: "memory after slashes", in: "sqlite://:memory:"},
		{name: "bad escape", in: "sqlite:///abs%zz.db"},
		{name: "NUL", in: "sqlite:///abs%00.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := sqlite.ParseURL(tc.in)
			require.Error(t, err)
			assert.Empty(t, got)
		})
	}
}

// TestOpenCreates checks that Open makes the missing directories (0700) and
// the file (0600), answers at once and reports its absolute path; opening
// again finds the same data.
func TestOpenCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := t.TempDir()
	path := filepath.Join(base, "a", "b c", "genzai.db")

	db, err := sqlite.Open(ctx, path, sqlite.Config{})
	require.NoError(t, err)
	assert.Equal(t, path, db.Path())
	require.NoError(t, db.Ping(ctx))
	for _, dir := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b c")} {
		st, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), dir)
	}
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	migrate(t, db)
	u := newUser(t, db, "kept@example.com")
	db.Close()

	again, err := sqlite.Open(ctx, path, sqlite.Config{MaxConns: 1})
	require.NoError(t, err)
	defer again.Close()
	got, err := again.UserByID(ctx, u)
	require.NoError(t, err)
	assert.Equal(t, "kept@example.com", got.Email)
	var mode string
	require.NoError(t, rawConn(t, path).QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
}

// TestOpenRelative resolves a relative path against the working directory.
func TestOpenRelative(t *testing.T) {
	// t.Chdir forbids t.Parallel.
	dir := t.TempDir()
	t.Chdir(dir)
	db, err := sqlite.Open(context.Background(), filepath.Join("data", "genzai.db"), sqlite.Config{})
	require.NoError(t, err)
	defer db.Close()
	want, err := filepath.EvalSymlinks(filepath.Join(dir, "data", "genzai.db"))
	require.NoError(t, err)
	got, err := filepath.EvalSymlinks(db.Path())
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.True(t, filepath.IsAbs(db.Path()))
}
