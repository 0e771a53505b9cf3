package main

import (
	"cmp"
	"context"
	endian "encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wavBytes is a valid WAV file: a 440 Hz tone of length d, 16-bit mono PCM
// at 16 kHz.
func wavBytes(d time.Duration) []byte {
	const rate = 16000
	n := int(d.Seconds() * rate)
	le := endian.LittleEndian
	b := []byte("RIFF")
	b = le.AppendUint32(b, uint32(36+2*n))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)     // the fmt chunk's size
	b = le.AppendUint16(b, 1)      // PCM
	b = le.AppendUint16(b, 1)      // mono
	b = le.AppendUint32(b, rate)   // samples a second
	b = le.AppendUint32(b, rate*2) // bytes a second
	b = le.AppendUint16(b, 2)      // bytes a frame
	b = le.AppendUint16(b, 16)     // bits a sample
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(2*n))
	for i := range n {
		b = le.AppendUint16(b, uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate))))
	}
	return b
}

// voiceCall is what the fake gateway received of one request.
type voiceCall struct {
	path, auth, expect string
	contentLength      int64
	chunked            bool
	// parts are the multipart parts' names in the order they came.
	parts    []string
	fields   map[string]string
	fileName string
	file     []byte
	// speech is the JSON body of a speech request.
	speech map[string]any
}

// voiceGateway answers POST /api/v1/audio/transcriptions and /speech as the
// spec says genzai does, recording every request; refuse, when set, answers
// instead (after reading at most read bytes of the body).
type voiceGateway struct {
	url string

	mu     sync.Mutex
	calls  []voiceCall
	refuse *refusal
}

// refusal is an error answer of the gateway.
type refusal struct {
	status int
	code   string
	msg    string
	// read is how much of the body is read before answering.
	read int64
}

func newVoiceGateway(t *testing.T) *voiceGateway {
	g := &voiceGateway{}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *voiceGateway) refuseWith(r *refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refuse = r
}

func (g *voiceGateway) received() []voiceCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]voiceCall(nil), g.calls...)
}

func (g *voiceGateway) serve(w http.ResponseWriter, r *http.Request) {
	call := voiceCall{path: r.URL.Path, auth: r.Header.Get("Authorization"), expect: r.Header.Get("Expect"),
		contentLength: r.ContentLength, chunked: len(r.TransferEncoding) > 0, fields: map[string]string{}}
	g.mu.Lock()
	refuse := g.refuse
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.calls = append(g.calls, call)
		g.mu.Unlock()
	}()
	if refuse != nil {
		_, _ = io.CopyN(io.Discard, r.Body, refuse.read)
		answerError(w, refuse.status, refuse.code, refuse.msg)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/audio/transcriptions":
		mr, err := r.MultipartReader()
		if err != nil {
			answerError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body is not multipart/form-data")
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				answerError(w, http.StatusBadRequest, "invalid_request", err.Error())
				return
			}
			b, _ := io.ReadAll(p)
			call.parts = append(call.parts, p.FormName())
			if p.FormName() == "file" {
				call.fileName, call.file = p.FileName(), b
			} else {
				call.fields[p.FormName()] = string(b)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"text":" Hello, what's the weather like in Paris today?","language":"en","duration":3.42,`+
			`"provider":"groq","model":"whisper-large-v3-turbo","request_id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}`)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/audio/speech":
		if err := json.NewDecoder(r.Body).Decode(&call.speech); err != nil {
			answerError(w, http.StatusBadRequest, "invalid_request", "the body is not JSON")
			return
		}
		format, _ := call.speech["format"].(string)
		if format == "" {
			format = "wav"
		}
		types := map[string]string{"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg"}
		w.Header().Set("Content-Type", types[format])
		w.Header().Set("X-Genzai-Provider", "groq")
		w.Header().Set("X-Genzai-Model", "playai-tts")
		_, _ = io.WriteString(w, "fake "+format+" audio of "+call.speech["input"].(string))
	default:
		answerError(w, http.StatusNotFound, "not_found", "Not Found")
	}
}

func answerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code, "request_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"})
}

var voiceOff = &refusal{status: http.StatusNotFound, code: "not_found",
	msg: "Voice is off on this server: the operator turns it on with ENABLE_VOICE=true"}

// voiceUser is a CLI user of g with a token.
func voiceUser(t *testing.T, g *voiceGateway) *user {
	tm := newUser(t, g.url)
	tm.env["GENZAI_TOKEN"] = "gz-test-key"
	return tm
}

func TestCLITranscribe(t *testing.T) {
	t.Parallel()
	g := newVoiceGateway(t)
	tm := voiceUser(t, g)
	ctx := context.Background()
	dir := t.TempDir()
	wav := wavBytes(500 * time.Millisecond)
	file := filepath.Join(dir, "memo.wav")
	require.NoError(t, os.WriteFile(file, wav, 0o600))

	out, errOut, code := tm.run(ctx, "", "transcribe", file, "--language", "en", "--prompt", "Paris, Genzai")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Hello, what's the weather like in Paris today?\n", out, "the text alone, trimmed")
	assert.Empty(t, errOut)
	calls := g.received()
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, "Bearer gz-test-key", c.auth)
	assert.Equal(t, []string{"language", "prompt", "file"}, c.parts, "the options come before the audio")
	assert.Equal(t, map[string]string{"language": "en", "prompt": "Paris, Genzai"}, c.fields)
	assert.Equal(t, "memo.wav", c.fileName)
	assert.Equal(t, wav, c.file, "the file arrives whole")
	assert.False(t, c.chunked, "a file's length is known: the body says it")
	assert.Greater(t, c.contentLength, int64(len(wav)))
	assert.Equal(t, "100-continue", c.expect, "a refusal comes before the audio is sent")

	for _, args := range [][]string{{"--json"}, {"-o", "json"}} {
		out, errOut, code := tm.run(ctx, "", append([]string{"transcribe", file}, args...)...)
		require.Equal(t, 0, code, errOut)
		var reply map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &reply), out)
		assert.Equal(t, "en", reply["language"], "%v", args)
		assert.Equal(t, 3.42, reply["duration"], "%v", args)
		assert.Equal(t, "groq", reply["provider"], "%v", args)
	}
	assert.Empty(t, g.received()[1].fields, "no options, no fields")

	t.Run("standard input", func(t *testing.T) {
		out, errOut, code := tm.run(ctx, string(wav), "transcribe", "-")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "Hello, what's the weather like in Paris today?\n", out)
		calls := g.received()
		c := calls[len(calls)-1]
		assert.Equal(t, wav, c.file)
		assert.Equal(t, "audio", c.fileName)
		assert.True(t, c.chunked, "the length of standard input is not known beforehand")
	})

	t.Run("refused before sending", func(t *testing.T) {
		sent := len(g.received())
		empty := filepath.Join(dir, "empty.wav")
		require.NoError(t, os.WriteFile(empty, nil, 0o600))
		for _, tc := range []struct {
			args []string
			code int
			msg  string
		}{
			{args: []string{"transcribe"}, code: 2, msg: "error: genzai transcribe takes 1 argument(s), got 0\n"},
			{args: []string{"transcribe", file, file}, code: 2, msg: "error: genzai transcribe takes 1 argument(s), got 2\n"},
			{args: []string{"transcribe", file, "-o", "yaml"}, code: 2, msg: "error: --output must be text or json\n"},
			{args: []string{"transcribe", filepath.Join(dir, "missing.mp3")}, code: 1, msg: "error: open the audio: open " + filepath.Join(dir, "missing.mp3") + ": no such file or directory\n"},
			{args: []string{"transcribe", empty}, code: 1, msg: "error: " + empty + " is empty\n"},
			{args: []string{"transcribe", dir}, code: 1, msg: "error: " + dir + " is a directory, not an audio file\n"},
		} {
			out, errOut, code := tm.run(ctx, "", tc.args...)
			assert.Equal(t, tc.code, code, "%v", tc.args)
			assert.Empty(t, out, "%v", tc.args)
			assert.True(t, strings.HasPrefix(errOut, tc.msg), "%v: %s", tc.args, errOut)
		}
		assert.Len(t, g.received(), sent, "nothing was sent")
	})
}

func TestCLITranscribeRefusals(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "memo.wav")
	require.NoError(t, os.WriteFile(file, wavBytes(time.Second), 0o600))
	for _, tc := range []struct {
		name    string
		refusal *refusal
		token   string
		want    string
	}{
		{name: "voice off", refusal: voiceOff, want: "error: Voice is off on this server: the operator turns it on with ENABLE_VOICE=true [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
		{name: "too large", refusal: &refusal{status: http.StatusRequestEntityTooLarge, code: "payload_too_large",
			msg: "file: must be at most 20000 bytes (MAX_AUDIO_BYTES)", read: 20000},
			want: "error: file: must be at most 20000 bytes (MAX_AUDIO_BYTES); memo.wav is 31.3 KiB (32044 bytes) [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
		{name: "not audio", refusal: &refusal{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: "file: is not audio (FLAC, MP3, MP4/M4A, Ogg, WAV or WebM)", read: 1 << 20},
			want: "error: file: is not audio (FLAC, MP3, MP4/M4A, Ogg, WAV or WebM) [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
		{name: "no token", refusal: &refusal{status: http.StatusUnauthorized, code: "unauthorized", msg: "Missing bearer token"},
			token: "-", want: "error: Missing bearer token; log in with: genzai login [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newVoiceGateway(t)
			g.refuseWith(tc.refusal)
			tm := voiceUser(t, g)
			if tc.token == "-" {
				delete(tm.env, "GENZAI_TOKEN")
			}
			out, errOut, code := tm.run(context.Background(), "", "transcribe", file)
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Equal(t, tc.want, errOut)
		})
	}
}

// TestCLITranscribeCutShort sends a file far larger than the gateway takes:
// it answers 413 after reading its limit and closes the connection, and
// whichever the client sees first, the answer or the closed connection, the
// error says why in words.
func TestCLITranscribeCutShort(t *testing.T) {
	t.Parallel()
	g := newVoiceGateway(t)
	g.refuseWith(&refusal{status: http.StatusRequestEntityTooLarge, code: "payload_too_large",
		msg: "file: must be at most 20000 bytes (MAX_AUDIO_BYTES)", read: 20000})
	file := filepath.Join(t.TempDir(), "long.wav")
	require.NoError(t, os.WriteFile(file, wavBytes(4*time.Minute), 0o600)) // 7.3 MiB
	_, errOut, code := voiceUser(t, g).run(context.Background(), "", "transcribe", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "MAX_AUDIO_BYTES")
	assert.Contains(t, errOut, "7.3 MiB (7680044 bytes)")
}

func TestCLISpeak(t *testing.T) {
	t.Parallel()
	g := newVoiceGateway(t)
	tm := voiceUser(t, g)
	ctx := context.Background()
	dir := t.TempDir()

	for _, tc := range []struct {
		name, file string
		args       []string
		format     string // sent; "" when not
		mediaType  string
	}{
		{name: "from the extension", file: "hello.mp3", format: "mp3", mediaType: "audio/mpeg"},
		{name: "flag and extension agree", file: "hello.flac", args: []string{"--format", "flac"}, format: "flac", mediaType: "audio/flac"},
		{name: "opus is ogg", file: "hello.opus", format: "ogg", mediaType: "audio/ogg"},
		{name: "no extension: the server's default", file: "hello", mediaType: "audio/wav"},
		{name: "no extension, a flag", file: "hello-ogg", args: []string{"--format", "ogg"}, format: "ogg", mediaType: "audio/ogg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.file)
			out, errOut, code := tm.run(ctx, "", append([]string{"speak", "Hello there", "-o", file, "--voice", "Celeste-PlayAI"}, tc.args...)...)
			require.Equal(t, 0, code, errOut)
			assert.Empty(t, out)
			calls := g.received()
			c := calls[len(calls)-1]
			assert.Equal(t, "/api/v1/audio/speech", c.path)
			assert.Equal(t, "Bearer gz-test-key", c.auth)
			assert.Equal(t, "Hello there", c.speech["input"])
			assert.Equal(t, "Celeste-PlayAI", c.speech["voice"])
			if tc.format == "" {
				assert.NotContains(t, c.speech, "format")
			} else {
				assert.Equal(t, tc.format, c.speech["format"])
			}
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, "fake "+cmp.Or(tc.format, "wav")+" audio of Hello there", string(raw))
			info, err := os.Stat(file)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			assert.Equal(t, "wrote "+file+": "+tc.mediaType+", "+strconv.Itoa(len(raw))+" bytes, by groq (playai-tts)\n", errOut)
		})
	}

	t.Run("standard output", func(t *testing.T) {
		for _, args := range [][]string{{"speak", "Hi"}, {"speak", "Hi", "-o", "-"}} {
			out, errOut, code := tm.run(ctx, "", args...)
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, "fake wav audio of Hi", out, "%v: not a terminal, so the audio goes there", args)
			assert.Empty(t, errOut)
		}
		out, errOut, code := tm.run(ctx, "", "speak", "Hi", "-o", "-", "--format", "mp3")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "fake mp3 audio of Hi", out)
	})

	t.Run("the text from standard input", func(t *testing.T) {
		out, errOut, code := tm.run(ctx, "A haiku\nabout rain\n", "speak", "-", "-o", "-")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "fake wav audio of A haiku\nabout rain", out)
	})

	t.Run("usage errors send nothing", func(t *testing.T) {
		sent := len(g.received())
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{args: []string{"speak"}, msg: "genzai speak takes 1 argument(s), got 0"},
			{args: []string{"speak", "Hi", "-o", filepath.Join(dir, "x.wav"), "--format", "aac"}, msg: "--format must be one of wav, mp3, flac, ogg"},
			{args: []string{"speak", "Hi", "-o", filepath.Join(dir, "x.wav"), "--format", "mp3"}, msg: "--format mp3 does not match x.wav: name the file .mp3, or leave --format out"},
			{args: []string{"speak", "Hi", "-o", filepath.Join(dir, "x.txt")}, msg: "cannot tell the audio format from x.txt: name the file .wav, .mp3, .flac or .ogg, or give --format"},
			{args: []string{"speak", "-", "-o", "-"}, msg: "no text on standard input"},
		} {
			out, errOut, code := tm.run(ctx, "", tc.args...)
			assert.Equal(t, 2, code, "%v", tc.args)
			assert.Empty(t, out)
			assert.True(t, strings.HasPrefix(errOut, "error: "+tc.msg+"\n"), "%v: %s", tc.args, errOut)
		}
		assert.Len(t, g.received(), sent)
		_, err := os.Stat(filepath.Join(dir, "x.wav"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestCLISpeakRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		refusal *refusal
		want    string
	}{
		{name: "voice off", refusal: voiceOff, want: "error: Voice is off on this server: the operator turns it on with ENABLE_VOICE=true [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
		{name: "too long", refusal: &refusal{status: http.StatusBadRequest, code: "invalid_request", msg: "input: must be at most 4096 characters"},
			want: "error: input: must be at most 4096 characters [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
		{name: "quota", refusal: &refusal{status: http.StatusTooManyRequests, code: "quota_exceeded", msg: "Daily quota exceeded"},
			want: "error: Daily quota exceeded [request 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newVoiceGateway(t)
			g.refuseWith(tc.refusal)
			dir := t.TempDir()
			out, errOut, code := voiceUser(t, g).run(context.Background(), "", "speak", "Hello", "-o", filepath.Join(dir, "hello.wav"))
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Equal(t, tc.want, errOut)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "no file, not even a partial one")
		})
	}

	t.Run("not audio", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>a captive portal</html>")
		}))
		t.Cleanup(srv.Close)
		tm := newUser(t, srv.URL)
		dir := t.TempDir()
		_, errOut, code := tm.run(context.Background(), "", "speak", "Hello", "-o", filepath.Join(dir, "hello.wav"))
		assert.Equal(t, 1, code)
		assert.Equal(t, "error: unexpected answer from the server: text/html where audio was due: \"<html>a captive portal</html>\"\n", errOut)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries)
	})
}

// TestCLIVoiceOff runs both commands against the real gateway without
// ENABLE_VOICE: the server's refusal says how to turn voice on.
func TestCLIVoiceOff(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, nil))
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	dir := t.TempDir()
	file := filepath.Join(dir, "memo.wav")
	require.NoError(t, os.WriteFile(file, wavBytes(100*time.Millisecond), 0o600))
	for _, args := range [][]string{{"transcribe", file}, {"speak", "Hello", "-o", filepath.Join(dir, "hello.wav")}} {
		t.Run(args[0], func(t *testing.T) {
			_, errOut, code := tm.run(ctx, "", args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "ENABLE_VOICE=true")
		})
	}
}
