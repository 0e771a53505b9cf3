package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCLIMe(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, nil))
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = tm.run(ctx, "", "chat", "--no-stream", "Hi")
	require.Equal(t, 0, code, errOut)

	out, errOut, code := tm.run(ctx, "", "me")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^ada@example\.com \(user\)\n`+
		`id:        [0-9a-f-]{36}\n`+
		`created:   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n`+
		`verified:  no\npassword:  yes\n`+
		`quota:     1 of 2 requests used today, 1 left\n$`, out)

	out, _, code = tm.run(ctx, "", "me", "-o", "json")
	require.Equal(t, 0, code)
	var me map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &me), out)
	assert.Equal(t, "ada@example.com", me["email"])

	t.Run("export to standard output", func(t *testing.T) {
		out, errOut, code := tm.run(ctx, "", "me", "export")
		require.Equal(t, 0, code, errOut)
		var x map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &x), out)
		assert.Equal(t, me["id"], x["account"].(map[string]any)["id"])
		assert.Empty(t, x["conversations"])
		assert.Empty(t, errOut)
	})

	t.Run("export to a file of one's own", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "export.json")
		out, errOut, code := tm.run(ctx, "", "me", "export", "--output", file)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, out)
		assert.Equal(t, "wrote "+file+": 0 conversations, 0 messages, 0 ratings, 0 API keys\n", errOut)
		info, err := os.Stat(file)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var x map[string]any
		require.NoError(t, json.Unmarshal(raw, &x))
		assert.Equal(t, "ada@example.com", x["account"].(map[string]any)["email"])
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"me", "export", "-o", "json"}, {"me", "exprt"}, {"me", "export", "extra"}} {
			_, errOut, code := tm.run(ctx, "", args...)
			assert.Equal(t, 2, code, "%v: %s", args, errOut)
		}
	})

	t.Run("an API key cannot export", func(t *testing.T) {
		key, errOut, code := tm.run(ctx, "", "keys", "create", "laptop")
		require.Equal(t, 0, code, errOut)
		_, errOut, code = tm.run(ctx, "", "me", "export", "--token", key[:len(key)-1])
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "API keys cannot be used here")
	})
}
