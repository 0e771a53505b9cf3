// Package mockprovider is the built-in development provider: with no API
// keys configured in development, it answers every tier with a
// deterministic streamed reply so that the whole flow can be tried on a
// fresh machine. The app never wires it in production.
package mockprovider

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ChatProvider = (*Provider)(nil)

// Provider streams a canned reply word by word.
type Provider struct {
	delay time.Duration
}

// New returns a Provider that waits delay between tokens.
func New(delay time.Duration) *Provider { return &Provider{delay: delay} }

// Name implements ports.ChatProvider.
func (*Provider) Name() domain.Provider { return domain.ProviderMock }

// KeyCount implements ports.ChatProvider: the mock needs no key.
func (*Provider) KeyCount() int { return 1 }

// Reply is the deterministic answer to a conversation.
func Reply(req domain.CompletionRequest) string {
	var prompt string
	if n := len(req.Messages); n > 0 {
		prompt = req.Messages[n-1].Content
	}
	if utf8.RuneCountInString(prompt) > 60 {
		prompt = string([]rune(prompt)[:60]) + "…"
	}
	return fmt.Sprintf("This is the genzai mock provider (model %s): no API keys are configured, so I echo you. You said: %q.", req.Model, prompt)
}

// StreamChat implements ports.ChatProvider.
func (p *Provider) StreamChat(ctx context.Context, _ int, req domain.CompletionRequest) (ports.ChatStream, error) {
	words := strings.SplitAfter(Reply(req), " ")
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(strings.Fields(m.Content))
	}
	return &stream{ctx: ctx, words: words, delay: p.delay, usage: domain.Usage{PromptTokens: prompt, CompletionTokens: len(words)}}, nil
}

type stream struct {
	ctx   context.Context
	words []string
	i     int
	delay time.Duration
	usage domain.Usage
	done  bool
}

func (s *stream) Recv() (domain.ChatDelta, error) {
	if s.i > 0 && s.i <= len(s.words) && s.delay > 0 {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return domain.ChatDelta{}, &domain.ProviderError{Provider: domain.ProviderMock, Class: domain.FailureRetryable, Reason: domain.ReasonTimeout, Err: s.ctx.Err()}
		}
	}
	switch {
	case s.i < len(s.words):
		s.i++
		return domain.ChatDelta{Content: s.words[s.i-1]}, nil
	case !s.done:
		s.done = true
		u := s.usage
		return domain.ChatDelta{FinishReason: "stop", Usage: &u}, nil
	default:
		return domain.ChatDelta{}, io.EOF
	}
}

func (s *stream) Close() error { return nil }
