package openaicompat

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// streamOf reads body as the 200 answer to a streamed request.
func streamOf(ctx context.Context, body io.Reader) *Stream {
	c := New(Config{Provider: "test", Keys: []string{"sk-secret"}})
	return &Stream{
		ctx: ctx, c: c, status: http.StatusOK, header: http.Header{},
		body: io.NopCloser(body), events: newSSEReader(body, 1024),
	}
}

// drain reads s to its end, returning the deltas and the final error.
func drain(s *Stream) ([]domain.ChatDelta, error) {
	var out []domain.ChatDelta
	for range 1000 {
		d, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	panic("stream never ended")
}

func text(s string) domain.ChatDelta { return domain.ChatDelta{Content: s} }

func TestStreamRecv(t *testing.T) {
	t.Parallel()
	const (
		role   = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
		hello  = `data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}` + "\n\n"
		lo     = `data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}` + "\n\n"
		stop   = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		usage  = `data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}` + "\n\n"
		done   = "data: [DONE]\n\n"
		answer = role + hello + lo + stop + usage + done

		// A tool call as OpenAI streams it.
		callRole  = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}],"refusal":null},"finish_reason":null}]}` + "\n\n"
		callArgs1 = `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]},"finish_reason":null}]}` + "\n\n"
		callArgs2 = `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}]}` + "\n\n"
		callStop  = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n"
	)
	u := &domain.Usage{PromptTokens: 5, CompletionTokens: 2}
	calls := func(tcs ...domain.ToolCallDelta) domain.ChatDelta { return domain.ChatDelta{ToolCalls: tcs} }
	tests := []struct {
		name       string
		body       string
		want       []domain.ChatDelta
		wantReason string // "" means io.EOF
		wantClass  domain.FailureClass
		wantStatus int
		wantMsg    string
	}{
		{
			name: "tokens, finish reason, usage, DONE",
			body: answer,
			want: []domain.ChatDelta{text("Hel"), text("lo"), {FinishReason: "stop", Usage: u}},
		},
		{
			name: "tool call in pieces, finish reason tool_calls, usage",
			body: callRole + callArgs1 + callArgs2 + callStop + usage + done,
			want: []domain.ChatDelta{
				calls(domain.ToolCallDelta{ID: "call_1", Name: "f"}),
				calls(domain.ToolCallDelta{Arguments: `{"a":`}),
				calls(domain.ToolCallDelta{Arguments: "1}"}),
				{FinishReason: "tool_calls", Usage: u},
			},
		},
		{
			name: "parallel calls whole in one chunk, with content, and the finish reason",
			body: `data: {"choices":[{"delta":{"content":"Both:","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"},"index":0},` +
				`{"id":"b","type":"function","function":{"name":"g","arguments":"{\"x\":1}"},"index":1}]},"finish_reason":"tool_calls"}]}` + "\n\n" + usage + done,
			want: []domain.ChatDelta{{
				Content: "Both:",
				ToolCalls: []domain.ToolCallDelta{
					{Index: 0, ID: "a", Name: "f", Arguments: "{}"},
					{Index: 1, ID: "b", Name: "g", Arguments: `{"x":1}`},
				},
				FinishReason: "tool_calls", Usage: u,
			}},
		},
		{
			name: "tool-call pieces with nothing but an index are skipped",
			body: callRole + `data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}},{"index":1}]}}]}` + "\n\n" +
				`data: {"choices":[{"delta":{"tool_calls":[]}}]}` + "\n\n" + callArgs2 + done,
			want: []domain.ChatDelta{calls(domain.ToolCallDelta{ID: "call_1", Name: "f"}), calls(domain.ToolCallDelta{Arguments: "1}"})},
		},
		{
			name: "tool calls after the finish reason are not merged with the usage",
			body: callStop + callArgs2 + `data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}` + "\n\n" + done,
			want: []domain.ChatDelta{{FinishReason: "tool_calls"}, calls(domain.ToolCallDelta{Arguments: "1}"}), {Usage: u}},
		},
		{
			name: "tool call arguments as an object",
			body: `data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"0","type":"function","function":{"name":"f","arguments":{"a": [1, "b"]}}}]}}]}` + "\n\n" + done,
			want: []domain.ChatDelta{calls(domain.ToolCallDelta{ID: "0", Name: "f", Arguments: `{"a":[1,"b"]}`})},
		},
		{
			name:       "tool call with a negative index",
			body:       hello + `data: {"choices":[{"delta":{"tool_calls":[{"index":-1,"id":"call_1"}]}}]}` + "\n\n" + done,
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "bad_response", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "malformed tool call",
		},
		{
			name:       "tool calls that are not an array",
			body:       `data: {"choices":[{"delta":{"tool_calls":{"index":0}}}]}` + "\n\n" + done,
			wantReason: "bad_response", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "malformed stream chunk",
		},
		{
			name: "finish without usage",
			body: role + hello + stop + done,
			want: []domain.ChatDelta{text("Hel"), {FinishReason: "stop"}},
		},
		{
			name: "content after the finish reason is kept in order",
			body: hello + stop + lo + usage + done,
			want: []domain.ChatDelta{text("Hel"), {FinishReason: "stop"}, text("lo"), {Usage: u}},
		},
		{
			name:       "finish then cut off",
			body:       hello + stop,
			want:       []domain.ChatDelta{text("Hel"), {FinishReason: "stop"}},
			wantReason: "cut_off", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name: "CRLF and comments",
			body: ": OPENROUTER PROCESSING\r\n\r\n" + strings.ReplaceAll(role+hello+": keep-alive\n\n"+lo+stop+usage+done, "\n", "\r\n"),
			want: []domain.ChatDelta{text("Hel"), text("lo"), {FinishReason: "stop", Usage: u}},
		},
		{
			name: "data without the space",
			body: `data:{"choices":[{"delta":{"content":"x"}}]}` + "\n\ndata:[DONE]\n\n",
			want: []domain.ChatDelta{text("x")},
		},
		{
			name: "content, finish and usage in one chunk make one delta",
			body: `data: {"choices":[{"delta":{"content":"all"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}` + "\n\n" + done,
			want: []domain.ChatDelta{{Content: "all", FinishReason: "length", Usage: u}},
		},
		{
			name: "null content and empty data events are skipped",
			body: `data: {"choices":[{"delta":{"content":null}}]}` + "\n\ndata:\n\n" + hello + done,
			want: []domain.ChatDelta{text("Hel")},
		},
		{
			name: "multi-line data is one JSON chunk",
			body: "data: {\"choices\":\ndata: [{\"delta\":{\"content\":\"x\"}}]}\n\n" + done,
			want: []domain.ChatDelta{text("x")},
		},
		{
			name: "DONE without the final blank line",
			body: hello + "data: [DONE]",
			want: []domain.ChatDelta{text("Hel")},
		},
		{
			name: "nothing after DONE is read",
			body: hello + done + hello,
			want: []domain.ChatDelta{text("Hel")},
		},
		{
			name:       "EOF without DONE is cut off",
			body:       role + hello + lo,
			want:       []domain.ChatDelta{text("Hel"), text("lo")},
			wantReason: "cut_off", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "EOF after finish and usage but without DONE is still cut off",
			body:       hello + stop + usage,
			want:       []domain.ChatDelta{text("Hel"), {FinishReason: "stop", Usage: u}},
			wantReason: "cut_off", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "EOF inside an event is cut off",
			body:       hello + `data: {"choices":[{"delta":{"content":"l`,
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "cut_off", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "empty body is cut off",
			body:       "",
			wantReason: "cut_off", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "malformed chunk",
			body:       hello + "data: {not json\n\n" + done,
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "bad_response", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "oversized line",
			body:       hello + "data: " + strings.Repeat("x", 4096) + "\n\n" + done,
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "bad_response", wantClass: domain.FailureRetryable, wantStatus: 200,
		},
		{
			name:       "error object with a 429 code",
			body:       hello + `data: {"error":{"message":"Rate limit exceeded","code":429}}` + "\n\n",
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "rate_limited", wantClass: domain.FailureRateLimited, wantStatus: 429, wantMsg: "Rate limit exceeded",
		},
		{
			name:       "error object with a 502 code",
			body:       `data: {"error":{"message":"Provider returned error","code":502}}` + "\n\n",
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 502, wantMsg: "Provider returned error",
		},
		{
			name:       "error object without code",
			body:       hello + `data: {"error":{"message":"overloaded"}}` + "\n\n" + done,
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "overloaded",
		},
		{
			name:       "error object with a string code",
			body:       `data: {"error":{"message":"Provider disconnected","code":"server_error"},"choices":[{"delta":{"content":""},"finish_reason":"error"}]}` + "\n\n",
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "Provider disconnected",
		},
		{
			name:       "error string",
			body:       `data: {"error":"Input validation error","error_type":"validation"}` + "\n\n",
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "Input validation error",
		},
		{
			name:       "event error with a JSON body",
			body:       hello + "event: error\ndata: {\"message\":\"upstream exploded\",\"code\":400}\n\n",
			want:       []domain.ChatDelta{text("Hel")},
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "upstream exploded",
		},
		{
			name:       "event error with text",
			body:       "event: error\ndata: something broke\n\n",
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "something broke",
		},
		{
			name:       "event error with an error object and a 429 code",
			body:       "event: error\ndata: {\"error\":{\"message\":\"slow down\",\"code\":\"429\"}}\n\n",
			wantReason: "rate_limited", wantClass: domain.FailureRateLimited, wantStatus: 429, wantMsg: "slow down",
		},
		{
			name:       "the key never shows in a streamed error",
			body:       `data: {"error":{"message":"bad key sk-secret given"}}` + "\n\n",
			wantReason: "server_error", wantClass: domain.FailureRetryable, wantStatus: 200, wantMsg: "bad key [redacted] given",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := streamOf(t.Context(), strings.NewReader(tt.body))
			got, err := drain(s)
			assert.Equal(t, tt.want, got)
			if tt.wantReason == "" {
				require.ErrorIs(t, err, io.EOF)
			} else {
				var pe *domain.ProviderError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, domain.Provider("test"), pe.Provider)
				assert.Equal(t, tt.wantReason, string(pe.Reason))
				assert.Equal(t, tt.wantClass, pe.Class)
				assert.Equal(t, tt.wantStatus, pe.Status)
				if tt.wantMsg != "" {
					assert.Equal(t, tt.wantMsg, pe.Message)
				}
				assert.NotContains(t, pe.Error(), "sk-secret")
			}
			// The end is sticky.
			_, again := s.Recv()
			assert.Equal(t, err, again)
			require.NoError(t, s.Close())
			require.NoError(t, s.Close())
		})
	}
}

func TestStreamReadErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("first token too slow")
	tests := []struct {
		name       string
		ctx        func(t *testing.T) context.Context
		readErr    error
		wantReason string
		wantIs     []error
	}{
		{
			name:       "connection reset mid-stream is a cut-off",
			ctx:        func(t *testing.T) context.Context { return t.Context() },
			readErr:    errors.New("read: connection reset by peer"),
			wantReason: "cut_off",
		},
		{
			name:       "unexpected EOF in the chunked body is a cut-off",
			ctx:        func(t *testing.T) context.Context { return t.Context() },
			readErr:    io.ErrUnexpectedEOF,
			wantReason: "cut_off",
			wantIs:     []error{io.ErrUnexpectedEOF},
		},
		{
			name: "deadline is a timeout",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 0)
				t.Cleanup(cancel)
				return ctx
			},
			readErr:    context.DeadlineExceeded,
			wantReason: "timeout",
			wantIs:     []error{context.DeadlineExceeded},
		},
		{
			name: "cancellation keeps its cause",
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancelCause(t.Context())
				cancel(cause)
				return ctx
			},
			readErr:    context.Canceled,
			wantReason: "connection_error",
			wantIs:     []error{context.Canceled, cause},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := io.MultiReader(strings.NewReader(`data: {"choices":[{"delta":{"content":"a"}}]}`+"\n\n"), errReader{tt.readErr})
			s := streamOf(tt.ctx(t), body)
			got, err := drain(s)
			assert.Equal(t, []domain.ChatDelta{text("a")}, got)
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantReason, string(pe.Reason))
			assert.Equal(t, domain.FailureRetryable, pe.Class)
			for _, target := range tt.wantIs {
				assert.ErrorIs(t, err, target)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
