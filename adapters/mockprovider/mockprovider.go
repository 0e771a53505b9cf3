// Package mockprovider is the built-in development provider: with no API
// keys configured in development, it answers every tier with a
// deterministic reply, streamed or whole, so that the whole flow can be
// tried on a fresh machine. The app never wires it in production.
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

// Provider streams a canned reply word by word, or sends it whole.
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
	usage := domain.Usage{PromptTokens: prompt, CompletionTokens: len(words)}
	if req.Delivery == domain.DeliveryWhole {
		// The whole reply when its last word would have come.
		return &wholeStream{ctx: ctx, reply: strings.Join(words, ""), delay: p.delay * time.Duration(len(words)-1), usage: usage}, nil
	}
	return &stream{ctx: ctx, words: words, delay: p.delay, usage: usage}, nil
}

// wait sleeps d, or returns a timeout when ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &domain.ProviderError{Provider: domain.ProviderMock, Class: domain.FailureRetryable, Reason: domain.ReasonTimeout, Err: ctx.Err()}
	}
}

// wholeStream is the reply sent whole: one delta, then io.EOF.
type wholeStream struct {
	ctx   context.Context
	reply string
	delay time.Duration
	usage domain.Usage
	done  bool
}

func (s *wholeStream) Recv() (domain.ChatDelta, error) {
	if s.done {
		return domain.ChatDelta{}, io.EOF
	}
	if err := wait(s.ctx, s.delay); err != nil {
		return domain.ChatDelta{}, err
	}
	s.done = true
	u := s.usage
	return domain.ChatDelta{Content: s.reply, FinishReason: "stop", Usage: &u}, nil
}

func (s *wholeStream) Close() error { return nil }

type stream struct {
	ctx   context.Context
	words []string
	i     int
	delay time.Duration
	usage domain.Usage
	done  bool
}

func (s *stream) Recv() (domain.ChatDelta, error) {
	if s.i > 0 && s.i <= len(s.words) {
		if err := wait(s.ctx, s.delay); err != nil {
			return domain.ChatDelta{}, err
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
