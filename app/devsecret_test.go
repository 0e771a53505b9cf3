package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
)

// devConfig is a development configuration with no JWT_SECRET on an SQLite
// database in dir (a directory that need not exist yet).
func devConfig(t *testing.T, dir string) app.Config {
	t.Helper()
	cfg, err := app.LoadConfig(getenv(map[string]string{"DATABASE_URL": "sqlite:///" + filepath.Join(dir, "genzai.db")}))
	require.NoError(t, err)
	require.True(t, cfg.JWTSecretGenerated)
	return cfg
}

// A restart of development finds the secret the first start made, so
// tokens signed before it still verify.
func TestKeepDevSecretSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // created on first start
	first, err := app.KeepDevSecret(devConfig(t, dir))
	require.NoError(t, err)

	path := filepath.Join(dir, app.DevSecretFile)
	assert.Equal(t, path, first.JWTSecretFile)
	assert.False(t, first.JWTSecretGenerated, "the secret is no longer one process's")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only the owner reads the secret")
	stored, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, first.JWTSecret.Reveal(), string(stored))
	assert.Regexp(t, `^[0-9a-f]{64}$`, string(stored))

	restarted := devConfig(t, dir)
	require.NotEqual(t, first.JWTSecret.Reveal(), restarted.JWTSecret.Reveal(), "each load generates a new one")
	restarted, err = app.KeepDevSecret(restarted)
	require.NoError(t, err)
	assert.Equal(t, first.JWTSecret.Reveal(), restarted.JWTSecret.Reveal(), "the restart uses the stored secret")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}

// Servers starting at once on one directory agree on one secret.
func TestKeepDevSecretConcurrentStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		cfg := devConfig(t, dir)
		wg.Go(func() {
			got, err := app.KeepDevSecret(cfg)
			if assert.NoError(t, err) {
				secrets[i] = got.JWTSecret.Reveal()
			}
		})
	}
	wg.Wait()
	stored, err := os.ReadFile(filepath.Join(dir, app.DevSecretFile))
	require.NoError(t, err)
	for i, s := range secrets {
		assert.Equal(t, string(stored), s, "server %d", i)
	}
}

// Only development without JWT_SECRET on SQLite keeps a secret on disk.
func TestKeepDevSecretLeavesOtherConfigurations(t *testing.T) {
	t.Parallel()
	given := strings.Repeat("g", 40)
	tests := []struct {
		name string
		env  func(dbURL string) map[string]string
	}{
		{"production", func(dbURL string) map[string]string {
			return prod(map[string]string{"DATABASE_URL": dbURL})
		}},
		{"development with JWT_SECRET", func(dbURL string) map[string]string {
			return map[string]string{"DATABASE_URL": dbURL, "JWT_SECRET": given}
		}},
		{"development on PostgreSQL", func(string) map[string]string {
			return map[string]string{"DATABASE_URL": "postgres://genzai@127.0.0.1:1/genzai", "AUTH_ALLOW_EMAIL_LOGIN": "true"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg, err := app.LoadConfig(getenv(tc.env("sqlite:///" + filepath.Join(dir, "genzai.db"))))
			require.NoError(t, err)
			assert.Empty(t, app.DevSecretPath(cfg))
			got, err := app.KeepDevSecret(cfg)
			require.NoError(t, err)
			assert.Equal(t, cfg, got)
			assert.NoFileExists(t, filepath.Join(dir, app.DevSecretFile))
		})
	}

	// Production never reads or writes one, whatever else the
	// configuration says.
	dir := t.TempDir()
	cfg := devConfig(t, dir)
	cfg.Env = app.EnvProduction
	got, err := app.KeepDevSecret(cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	assert.NoFileExists(t, filepath.Join(dir, app.DevSecretFile))
}

// A stored secret that others could read, or that is not one, is refused
// with an error naming the file and the fix, and left as it was.
func TestKeepDevSecretRefusesBadFile(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"readable by the group", good, 0o640, "has mode 0640, wider than 0600"},
		{"readable by everyone", good, 0o644, "has mode 0644, wider than 0600"},
		{"writable by others", good, 0o602, "has mode 0602, wider than 0600"},
		{"empty", "", 0o600, "does not hold 64 hex characters"},
		{"short", good[:63], 0o600, "does not hold 64 hex characters"},
		{"long", good + "0", 0o600, "does not hold 64 hex characters"},
		{"trailing newline", good + "\n", 0o600, "does not hold 64 hex characters"},
		{"not hex", strings.Repeat("z", 64), 0o600, "does not hold 64 hex characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, app.DevSecretFile)
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			require.NoError(t, os.Chmod(path, tc.mode)) // past the umask

			_, err := app.KeepDevSecret(devConfig(t, dir))
			require.Error(t, err)
			assert.Contains(t, err.Error(), path+" "+tc.want)
			assert.Contains(t, err.Error(), "delete it")
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.content, string(after), "the file is left alone")
		})
	}

	t.Run("a directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, app.DevSecretFile), 0o700))
		_, err := app.KeepDevSecret(devConfig(t, dir))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is not a regular file")
	})
}

// A database directory that cannot be made is the database's error to
// report (it names the database); the secret is left per process.
func TestKeepDevSecretLeavesUnusableDirectoryToTheDatabase(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	cfg := devConfig(t, filepath.Join(file, "sub"))
	got, err := app.KeepDevSecret(cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
}
