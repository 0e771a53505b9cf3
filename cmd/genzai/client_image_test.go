package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

func TestCLIImage(t *testing.T) {
	t.Parallel()
	hf := fakeupstream.New(t)
	host := gateway(t, map[string]string{
		"ENABLE_IMAGE_GENERATION": "true", "USER_DAILY_QUOTA": "20", "IMAGE_PROVIDERS": "huggingface",
		"HUGGINGFACE_API_KEY": "hk-0", "HUGGINGFACE_BASE_URL": hf.URL(), "HUGGINGFACE_INFERENCE_URL": hf.URL(),
		// The fake answers the monitor's probes too: keep them away.
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
	})
	tm := newUser(t, host)
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)

	dir := t.TempDir()
	file := filepath.Join(dir, "out.png")
	out, errOut, code := tm.run(ctx, "", "image", "a red square", "-o", file)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	assert.Regexp(t, `^wrote .*out\.png: image/png, \d+ bytes, by huggingface \(black-forest-labs/FLUX\.1-schnell\)\n$`, errOut)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, fakeupstream.PNG(), raw)
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	_, errOut, code = tm.run(ctx, "", "image", "two squares", "-n", "2", "--size", "512x512", "-o", file)
	require.Equal(t, 0, code, errOut)
	for _, name := range []string{"out-1.png", "out-2.png"} {
		_, err := os.Stat(filepath.Join(dir, name))
		assert.NoError(t, err, name)
	}

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"image", "a cat"}, {"image"}, {"image", "a", "b", "-o", file}} {
			_, errOut, code := tm.run(ctx, "", append(args, "")[:len(args)]...)
			assert.Equal(t, 2, code, "%v: %s", args, errOut)
		}
	})

	t.Run("the server's refusal", func(t *testing.T) {
		hf.Default(fakeupstream.HFError(http.StatusInternalServerError, "CUDA out of memory"))
		_, errOut, code := tm.run(ctx, "", "image", "a cat", "-o", file)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "unavailable")
	})
}

func TestCLIImageOff(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, nil))
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = tm.run(ctx, "", "image", "a cat", "-o", filepath.Join(t.TempDir(), "x.png"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "ENABLE_IMAGE_GENERATION=true")
}
