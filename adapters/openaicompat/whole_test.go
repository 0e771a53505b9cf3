package openaicompat_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

// wholeRequest is request() asking for the whole answer at once.
func wholeRequest() domain.CompletionRequest {
	r := request()
	r.Delivery = domain.DeliveryWhole
	return r
}

func TestWholeAnswer(t *testing.T) {
	t.Parallel()
	weather := fakeupstream.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`}
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		want      domain.ChatDelta
	}{
		{
			name:      "content and usage",
			behaviour: fakeupstream.OK("Hello", " world"),
			want:      domain.ChatDelta{Content: "Hello world", FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 5, CompletionTokens: 2}},
		},
		{
			name:      "cut by max_tokens, no usage",
			behaviour: fakeupstream.OK("Hel").WithFinishReason("length").WithoutUsage(),
			want:      domain.ChatDelta{Content: "Hel", FinishReason: "length"},
		},
		{
			name:      "content and a tool call",
			behaviour: fakeupstream.ToolCalls(weather).WithTokens("Checking.").WithUsage(10, 5),
			want: domain.ChatDelta{
				Content:      "Checking.",
				ToolCalls:    []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`}},
				FinishReason: "tool_calls", Usage: &domain.Usage{PromptTokens: 10, CompletionTokens: 5},
			},
		},
		{
			name:      "an empty answer",
			behaviour: fakeupstream.OK().WithUsage(5, 0),
			want:      domain.ChatDelta{FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyB, tt.behaviour)
			s, err := newClient(srv).StreamChat(t.Context(), 1, wholeRequest())
			require.NoError(t, err)
			defer s.Close()
			got, err := collect(t, s)
			require.ErrorIs(t, err, io.EOF)
			assert.Equal(t, []domain.ChatDelta{tt.want}, got, "one delta, then io.EOF")
			_, err = s.Recv()
			assert.ErrorIs(t, err, io.EOF, "and io.EOF again")

			r := srv.Requests()[0]
			assert.Equal(t, keyB, r.Key)
			assert.False(t, r.Stream)
			assert.JSONEq(t, "false", string(r.Fields["stream"]))
			assert.NotContains(t, r.Fields, "stream_options")
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
		})
	}
}

// TestWholeAnswerFailures: refusals (an error status, or an error object
// in place of the completion) fail the call, as they do for a stream; a
// completion that breaks off or does not decode fails the read.
func TestWholeAnswerFailures(t *testing.T) {
	t.Parallel()
	cut := fakeupstream.Handler(func(w http.ResponseWriter, _ *http.Request) {
		// The connection closes with the body shorter than announced.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"Hel`)
	})
	tests := []struct {
		name       string
		behaviour  fakeupstream.Behaviour
		wantCall   bool // the call fails (a refusal), not the read
		wantClass  domain.FailureClass
		wantReason domain.AttemptReason
		wantStatus int
	}{
		{name: "429", behaviour: fakeupstream.RateLimited(0), wantCall: true,
			wantClass: domain.FailureRateLimited, wantReason: domain.ReasonRateLimited, wantStatus: 429},
		{name: "503", behaviour: fakeupstream.Status(503, `{"error":{"message":"overloaded"}}`), wantCall: true,
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonServerError, wantStatus: 503},
		{name: "401", behaviour: fakeupstream.Unauthorized(), wantCall: true,
			wantClass: domain.FailureKeyRejected, wantReason: domain.ReasonKeyRejected, wantStatus: 401},
		{name: "200 with an error object", behaviour: fakeupstream.MidStreamError(0, 503, "no capacity"), wantCall: true,
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonServerError, wantStatus: 503},
		{name: "200 with a rate limit inside", behaviour: fakeupstream.Status(200, `{"error":{"message":"Rate limit exceeded","code":429}}`), wantCall: true,
			wantClass: domain.FailureRateLimited, wantReason: domain.ReasonRateLimited, wantStatus: 429},
		{name: "truncated JSON", behaviour: fakeupstream.Status(200, `{"choices":[{"message":{"content":"Hel`),
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonCutOff, wantStatus: 200},
		{name: "body cut by the connection", behaviour: cut,
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonCutOff, wantStatus: 200},
		{name: "not JSON", behaviour: fakeupstream.Status(200, `<html>`),
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonBadResponse, wantStatus: 200},
		{name: "trailing junk", behaviour: fakeupstream.Status(200, `{"choices":[]}}`),
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonBadResponse, wantStatus: 200},
		{name: "no choices", behaviour: fakeupstream.Status(200, `{"choices":[]}`),
			wantClass: domain.FailureRetryable, wantReason: domain.ReasonBadResponse, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Script(keyA, tt.behaviour)
			c := newClient(srv)
			s, err := c.StreamChat(t.Context(), 0, wholeRequest())
			if tt.wantCall {
				require.Error(t, err)
			} else {
				require.NoError(t, err, "the upstream took the request")
				defer s.Close()
				_, err = s.Recv()
				_, again := s.Recv()
				assert.Equal(t, err, again, "the error repeats")
			}
			pe := providerError(t, err)
			assert.Equal(t, tt.wantClass, pe.Class)
			assert.Equal(t, tt.wantReason, pe.Reason)
			assert.Equal(t, tt.wantStatus, pe.Status)
		})
	}
}

// TestWholeAnswerStreamedAnyway: an upstream that streams although asked
// not to is read as the stream it is.
func TestWholeAnswerStreamedAnyway(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	srv.Default(fakeupstream.Handler(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}`+"\n\n"+
			`data: {"choices":[{"delta":{},"finish_reason":"stop"}]}`+"\n\n"+"data: [DONE]\n\n")
	}))
	s, err := newClient(srv).StreamChat(t.Context(), 0, wholeRequest())
	require.NoError(t, err)
	defer s.Close()
	got, err := collect(t, s)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []domain.ChatDelta{{Content: "Hi"}, {FinishReason: "stop"}}, got)
}
