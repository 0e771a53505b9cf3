package openaicompat

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll drains r, returning the events and the error that ended it.
func readAll(r *sseReader) ([]sseEvent, error) {
	var out []sseEvent
	for {
		ev, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []sseEvent
	}{
		{
			name:  "LF",
			input: "data: a\n\ndata: b\n\n",
			want:  []sseEvent{{Data: "a"}, {Data: "b"}},
		},
		{
			name:  "CRLF",
			input: "data: a\r\n\r\ndata: b\r\n\r\n",
			want:  []sseEvent{{Data: "a"}, {Data: "b"}},
		},
		{
			name:  "lone CR",
			input: "data: a\r\rdata: b\r\r",
			want:  []sseEvent{{Data: "a"}, {Data: "b"}},
		},
		{
			name:  "mixed endings",
			input: "data: a\r\ndata: b\n\r\ndata: c\r\n",
			want:  []sseEvent{{Data: "a\nb"}, {Data: "c", Truncated: true}},
		},
		{
			name:  "data without space keeps everything after the colon",
			input: "data:a\n\ndata:  two spaces\n\n",
			want:  []sseEvent{{Data: "a"}, {Data: " two spaces"}},
		},
		{
			name:  "multi-line data joined with LF",
			input: "data: first\ndata: second\ndata:\ndata: fourth\n\n",
			want:  []sseEvent{{Data: "first\nsecond\n\nfourth"}},
		},
		{
			name:  "comments are ignored",
			input: ": OPENROUTER PROCESSING\n\n:keep-alive\ndata: x\n: in the middle\n\n",
			want:  []sseEvent{{Data: "x"}},
		},
		{
			name:  "event name is kept for its event only",
			input: "event: error\ndata: boom\n\ndata: next\n\n",
			want:  []sseEvent{{Name: "error", Data: "boom"}, {Data: "next"}},
		},
		{
			name:  "id persists across events",
			input: "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
			want:  []sseEvent{{Data: "a", ID: "7"}, {Data: "b", ID: "7"}, {Data: "c"}},
		},
		{
			name:  "events without data are not dispatched",
			input: "\n\n\nevent: ping\n\nretry: 10\n\ndata: a\n\n",
			want:  []sseEvent{{Data: "a"}},
		},
		{
			name:  "a field without colon is a field with an empty value",
			input: "data\n\n",
			want:  []sseEvent{{Data: ""}},
		},
		{
			name:  "unknown fields are ignored",
			input: "foo: bar\ndata: a\n\n",
			want:  []sseEvent{{Data: "a"}},
		},
		{
			name:  "leading BOM is stripped",
			input: "\xEF\xBB\xBFdata: a\n\n",
			want:  []sseEvent{{Data: "a"}},
		},
		{
			name:  "event pending at EOF is truncated",
			input: "data: a\n\ndata: {\"choi",
			want:  []sseEvent{{Data: "a"}, {Data: "{\"choi", Truncated: true}},
		},
		{
			name:  "DONE",
			input: "data: {}\n\ndata: [DONE]\n\n",
			want:  []sseEvent{{Data: "{}"}, {Data: "[DONE]"}},
		},
		{
			name:  "CRLF inside an event, then more data lines",
			input: "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
			want:  []sseEvent{{Data: "a\nb"}, {Data: "c"}},
		},
		{
			name:  "empty body",
			input: "",
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []struct {
				name string
				wrap func(io.Reader) io.Reader
			}{
				{"whole", func(r io.Reader) io.Reader { return r }},
				// One byte per read: CR and LF of one CRLF arrive in different reads.
				{"one byte", iotest.OneByteReader},
				{"data with EOF", iotest.DataErrReader},
			} {
				got, err := readAll(newSSEReader(mode.wrap(strings.NewReader(tt.input)), 1024))
				require.ErrorIs(t, err, io.EOF, mode.name)
				assert.Equal(t, tt.want, got, mode.name)
			}
		})
	}
}

// splitReader returns its chunks one per Read, the last one together with
// io.EOF.
type splitReader struct{ chunks []string }

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// TestSSEReaderCRLFSplitBeforeTheEnd: a CRLF whose CR ends one read and
// whose LF starts the last read, which also reports the end of the body.
// bufio.Scanner stops at the first split call that returns no line once it
// has seen the end, so skipping the LF alone would lose the rest.
func TestSSEReaderCRLFSplitBeforeTheEnd(t *testing.T) {
	t.Parallel()
	r := &splitReader{chunks: []string{"data: a\r", "\ndata: b\r\n\r\ndata: c\r\n\r\n"}}
	got, err := readAll(newSSEReader(r, 1024))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []sseEvent{{Data: "a\nb"}, {Data: "c"}}, got)
}

func TestSSEReaderRetry(t *testing.T) {
	t.Parallel()
	r := newSSEReader(strings.NewReader("retry: 1500\ndata: a\n\nretry: x1\ndata: b\n\n"), 1024)
	_, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, 1500*time.Millisecond, r.Retry(), "an invalid retry is ignored")
}

func TestSSEReaderLimits(t *testing.T) {
	t.Parallel()
	const limit = 64
	tests := []struct {
		name    string
		input   string
		wantErr bool
	}{
		{"line within the limit", "data: " + strings.Repeat("x", limit-10) + "\n\n", false},
		{"oversized line", "data: " + strings.Repeat("x", limit*4) + "\n\n", true},
		{"oversized line without end", "data: " + strings.Repeat("x", limit*4), true},
		{"oversized comment", ":" + strings.Repeat("x", limit*4) + "\n\n", true},
		{"event of many short lines", strings.Repeat("data: "+strings.Repeat("x", 20)+"\n", 10) + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAll(newSSEReader(strings.NewReader(tt.input), limit))
			if !tt.wantErr {
				require.ErrorIs(t, err, io.EOF)
				return
			}
			require.ErrorIs(t, err, errEventTooLarge)
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := newSSEReader(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 1024)
	ev, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", ev.Data)
	_, err = r.Next()
	require.ErrorIs(t, err, boom)
}
