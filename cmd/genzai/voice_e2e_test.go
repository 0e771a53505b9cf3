package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestServeVoiceCLI transcribes and speaks through the real binary, client
// and server, with a fake Groq: a real WAV file arrives whole at the
// provider and its text prints; speech lands in a file; a file over
// MAX_AUDIO_BYTES is refused with 413 and a text file named .mp3 with 415,
// neither reaching the provider nor costing quota; each delivered request
// costs one unit, and one the provider fails is refunded.
func TestServeVoiceCLI(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	groq.Default(fakeupstream.Transcript("Hello from the fake Groq.", "English", 250*time.Millisecond))
	dbURL := pgtest.NewURL(t)
	s := startServer(t, "", serverVars(dbURL).with(vars{
		"ENABLE_VOICE": "true", "MAX_AUDIO_BYTES": "20000", "PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"GROQ_API_KEYS": "gsk-voice", "GROQ_BASE_URL": groq.URL(),
	}))
	s.register(t, "ada@example.com", "correct horse")
	token := s.login(t, "ada@example.com", "correct horse").AccessToken
	dir := t.TempDir()
	cliVars := vars{"GENZAI_HOST": s.url, "GENZAI_TOKEN": token, "GENZAI_CONFIG": filepath.Join(dir, "config.yaml")}
	cli := func(args ...string) (string, string, int) { return runGenzai(t, dir, cliVars, args...) }
	used := func() int {
		t.Helper()
		r := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(token)...)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		return decode[quotaBody](t, r).Used
	}
	// received is what reached the fake Groq: the files transcriptions
	// sent, and how many speech requests came.
	received := func() (uploads [][]byte, speech int) {
		for _, r := range groq.Requests() {
			switch {
			case strings.HasSuffix(r.Path, "/audio/transcriptions"):
				uploads = append(uploads, r.File)
			case strings.HasSuffix(r.Path, "/audio/speech"):
				speech++
			}
		}
		return uploads, speech
	}
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}

	memo := wavBytes(250 * time.Millisecond) // 8 KiB, under MAX_AUDIO_BYTES
	out, errOut, code := cli("transcribe", write("memo.wav", memo), "--language", "en")
	require.Equal(t, 0, code, "stderr: %s\nserver:\n%s", errOut, s.output())
	assert.Equal(t, "Hello from the fake Groq.\n", out)
	uploads, _ := received()
	require.Len(t, uploads, 1)
	assert.Equal(t, memo, uploads[0], "the provider got the file whole")
	assert.Equal(t, 1, used(), "charged once")

	out, errOut, code = runWithStdin(t, dir, cliVars, string(memo), "transcribe", "--json", "-")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	var reply map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &reply), out)
	assert.Equal(t, "groq", reply["provider"])
	assert.Contains(t, reply["text"], "Hello from the fake Groq.")
	assert.Equal(t, 2, used())

	spoken := filepath.Join(dir, "hello.wav")
	out, errOut, code = cli("speak", "Hello there", "-o", spoken)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Empty(t, out)
	assert.Regexp(t, `^wrote .*hello\.wav: audio/wav, \d+ bytes, by groq \(.+\)\n$`, errOut)
	raw, err := os.ReadFile(spoken)
	require.NoError(t, err)
	assert.Equal(t, fakeupstream.WAV(), raw, "the provider's audio, byte for byte")
	assert.Equal(t, 3, used())

	t.Run("too large", func(t *testing.T) {
		_, errOut, code := cli("transcribe", write("long.wav", wavBytes(time.Second))) // 32 KiB
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "20000 bytes (MAX_AUDIO_BYTES)")
		assert.Contains(t, errOut, "long.wav is 31.3 KiB (32044 bytes)")
	})
	t.Run("not audio", func(t *testing.T) {
		_, errOut, code := cli("transcribe", write("notes.mp3", []byte("Shopping: eggs, flour, a lot of butter.\n")))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not audio")
	})
	uploads, _ = received()
	assert.Len(t, uploads, 2, "refused uploads never reach the provider")
	assert.Equal(t, 3, used(), "refused uploads cost nothing")

	t.Run("the provider fails", func(t *testing.T) {
		groq.Default(fakeupstream.GroqError(http.StatusInternalServerError, "Internal Server Error", "internal_server_error", ""))
		_, errOut, code := cli("transcribe", write("memo.wav", memo))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "unavailable")
		_, errOut, code = cli("speak", "Hello again", "-o", filepath.Join(dir, "again.wav"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "unavailable")
		_, err := os.Stat(filepath.Join(dir, "again.wav"))
		assert.ErrorIs(t, err, os.ErrNotExist)
		uploads, speech := received()
		assert.Len(t, uploads, 3, "the provider was asked")
		assert.Equal(t, 2, speech)
		assert.Equal(t, 3, used(), "refunded: nothing was delivered")
	})

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, s.wait(t), "output:\n%s", s.output())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT kind, outcome, coalesce(provider, '') FROM request_log WHERE outcome IN ('success', 'error') ORDER BY created_at`)
	require.NoError(t, err)
	var logged []string
	for rows.Next() {
		var kind, outcome, provider string
		require.NoError(t, rows.Scan(&kind, &outcome, &provider))
		logged = append(logged, kind+" "+outcome+" "+provider)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"transcription success groq", "transcription success groq", "speech success groq",
		"transcription error ", "speech error "}, logged, "the request log keeps what the provider answered or failed, by kind")
}
