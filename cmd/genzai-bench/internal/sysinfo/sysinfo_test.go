package sysinfo_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/sysinfo"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	m := sysinfo.Describe(context.Background(), "", "15.2")
	assert.Positive(t, m.Cores)
	assert.Positive(t, m.MemoryBytes)
	assert.Contains(t, m.Kernel, "Linux")
	assert.NotEmpty(t, m.GoVersion)
	assert.Contains(t, m.String(), "PostgreSQL 15.2")
}

func TestPortRange(t *testing.T) {
	t.Parallel()
	r, err := sysinfo.ReadPortRange()
	require.NoError(t, err)
	assert.Positive(t, r.Size())
	assert.Equal(t, 28232, sysinfo.PortRange{Low: 32768, High: 60999}.Size())
	assert.Equal(t, "32768 60999", sysinfo.PortRange{Low: 32768, High: 60999}.String())
}

func TestRaiseNoFile(t *testing.T) {
	t.Parallel()
	var before syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before))
	got, err := sysinfo.RaiseNoFile(1024)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, got, min(uint64(1024), before.Max), "at least what was asked, within the hard limit")
	got, err = sysinfo.RaiseNoFile(1 << 40)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, got, before.Cur, "never lowered")
}
