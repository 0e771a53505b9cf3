package openaicompat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// fuzzKey is the API key behind the fuzzed streams: whatever the upstream
// echoes, an error must never show it.
const fuzzKey = "sk-fuzz-5f0c9a2e4b1d4c8a"

// fuzzMaxEvent is the event limit of the fuzzed reader: above a real chunk,
// low enough that short inputs reach the too-large paths.
const fuzzMaxEvent = 1024

// streamReasons are the reasons a stream read from memory may end with.
var streamReasons = []domain.AttemptReason{reasonCutOff, reasonBadResponse, reasonRateLimited, reasonKeyRejected, reasonServer, reasonCaller}

// readings are the ways a body can arrive: at once, one byte per read (a
// CRLF, a UTF-8 sequence or a [DONE] split across reads), in half reads,
// and with the last bytes in the same read as io.EOF. What the stream
// yields must not depend on it.
var readings = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data with EOF", iotest.DataErrReader},
}

// streamSeeds are short bodies for the edge cases; the corpus in
// testdata/fuzz/FuzzStream holds whole Groq, OpenRouter and Hugging Face
// answers, and an OpenAI answer with two tool calls.
var streamSeeds = []string{
	"",
	"data: [DONE]\n\n",
	`data: {"choices":[{"delta":{"content":"Hel"}}]}` + "\n\n" + `data: {"choices":[{"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}` + "\n\ndata: [DONE]\n\n",
	// CRLF, lone CR, a BOM, comments, an id, retry and unknown fields.
	"\xEF\xBB\xBF: OPENROUTER PROCESSING\r\n\r\nid: 1\r\nretry: 10\r\nfoo: bar\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\rdata:[DONE]\r\r",
	// One chunk over two data lines, and [DONE] without its blank line.
	"data: {\"choices\":\ndata: [{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]",
	// Cut off inside an event, and after the finish reason.
	`data: {"choices":[{"delta":{"content":"l`,
	`data: {"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]}` + "\n\n",
	// Lines and events over the limit.
	"data: " + strings.Repeat("x", 2*fuzzMaxEvent) + "\n\n",
	strings.Repeat("data: "+strings.Repeat("y", 100)+"\n", 12) + "\n",
	":" + strings.Repeat("z", 2*fuzzMaxEvent),
	// Errors: an object with a status code, a string, an error event, a key echoed.
	`data: {"error":{"message":"Rate limit exceeded","code":429}}` + "\n\n",
	`data: {"error":"Input validation error","error_type":"validation"}` + "\n\n",
	"event: error\ndata: something broke\n\n",
	"event: error\ndata: {\"error\":{\"message\":\"slow down\",\"code\":\"429\"}}\n\n",
	`data: {"error":{"message":"Incorrect API key provided: ` + fuzzKey + `","code":401}}` + "\n\n",
	// Invalid UTF-8 and escapes in content, a malformed chunk, content after [DONE].
	"data: {\"choices\":[{\"delta\":{\"content\":\"bad \xff\xfe byte\"}}]}\n\ndata: [DONE]\n\n",
	`data: {"choices":[{"delta":{"content":"\ud83d\ude00 and \ud800 lone"}}]}` + "\n\ndata: [DONE]\n\n",
	"data: {not json\n\n",
	"data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n",
	// A tool call in pieces, an empty piece, a negative index.
	`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{}}]}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n",
	`data: {"choices":[{"delta":{"tool_calls":[{"index":-1,"id":"call_1"}]}}]}` + "\n\n",
}

// FuzzStream feeds arbitrary bytes to the upstream reader as the body of a
// 200 text/event-stream answer. Neither the framing nor the stream may
// panic or loop; the stream yields only deltas with something in them, in
// valid UTF-8, and never one after its end (io.EOF only after [DONE], else
// a classified *domain.ProviderError that does not show the key); and
// nothing depends on how the body is split into reads.
func FuzzStream(f *testing.F) {
	for _, s := range streamSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var first streamOutcome
		for i, rd := range readings {
			got := readStream(t, body, rd.wrap)
			if i == 0 {
				first = got
				continue
			}
			require.Equal(t, first, got, "read %s differs from read whole", rd.name)
		}
	})
}

// streamOutcome is everything the framing and the stream made of a body.
type streamOutcome struct {
	Events   []sseEvent
	EventErr string
	Deltas   []domain.ChatDelta
	Err      string
}

// fuzzStream is the stream of a 200 answer whose body is r.
func fuzzStream(r io.Reader) *Stream {
	c := New(Config{Provider: "fuzz", Keys: []string{fuzzKey}})
	return &Stream{ctx: context.Background(), c: c, status: http.StatusOK, header: http.Header{},
		body: io.NopCloser(r), events: newSSEReader(r, fuzzMaxEvent)}
}

// readStream reads body through the framing alone and through a Stream,
// checking what each yields.
func readStream(t *testing.T, body []byte, wrap func(io.Reader) io.Reader) streamOutcome {
	t.Helper()
	var out streamOutcome

	r := newSSEReader(wrap(bytes.NewReader(body)), fuzzMaxEvent)
	for {
		ev, err := r.Next()
		if err != nil {
			// A body in memory never fails to read: only its end or the limit stop it.
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, errEventTooLarge), "reader error: %v", err)
			out.EventErr = err.Error()
			break
		}
		if n := len(out.Events); n > 0 && out.Events[n-1].Truncated {
			t.Fatalf("event after the truncated last one: %+v", ev)
		}
		assert.LessOrEqual(t, len(ev.Data), fuzzMaxEvent, "data over the limit")
		assert.NotContains(t, ev.Data, "\r", "a line ending inside data")
		assert.False(t, strings.ContainsAny(ev.Name, "\r\n"), "line ending in the event name %q", ev.Name)
		assert.False(t, strings.ContainsAny(ev.ID, "\r\n\x00"), "line ending or NUL in the id %q", ev.ID)
		out.Events = append(out.Events, ev)
		// Every event takes at least one byte: more events than bytes is a loop.
		require.LessOrEqual(t, len(out.Events), len(body), "the reader does not advance")
	}

	s := fuzzStream(wrap(bytes.NewReader(body)))
	defer s.Close()
	var err error
	for {
		var d domain.ChatDelta
		if d, err = s.Recv(); err != nil {
			break
		}
		assert.True(t, d.Content != "" || len(d.ToolCalls) > 0 || d.FinishReason != "" || d.Usage != nil, "empty delta")
		assert.True(t, utf8.ValidString(d.Content), "content is not UTF-8: %q", d.Content)
		assert.True(t, utf8.ValidString(d.FinishReason), "finish reason is not UTF-8: %q", d.FinishReason)
		for _, tc := range d.ToolCalls {
			assert.GreaterOrEqual(t, tc.Index, 0, "negative tool call index")
			assert.True(t, tc.ID != "" || tc.Name != "" || tc.Arguments != "", "empty tool call piece")
			for _, s := range []string{tc.ID, tc.Name, tc.Arguments} {
				assert.True(t, utf8.ValidString(s), "tool call is not UTF-8: %q", s)
			}
		}
		out.Deltas = append(out.Deltas, d)
		require.LessOrEqual(t, len(out.Deltas), len(body), "the stream does not advance")
	}
	if errors.Is(err, io.EOF) {
		require.Equal(t, io.EOF, err)
		assert.Contains(t, string(body), "[DONE]", "a clean end without [DONE]")
	} else {
		var pe *domain.ProviderError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, domain.Provider("fuzz"), pe.Provider)
		assert.True(t, slices.Contains(streamReasons, pe.Reason), "reason %q", pe.Reason)
		assert.NotContains(t, err.Error(), fuzzKey)
	}
	// The end is sticky: no delta after it, whatever the body still holds.
	for range 3 {
		d, again := s.Recv()
		require.Equal(t, err, again, "a different error after the end")
		require.Zero(t, d, "a delta after the end")
	}
	out.Err = err.Error()
	return out
}
