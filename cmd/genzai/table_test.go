package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDisplayWidth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"fast", 4},
		{"Fast ⚡", 7},       // U+26A1 is wide
		{"Smart 🧠", 8},      // U+1F9E0 is wide
		{"Balanced ⚖️", 11}, // U+2696 + VS16: shown as an emoji, two cells
		{"é", 1},            // e + combining acute accent
		{"日本", 4},
	} {
		assert.Equal(t, tc.want, displayWidth(tc.s), "%q", tc.s)
	}
}

func TestTableAlignsByCells(t *testing.T) {
	t.Parallel()
	var tb table
	tb.row("MODEL", "NAME", "PROVIDER")
	tb.row("fast", "Fast ⚡", "groq")
	tb.row("balanced", "Balanced ⚖️", "groq")
	tb.row("smart", "Smart 🧠", "openrouter")
	var out bytes.Buffer
	require.NoError(t, tb.write(&out))
	assert.Equal(t, ""+
		"MODEL     NAME         PROVIDER\n"+
		"fast      Fast ⚡      groq\n"+
		"balanced  Balanced ⚖️  groq\n"+
		"smart     Smart 🧠     openrouter\n", out.String())
}

func TestUntilReset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "under a minute"},
		{29 * time.Second, "under a minute"},
		{90 * time.Second, "2m"},
		{59 * time.Minute, "59m"},
		{5*time.Hour + 12*time.Minute + 10*time.Second, "5h 12m"},
		{24 * time.Hour, "24h 0m"},
	} {
		assert.Equal(t, tc.want, untilReset(tc.d), "%s", tc.d)
	}
}
