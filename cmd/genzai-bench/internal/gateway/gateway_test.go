package gateway

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogAddr(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "gateway.log")
	require.NoError(t, os.WriteFile(log, []byte(`{"time":"x","level":"INFO","msg":"migrations applied"}
not json at all, "listening"
{"time":"x","level":"INFO","msg":"pprof listening","addr":"127.0.0.1:6061"}
{"time":"x","level":"INFO","msg":"listening","addr":"127.0.0.1:41234","env":"production"}
`), 0o600))
	assert.Equal(t, "127.0.0.1:41234", logAddr(log, "listening"))
	assert.Equal(t, "127.0.0.1:6061", logAddr(log, "pprof listening"))
	assert.Empty(t, logAddr(log, "stopped"))
	assert.Empty(t, logAddr(filepath.Join(t.TempDir(), "missing.log"), "listening"))
}

func TestModuleRoot(t *testing.T) {
	t.Parallel()
	root, err := ModuleRoot(".")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "cmd", "genzai", "main.go"))
	_, err = ModuleRoot(t.TempDir())
	assert.ErrorContains(t, err, "--gateway-bin")
}
