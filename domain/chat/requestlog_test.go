package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

func TestChatRequestLog(t *testing.T) {
	t.Parallel()
	usage := &domain.Usage{PromptTokens: 7, CompletionTokens: 3}
	tests := []struct {
		name  string
		opts  []func(*envConfig)
		req   chat.Request
		setup func(e *env, cancel context.CancelFunc, sink *collectSink)
		// want is the record without Latency, FirstToken and CreatedAt,
		// which are checked apart.
		want domain.RequestRecord
		// firstToken: a token reached the sink, so FirstToken is set.
		firstToken bool
	}{
		{
			name:  "success",
			req:   chat.Request{Tier: domain.TierBalanced, Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) { e.groq.script(0, answerWith("stop", usage, "a")) },
			want: domain.RequestRecord{
				Tier: domain.TierBalanced, Provider: domain.ProviderGroq, UpstreamModel: modelGroqBig, KeyIndex: intp(0),
				Outcome: domain.OutcomeSuccess, Stream: true, Usage: *usage,
			},
			firstToken: true,
		},
		{
			name:  "success through the OpenAI API",
			req:   chat.Request{API: domain.APIOpenAI, Tier: domain.TierFast, Messages: msgs(1, "hi"), Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) { e.groq.script(0, answerWith("stop", usage, "a")) },
			want: domain.RequestRecord{
				API: domain.APIOpenAI, Tier: domain.TierFast, Provider: domain.ProviderGroq, UpstreamModel: modelGroqFast, KeyIndex: intp(0),
				Outcome: domain.OutcomeSuccess, Stream: true, Usage: *usage,
			},
			firstToken: true,
		},
		{
			name: "success after a rate limited key and a fallback, not streaming",
			opts: []func(*envConfig){withKeys(domain.ProviderOpenRouter, 2)},
			req:  chat.Request{Tier: domain.TierSmart, Prompt: "hi"},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.or.script(0, rateLimited(time.Minute))
				e.or.script(1, serverError("server_error"))
				e.groq.script(0, answerWith("length", usage, "a"))
			},
			want: domain.RequestRecord{
				Tier: domain.TierSmart, Provider: domain.ProviderGroq, UpstreamModel: modelGroqBig, KeyIndex: intp(0),
				Outcome: domain.OutcomeSuccess, Usage: *usage,
				Attempts: []domain.Attempt{
					attempt(domain.ProviderOpenRouter, "rate_limited", 0),
					attempt(domain.ProviderOpenRouter, "server_error", 1),
				},
			},
			firstToken: true,
		},
		{
			name: "answered by the second key",
			opts: []func(*envConfig){withKeys(domain.ProviderGroq, 2)},
			req:  chat.Request{Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.groq.script(0, rateLimited(time.Minute))
			},
			want: domain.RequestRecord{
				Tier: domain.TierFast, Provider: domain.ProviderGroq, UpstreamModel: modelGroqFast, KeyIndex: intp(1),
				Outcome: domain.OutcomeSuccess, Stream: true,
				Attempts: []domain.Attempt{attempt(domain.ProviderGroq, "rate_limited", 0)},
			},
			firstToken: true,
		},
		{
			name: "providers unavailable",
			req:  chat.Request{Tier: domain.TierFast, Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.groq.script(0, serverError("model_loading"))
			},
			want: domain.RequestRecord{
				Tier: domain.TierFast, Outcome: domain.OutcomeError, ErrorCode: "providers_unavailable", Stream: true,
				Attempts: []domain.Attempt{attempt(domain.ProviderGroq, "model_loading", 0)},
			},
		},
		{
			name: "provider rate limited",
			req:  chat.Request{Tier: domain.TierFast, Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.groq.script(0, rateLimited(time.Minute))
			},
			want: domain.RequestRecord{
				Tier: domain.TierFast, Outcome: domain.OutcomeError, ErrorCode: "provider_rate_limited", Stream: true,
				Attempts: []domain.Attempt{
					attempt(domain.ProviderGroq, "rate_limited", 0),
					attempt(domain.ProviderGroq, "rate_limited", noKey),
				},
			},
		},
		{
			name: "upstream rejected the request",
			req:  chat.Request{Tier: domain.TierBalanced, Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.groq.script(0, callerError(400, "bad"))
			},
			want: domain.RequestRecord{
				Tier: domain.TierBalanced, Outcome: domain.OutcomeError, ErrorCode: "upstream_error", Stream: true,
				Attempts: []domain.Attempt{attempt(domain.ProviderGroq, "caller_error", 0)},
			},
		},
		{
			name: "interrupted",
			req:  chat.Request{Tier: domain.TierBalanced, Prompt: "hi", Stream: true},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				e.groq.script(0, tokensThenFail(cutOff(domain.ProviderGroq), "a"))
			},
			want: domain.RequestRecord{
				Tier: domain.TierBalanced, Provider: domain.ProviderGroq, UpstreamModel: modelGroqBig, KeyIndex: intp(0),
				Outcome: domain.OutcomeInterrupted, ErrorCode: "stream_interrupted", Stream: true,
			},
			firstToken: true,
		},
		{
			name: "cancelled before the first token",
			req:  chat.Request{Tier: domain.TierBalanced, Prompt: "hi", Stream: true},
			setup: func(e *env, cancel context.CancelFunc, _ *collectSink) {
				b := hang()
				b.started = make(chan struct{})
				go func() {
					<-b.started
					cancel()
				}()
				e.groq.script(0, b)
			},
			want: domain.RequestRecord{
				Tier: domain.TierBalanced, Outcome: domain.OutcomeCancelled, ErrorCode: "cancelled", Stream: true,
			},
		},
		{
			name: "cancelled while streaming",
			req:  chat.Request{Tier: domain.TierFast, Prompt: "hi", Stream: true},
			setup: func(e *env, cancel context.CancelFunc, sink *collectSink) {
				e.groq.script(0, tokensThenHang("a"))
				sink.onToken = func(int) { cancel() }
			},
			want: domain.RequestRecord{
				Tier: domain.TierFast, Provider: domain.ProviderGroq, UpstreamModel: modelGroqFast, KeyIndex: intp(0),
				Outcome: domain.OutcomeCancelled, ErrorCode: "cancelled", Stream: true,
			},
			firstToken: true,
		},
		{
			name: "invalid",
			req:  chat.Request{Tier: domain.TierSmart, Prompt: "", Stream: true},
			want: domain.RequestRecord{
				Tier: domain.TierSmart, Outcome: domain.OutcomeInvalid, ErrorCode: domain.CodeInvalid, Stream: true,
			},
		},
		{
			name: "quota exceeded",
			opts: []func(*envConfig){withQuota(1)},
			req:  chat.Request{Tier: domain.TierFast, Prompt: "hi"},
			setup: func(e *env, _ context.CancelFunc, _ *collectSink) {
				// The in-memory store cannot fail; the outcome below proves the unit was taken.
				_, _, _ = e.store.ConsumeQuota(context.Background(), e.user.ID, domain.QuotaDay(e.clock.Now()), 1, 1)
			},
			want: domain.RequestRecord{
				Tier: domain.TierFast, Outcome: domain.OutcomeQuota, ErrorCode: domain.CodeQuotaExceeded,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]func(*envConfig){withConfig(func(c *config) {
				c.FirstTokenTimeout = 10 * time.Second
				c.RequestTimeout = 20 * time.Second
			})}, tt.opts...)
			e := newEnv(t, opts...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sink := &collectSink{}
			if tt.setup != nil {
				tt.setup(e, cancel, sink)
			}
			start := time.Now()
			_, err := e.svc.Chat(ctx, e.user, tt.req, sink)
			elapsed := time.Since(start)
			if tt.want.Outcome == domain.OutcomeSuccess {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}

			rec := e.onlyRecord(t)
			assert.Equal(t, t0, rec.CreatedAt, "CreatedAt comes from the clock")
			assert.LessOrEqual(t, rec.Latency, elapsed)
			if tt.firstToken {
				require.NotNil(t, rec.FirstToken)
				assert.LessOrEqual(t, *rec.FirstToken, rec.Latency)
				assert.NotEmpty(t, sink.Tokens())
			} else {
				assert.Nil(t, rec.FirstToken)
				assert.Empty(t, sink.Tokens())
			}
			want := tt.want
			want.UserID = e.user.ID
			if want.API == "" {
				want.API = domain.APINative
			}
			rec.Latency, rec.FirstToken, rec.CreatedAt = 0, nil, time.Time{}
			assert.Equal(t, want, rec)
		})
	}

	t.Run("no log configured", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(ec *envConfig) { ec.noLog = true })
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		_, _, err = e.chat(context.Background(), req(domain.TierFast, ""))
		require.Error(t, err)
		assert.Empty(t, e.log.Records())
	})
}
