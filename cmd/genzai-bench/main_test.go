package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/gateway"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/report"
)

// TestQuickRun runs the whole harness in --quick mode: the real gateway
// binary on a real PostgreSQL database (TEST_DATABASE_URL), every scenario
// directly and through the gateway, and the results written.
func TestQuickRun(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("TEST_DATABASE_URL is unset: the harness needs PostgreSQL")
	}
	if testing.Short() {
		t.Skip("-short: the quick run takes half a minute")
	}
	out := t.TempDir()
	env := map[string]string{"BENCH_DATABASE_URL": dbURL}
	var stdout, stderr bytes.Buffer
	// A bound against hangs, not a performance check: the run starts with a
	// cold build of the gateway, which on a busy 2-core machine (the rest of
	// make test compiling beside it) takes minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	// One build serves as the gateway and as the baseline beside it (the
	// same code: the harness's comparison is what is checked here).
	bin := filepath.Join(t.TempDir(), "genzai")
	require.NoError(t, gateway.Build(ctx, filepath.Join("..", ".."), bin))
	// The gateway's default pool (20 kept open, up to 60) would take most of
	// a test server's 100 connections beside the other database tests: ten,
	// pgtest.MaxConns, is what a test may hold, five for each gateway.
	args := []string{"--quick", "--out", out, "--gateway-bin", bin, "--baseline-bin", bin,
		"--gateway-env", "DATABASE_POOL_SIZE=1", "--gateway-env", "DATABASE_POOL_MAX_OVERFLOW=4"}
	err := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
	require.NoError(t, err, "log:\n%s", stderr.String())
	t.Logf("quick run took %v", time.Since(start).Round(time.Millisecond))

	files, err := filepath.Glob(filepath.Join(out, "*-quick.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	md, err := os.ReadFile(strings.TrimSuffix(files[0], ".json") + ".md")
	require.NoError(t, err)
	assert.Equal(t, string(md), stdout.String(), "the Markdown is printed and written")

	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var res report.Run
	require.NoError(t, json.Unmarshal(b, &res))
	assert.True(t, res.Quick)
	assert.Positive(t, res.Machine.Cores, "machine described")
	assert.NotEmpty(t, res.Machine.PostgreSQL)
	assert.NotEmpty(t, res.Machine.GoVersion)
	assert.Equal(t, 2000, res.Gateway.Users)

	names := make([]string, 0, len(res.Scenarios))
	for _, s := range res.Scenarios {
		names = append(names, s.Name)
		// One user and one API key on /v1 beside the spread-out gateway
		// where the issue sets goals for them.
		want := []string{"direct", "gateway"}
		if s.Name == "nonstream" || s.Name == "rate500" || s.Name == "stream" {
			want = append(want, "gateway, 1 user", "gateway /v1, 1 key", "baseline")
		}
		targets := make([]string, 0, len(s.Phases))
		for _, p := range s.Phases {
			targets = append(targets, p.Target)
		}
		require.Equal(t, want, targets, s.Name)
		gw := s.Phases[1]
		for _, p := range s.Phases[1:] {
			require.NotNil(t, p.Process, "%s %s", s.Name, p.Target)
			assert.Positive(t, p.Process.GoroutinesMax, "%s %s", s.Name, p.Target)
		}
		for _, p := range s.Phases {
			assert.Positive(t, p.OK, "%s %s", s.Name, p.Target)
			assert.Empty(t, p.Errors, "%s %s", s.Name, p.Target)
			assert.Positive(t, p.Latency.P50, "%s %s", s.Name, p.Target)
		}
		require.NotNil(t, gw.Process, s.Name)
		assert.Positive(t, gw.Process.PeakRSSBytes, s.Name)
		assert.Positive(t, gw.Process.GoroutinesMax, s.Name)
		assert.Positive(t, gw.Process.FDsMax, s.Name)
		require.Len(t, s.Comparisons, len(want)-1, s.Name)
		for _, c := range s.Comparisons {
			assert.Positive(t, c.RPSRatio, "%s %s", s.Name, c.Target)
		}
		assert.NotEmpty(t, s.Checks, s.Name)
		if s.Load.StreamShare > 0 {
			require.NotNil(t, gw.TTFT, s.Name)
			require.NotNil(t, s.Comparisons[0].TTFTOverhead, s.Name)
		}
		if slices.Contains(want, "baseline") {
			goals := make([]string, 0, len(s.Checks))
			for _, c := range s.Checks {
				goals = append(goals, c.Goal)
			}
			assert.Contains(t, goals, "gateway CPU per 1000 requests ≤ a third of the baseline's", s.Name)
		}
		switch s.Name {
		case "cached":
			// Hits need the cache in the chat path (CACHE_ENABLED), which
			// this scenario's gateway runs with.
			require.NotNil(t, gw.Cache, "the phase's cache counts")
			assert.Positive(t, gw.Cache.Hits)
		case "streams":
			assert.Equal(t, 200, gw.OK, "every stream completed")
			assert.Equal(t, 200, gw.PeakOpen, "all open at once")
		case "soak":
			assert.NotEmpty(t, s.Trends)
			assert.NotEmpty(t, s.Series)
			metrics := map[string]bool{}
			for _, tr := range s.Trends {
				metrics[tr.Metric] = true
			}
			assert.True(t, metrics["goroutines net of inbound connections"], "inbound connections sampled: %v", metrics)
			assert.Positive(t, s.Series[len(s.Series)-1].Inbound+1, "inbound counted (0 or more)")
		}
	}
	assert.Equal(t, scenarioNames, names)

	// The run's database is gone.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", res.Gateway.Database).Scan(&n))
	assert.Zero(t, n, "database %s dropped", res.Gateway.Database)
	require.NotNil(t, res.Gateway.Baseline)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", res.Gateway.Baseline.Database).Scan(&n))
	assert.Zero(t, n, "baseline database %s dropped", res.Gateway.Baseline.Database)
}
