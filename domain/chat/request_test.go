package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// msgs returns n user messages of the given content.
func msgs(n int, content string) []domain.Message {
	out := make([]domain.Message, n)
	for i := range out {
		out[i] = domain.Message{Role: domain.RoleUser, Content: content}
	}
	return out
}

func TestChatValidation(t *testing.T) {
	t.Parallel()
	l := chat.DefaultLimits
	// "é" is two bytes: limits count characters, not bytes.
	runes := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name string
		req  chat.Request
		// wantPrefix is the start of the error message; "" = valid.
		wantPrefix string
	}{
		{name: "empty prompt", req: chat.Request{Prompt: ""}, wantPrefix: "prompt: is required"},
		{name: "white-space prompt", req: chat.Request{Prompt: " \t\r\n\u00a0\u2003\u3000"}, wantPrefix: "prompt: is required"},
		{name: "text between white space", req: chat.Request{Prompt: "  hi  "}},
		{name: "white-space message", req: chat.Request{Prompt: "hi", Messages: msgs(1, "  \n")}, wantPrefix: "messages[0].content: is required"},
		{name: "prompt over the limit", req: chat.Request{Prompt: runes(l.MaxPromptChars + 1)}, wantPrefix: "prompt: "},
		{name: "prompt at the limit, in characters", req: chat.Request{Prompt: runes(l.MaxPromptChars)}},
		{name: "NUL in the prompt", req: chat.Request{Prompt: "hi\x00there"}, wantPrefix: "prompt: must not contain control characters"},
		{name: "terminal escape in the prompt", req: chat.Request{Prompt: "\x1b[2Jhi"}, wantPrefix: "prompt: must not contain control characters"},
		{name: "C1 control in the prompt", req: chat.Request{Prompt: "hi\u0085"}, wantPrefix: "prompt: must not contain control characters"},
		{name: "invalid UTF-8 in the prompt", req: chat.Request{Prompt: "hi\xff"}, wantPrefix: "prompt: must be valid UTF-8"},
		{name: "tabs, line breaks and U+2028 are text", req: chat.Request{Prompt: "a\tb\nc\r\nd\u2028e\u2029f"}},
		{name: "control character in the system prompt", req: chat.Request{Prompt: "hi", System: "be\x07"}, wantPrefix: "system: must not contain"},
		{name: "control character in a message", req: chat.Request{Prompt: "hi", Messages: []domain.Message{{Role: domain.RoleUser, Content: "a\x00"}}}, wantPrefix: "messages[0].content: must not contain"},
		{name: "unknown tier", req: chat.Request{Tier: "turbo", Prompt: "hi"}, wantPrefix: "model: "},
		{name: "tier in the wrong case", req: chat.Request{Tier: "Fast", Prompt: "hi"}, wantPrefix: "model: "},
		{name: "empty tier is fast", req: chat.Request{Prompt: "hi"}},
		{name: "system over the limit", req: chat.Request{Prompt: "hi", System: runes(l.MaxPromptChars + 1)}, wantPrefix: "system: "},
		{
			name:       "bad message role",
			req:        chat.Request{Prompt: "hi", Messages: []domain.Message{{Role: domain.RoleUser, Content: "a"}, {Role: "robot", Content: "b"}}},
			wantPrefix: "messages[1].role: ",
		},
		{
			name:       "empty message content",
			req:        chat.Request{Prompt: "hi", Messages: []domain.Message{{Role: domain.RoleAssistant, Content: ""}}},
			wantPrefix: "messages[0].content: ",
		},
		{
			name: "every role",
			req: chat.Request{Prompt: "hi", Messages: []domain.Message{
				{Role: domain.RoleSystem, Content: "s"}, {Role: domain.RoleUser, Content: "u"}, {Role: domain.RoleAssistant, Content: "a"},
			}},
		},
		{name: "too many messages", req: chat.Request{Prompt: "hi", Messages: msgs(l.MaxMessages+1, "m")}, wantPrefix: "messages: "},
		{name: "as many messages as allowed", req: chat.Request{Prompt: "hi", Messages: msgs(l.MaxMessages, "m")}},
		{
			name: "conversation over the total",
			req: chat.Request{Prompt: runes(l.MaxPromptChars), System: "s",
				Messages: msgs(3, runes((l.MaxTotalChars-l.MaxPromptChars)/3))},
			wantPrefix: "messages: ",
		},
		{
			name: "conversation at the total",
			req: chat.Request{Prompt: runes(l.MaxPromptChars),
				Messages: msgs(3, runes((l.MaxTotalChars-l.MaxPromptChars)/3))},
		},
		{name: "temperature below 0", req: chat.Request{Prompt: "hi", Temperature: floatp(-0.1)}, wantPrefix: "temperature: "},
		{name: "temperature above 2", req: chat.Request{Prompt: "hi", Temperature: floatp(2.1)}, wantPrefix: "temperature: "},
		{name: "temperature 0", req: chat.Request{Prompt: "hi", Temperature: floatp(0)}},
		{name: "temperature 2", req: chat.Request{Prompt: "hi", Temperature: floatp(2)}},
		{name: "max_tokens 0", req: chat.Request{Prompt: "hi", MaxTokens: intp(0)}, wantPrefix: "max_tokens: "},
		{name: "max_tokens negative", req: chat.Request{Prompt: "hi", MaxTokens: intp(-5)}, wantPrefix: "max_tokens: "},
		{name: "max_tokens over the limit", req: chat.Request{Prompt: "hi", MaxTokens: intp(8193)}, wantPrefix: "max_tokens: "},
		{name: "max_tokens 1", req: chat.Request{Prompt: "hi", MaxTokens: intp(1)}},
		{name: "max_tokens at the limit", req: chat.Request{Prompt: "hi", MaxTokens: intp(8192)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t) // Limits unset: DefaultLimits
			r := tt.req
			r.Stream = true
			res, _, err := e.chat(context.Background(), r)
			rec := e.onlyRecord(t)
			if tt.wantPrefix == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, e.quotaUsed(t))
				assert.Equal(t, domain.OutcomeSuccess, rec.Outcome)
				if tt.req.Tier == "" {
					assert.Equal(t, domain.TierFast, res.Tier)
					assert.Equal(t, domain.TierFast, rec.Tier)
					assert.Equal(t, modelGroqFast, e.groq.Calls()[0].Req.Model)
				}
				return
			}
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, domain.CodeInvalid, de.Code)
			assert.True(t, strings.HasPrefix(de.Message, tt.wantPrefix), "message %q starts with %q", de.Message, tt.wantPrefix)
			assert.Equal(t, 0, e.quotaUsed(t), "an invalid request consumes nothing")
			assert.Empty(t, e.order.list(), "no provider is called")
			assert.Equal(t, domain.OutcomeInvalid, rec.Outcome)
			assert.Equal(t, domain.CodeInvalid, rec.ErrorCode)
		})
	}
}

func TestChatCompletionRequest(t *testing.T) {
	t.Parallel()
	history := []domain.Message{
		{Role: domain.RoleUser, Content: "What is 2+2?"},
		{Role: domain.RoleAssistant, Content: "4"},
	}
	tests := []struct {
		name string
		req  chat.Request
		want domain.CompletionRequest
	}{
		{
			name: "prompt only",
			req:  chat.Request{Prompt: "hi"},
			want: domain.CompletionRequest{Model: modelGroqFast, Delivery: domain.DeliveryWhole, Messages: []domain.Message{{Role: domain.RoleUser, Content: "hi"}}},
		},
		{
			name: "system, history, prompt and parameters",
			req:  chat.Request{Prompt: "and 3+3?", System: "Be brief.", Messages: history, Temperature: floatp(0.7), MaxTokens: intp(256)},
			want: domain.CompletionRequest{
				Model:    modelGroqFast,
				Delivery: domain.DeliveryWhole, // chat.Request's zero Stream
				Messages: []domain.Message{
					{Role: domain.RoleSystem, Content: "Be brief."},
					{Role: domain.RoleUser, Content: "What is 2+2?"},
					{Role: domain.RoleAssistant, Content: "4"},
					{Role: domain.RoleUser, Content: "and 3+3?"},
				},
				Temperature: floatp(0.7),
				MaxTokens:   intp(256),
			},
		},
		{
			name: "history without system",
			req:  chat.Request{Prompt: "and 3+3?", Messages: history, Temperature: floatp(0)},
			want: domain.CompletionRequest{
				Model:    modelGroqFast,
				Delivery: domain.DeliveryWhole, // chat.Request's zero Stream
				Messages: []domain.Message{
					{Role: domain.RoleUser, Content: "What is 2+2?"},
					{Role: domain.RoleAssistant, Content: "4"},
					{Role: domain.RoleUser, Content: "and 3+3?"},
				},
				Temperature: floatp(0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, _, err := e.chat(context.Background(), tt.req)
			require.NoError(t, err)
			calls := e.groq.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.want, calls[0].Req)
		})
	}

	t.Run("the fallback provider gets the same conversation with its model", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.groq.script(0, serverError("server_error"))
		r := chat.Request{Tier: domain.TierBalanced, Prompt: "p", System: "s", Messages: history, MaxTokens: intp(9)}
		_, _, err := e.chat(context.Background(), r)
		require.NoError(t, err)
		g, o := e.groq.Calls(), e.or.Calls()
		require.Len(t, g, 1)
		require.Len(t, o, 1)
		assert.Equal(t, modelGroqBig, g[0].Req.Model)
		assert.Equal(t, modelORBalanced, o[0].Req.Model)
		assert.Equal(t, g[0].Req.Messages, o[0].Req.Messages)
		assert.Equal(t, intp(9), o[0].Req.MaxTokens)
		assert.Len(t, o[0].Req.Messages, 4)
	})
}

// TestDeliveryFollowsTheClient: the provider is asked to stream only when
// the client streams; a client that wants the whole answer at once gets
// it from a whole completion.
func TestDeliveryFollowsTheClient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		stream bool
		want   domain.Delivery
	}{
		{stream: true, want: domain.DeliveryStreamed},
		{stream: false, want: domain.DeliveryWhole},
	} {
		e := newEnv(t)
		r := req(domain.TierFast, "hi")
		r.Stream = tt.stream
		_, _, err := e.chat(context.Background(), r)
		require.NoError(t, err)
		calls := e.groq.Calls()
		require.Len(t, calls, 1)
		assert.Equal(t, tt.want, calls[0].Req.Delivery, "stream %t", tt.stream)
	}
}
