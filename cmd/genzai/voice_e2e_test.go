package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// groqAudio is Groq's audio API as the gateway calls it: POST
// .../audio/transcriptions (multipart: file, model, response_format,
// language, prompt) answering Whisper's JSON (verbose_json with the language
// and duration, json with the text alone, text as plain text), and POST
// .../audio/speech ({"model","input","voice","response_format"}) answering
// WAV bytes. Failing, both answer 500 with Groq's error body.
type groqAudio struct {
	url string

	mu      sync.Mutex
	failing bool
	uploads [][]byte
	speech  int
}

func newGroqAudio(t *testing.T) *groqAudio {
	g := &groqAudio{}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *groqAudio) fail(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing = on
}

// received is the files transcriptions sent and how many speech requests came.
func (g *groqAudio) received() (uploads [][]byte, speech int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.uploads...), g.speech
}

// speechWAV is the audio the fake speaks.
var speechWAV = wavBytes(200 * time.Millisecond)

func (g *groqAudio) serve(w http.ResponseWriter, r *http.Request) {
	groqError := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg, "type": typ}})
	}
	if r.Header.Get("Authorization") != "Bearer gsk-voice" {
		groqError(http.StatusUnauthorized, "invalid_request_error", "Invalid API Key")
		return
	}
	g.mu.Lock()
	failing := g.failing
	g.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/audio/transcriptions"):
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			groqError(http.StatusBadRequest, "invalid_request_error", "request Content-Type isn't multipart/form-data")
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			groqError(http.StatusBadRequest, "invalid_request_error", "file or url must be provided")
			return
		}
		b, _ := io.ReadAll(f)
		g.mu.Lock()
		g.uploads = append(g.uploads, b)
		g.mu.Unlock()
		if failing {
			groqError(http.StatusInternalServerError, "internal_server_error", "Internal Server Error")
			return
		}
		const text = " Hello from the fake Groq."
		switch r.FormValue("response_format") {
		case "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, text)
		case "verbose_json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"task":"transcribe","language":"English","duration":0.25,"text":"`+text+`",`+
				`"segments":[{"id":0,"seek":0,"start":0,"end":0.25,"text":"`+text+`","tokens":[50365,2425],"temperature":0,`+
				`"avg_logprob":-0.21,"compression_ratio":0.8,"no_speech_prob":0.01}],"x_groq":{"id":"req_01jfakegroq"}}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"text":"`+text+`","x_groq":{"id":"req_01jfakegroq"}}`)
		}
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/audio/speech"):
		var req struct {
			Input          string `json:"input"`
			ResponseFormat string `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Input == "" {
			groqError(http.StatusBadRequest, "invalid_request_error", "input is required")
			return
		}
		g.mu.Lock()
		g.speech++
		g.mu.Unlock()
		if failing {
			groqError(http.StatusInternalServerError, "internal_server_error", "Internal Server Error")
			return
		}
		if req.ResponseFormat != "" && req.ResponseFormat != "wav" {
			groqError(http.StatusBadRequest, "invalid_request_error", "the fake speaks wav only")
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		_, _ = w.Write(speechWAV)
	default:
		groqError(http.StatusNotFound, "invalid_request_error", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

// TestServeVoiceCLI transcribes and speaks through the real binary, client
// and server, with a fake Groq: a real WAV file arrives whole at the
// provider and its text prints; speech lands in a file; a file over
// MAX_AUDIO_BYTES is refused with 413 and a text file named .mp3 with 415,
// neither reaching the provider nor costing quota; each delivered request
// costs one unit, and one the provider fails is refunded.
func TestServeVoiceCLI(t *testing.T) {
	t.Skip("needs the voice backend (branch voice, not yet merged into integ): until then the voice routes answer 404")
	t.Parallel()
	groq := newGroqAudio(t)
	dbURL := pgtest.NewURL(t)
	s := startServer(t, "", serverVars(dbURL).with(vars{
		"ENABLE_VOICE": "true", "MAX_AUDIO_BYTES": "20000", "PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"GROQ_API_KEYS": "gsk-voice", "GROQ_BASE_URL": groq.url,
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
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}

	memo := wavBytes(250 * time.Millisecond) // 8 KB, under MAX_AUDIO_BYTES
	out, errOut, code := cli("transcribe", write("memo.wav", memo), "--language", "en")
	require.Equal(t, 0, code, "stderr: %s\nserver:\n%s", errOut, s.output())
	assert.Equal(t, "Hello from the fake Groq.\n", out)
	uploads, _ := groq.received()
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
	assert.Equal(t, speechWAV, raw)
	assert.Equal(t, 3, used())

	t.Run("too large", func(t *testing.T) {
		_, errOut, code := cli("transcribe", write("long.wav", wavBytes(time.Second))) // 32 KB
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "20000 bytes (MAX_AUDIO_BYTES)")
		assert.Contains(t, errOut, "long.wav is 31.3 KB (32044 bytes)")
	})
	t.Run("not audio", func(t *testing.T) {
		_, errOut, code := cli("transcribe", write("notes.mp3", []byte("Shopping: eggs, flour, a lot of butter.\n")))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not audio")
	})
	uploads, _ = groq.received()
	assert.Len(t, uploads, 2, "refused uploads never reach the provider")
	assert.Equal(t, 3, used(), "refused uploads cost nothing")

	t.Run("the provider fails", func(t *testing.T) {
		groq.fail(true)
		_, errOut, code := cli("transcribe", write("memo.wav", memo))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "unavailable")
		_, errOut, code = cli("speak", "Hello again", "-o", filepath.Join(dir, "again.wav"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "unavailable")
		_, err := os.Stat(filepath.Join(dir, "again.wav"))
		assert.ErrorIs(t, err, os.ErrNotExist)
		uploads, speech := groq.received()
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
	rows, err := conn.Query(ctx, `SELECT kind, count(*) FROM request_log WHERE provider = 'groq' GROUP BY kind`)
	require.NoError(t, err)
	kinds := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		require.NoError(t, rows.Scan(&kind, &n))
		kinds[kind] = n
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]int{"transcription": 3, "speech": 2}, kinds, "the request log keeps what reached the provider")
}
