package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ChatStream = (*Stream)(nil)

// Stream is one streamed completion read from an OpenAI-compatible
// text/event-stream answer.
//
// Recv yields, in order:
//   - one delta per chunk with non-empty content (choices[0].delta.content)
//     or pieces of tool calls (choices[0].delta.tool_calls, passed on as
//     they come: the first piece of a call carries its ID and Name, the
//     next ones more Arguments); chunks with nothing to report (the opening
//     role chunk, null or empty content, tool-call pieces with nothing but
//     an index) are skipped;
//   - one final delta carrying FinishReason and, when the upstream reports
//     it, Usage. With stream_options.include_usage the upstream sends the
//     finish reason and then a usage chunk without choices; Recv merges the
//     two (as domain.ChatDelta documents). Content or tool calls arriving
//     in the same chunk as the finish reason are part of this delta, and
//     the reason is passed on as sent ("stop", "length", "tool_calls", ...);
//   - io.EOF once "data: [DONE]" arrives, and on every later call.
//
// Errors are *domain.ProviderError and repeat on every later call: an error
// object in the stream is classified like an HTTP error answer (Reason
// rate_limited, server_error, ...); the body ending without [DONE] is
// Reason "cut_off", even after the finish reason; an unparsable chunk, a
// tool call with a negative index or an over-long line is "bad_response";
// ctx ending is "timeout" (deadline) or "connection_error" (cancelled),
// wrapping ctx.Err() and its cause.
// A delta already read is delivered before the error that follows it.
type Stream struct {
	ctx    context.Context
	c      *Client
	status int
	header http.Header
	body   io.ReadCloser
	events *sseReader

	done bool
	err  error
	// held is a finish-reason delta waiting for a usage chunk to merge;
	// queued is a delta read past it, delivered next.
	held, queued *domain.ChatDelta

	closeOnce sync.Once
	closeErr  error
}

// chunk is one chat.completion.chunk (or an error object).
type chunk struct {
	Choices []choice        `json:"choices"`
	Usage   *usage          `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

// choice is one choice of a chunk; genzai reads the first.
type choice struct {
	Delta struct {
		Content   *string         `json:"content"`
		ToolCalls []toolCallDelta `json:"tool_calls"`
	} `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// toolCallDelta is a piece of a tool call in a chunk's delta, or a whole
// call in a completion's message (whose index genzai ignores).
type toolCallDelta struct {
	Index    int               `json:"index"`
	ID       string            `json:"id"`
	Function toolFunctionDelta `json:"function"`
}

type toolFunctionDelta struct {
	Name      string        `json:"name"`
	Arguments toolArguments `json:"arguments"`
}

// toolArguments is the arguments text of a tool call. OpenAI sends a
// string; some Hugging Face (TGI) servers send a JSON object instead,
// which is kept as its compact JSON text.
type toolArguments string

// UnmarshalJSON implements json.Unmarshaler.
func (a *toolArguments) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil // like a plain string: null leaves it as it is
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = toolArguments(s)
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	// encoding/json checks the syntax of the strings inside, not their UTF-8.
	*a = toolArguments(bytes.ToValidUTF8(buf.Bytes(), []byte("\uFFFD")))
	return nil
}

// usage is the OpenAI usage object.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func (u *usage) domain() *domain.Usage {
	if u == nil {
		return nil
	}
	return &domain.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
}

// Recv returns the next delta; see Stream for exactly what it yields.
func (s *Stream) Recv() (domain.ChatDelta, error) {
	if d := s.queued; d != nil {
		s.queued = nil
		return *d, nil
	}
	for {
		d, err := s.next()
		if s.held == nil {
			if err == nil && d.FinishReason != "" && d.Usage == nil {
				s.held = &d
				continue
			}
			return d, err
		}
		h := *s.held
		s.held = nil
		if err == nil && d.Usage != nil && d.Content == "" && len(d.ToolCalls) == 0 && d.FinishReason == "" {
			h.Usage = d.Usage
			return h, nil
		}
		if err == nil {
			s.queued = &d
		}
		// An error or the end is sticky: the next call returns it.
		return h, nil
	}
}

// next returns the next chunk with something to report, io.EOF after
// [DONE], or the stream's error.
func (s *Stream) next() (domain.ChatDelta, error) {
	for {
		if s.err != nil {
			return domain.ChatDelta{}, s.err
		}
		if s.done {
			return domain.ChatDelta{}, io.EOF
		}
		ev, err := s.events.Next()
		if err != nil {
			s.err = s.readError(err)
			continue
		}
		if strings.TrimSpace(ev.Data) == "[DONE]" {
			s.done = true
			continue
		}
		if ev.Truncated {
			s.err = s.c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonCutOff,
				Status: s.status, Message: "stream ended inside an event"})
			continue
		}
		if strings.TrimSpace(ev.Data) == "" {
			continue
		}
		ch, err := decodeChunk(ev.Data)
		if err != nil {
			if ev.Name == "error" {
				// Not JSON, but the server says it is an error: keep its text.
				s.err = s.c.classify(s.status, s.header, []byte(ev.Data))
				continue
			}
			s.err = s.c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
				Status: s.status, Message: "malformed stream chunk", Err: err})
			continue
		}
		if (len(ch.Error) > 0 && string(ch.Error) != "null") || ev.Name == "error" {
			s.err = s.c.classify(s.status, s.header, []byte(ev.Data))
			continue
		}
		var d domain.ChatDelta
		if len(ch.Choices) > 0 {
			if c := ch.Choices[0].Delta.Content; c != nil {
				d.Content = *c
			}
			if f := ch.Choices[0].FinishReason; f != nil {
				d.FinishReason = *f
			}
			if d.ToolCalls, err = streamedToolCalls(ch.Choices[0].Delta.ToolCalls); err != nil {
				s.err = s.c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
					Status: s.status, Message: "malformed tool call", Err: err})
				continue
			}
		}
		d.Usage = ch.Usage.domain()
		if d.Content == "" && len(d.ToolCalls) == 0 && d.FinishReason == "" && d.Usage == nil {
			continue
		}
		return d, nil
	}
}

// streamedToolCalls converts the tool-call pieces of a chunk, leaving out
// those with nothing but an index. A negative index is an error: callers
// may use it to address a slice.
func streamedToolCalls(calls []toolCallDelta) ([]domain.ToolCallDelta, error) {
	var out []domain.ToolCallDelta
	for _, tc := range calls {
		if tc.Index < 0 {
			return nil, fmt.Errorf("tool call index %d", tc.Index)
		}
		if tc.ID == "" && tc.Function.Name == "" && tc.Function.Arguments == "" {
			continue
		}
		out = append(out, domain.ToolCallDelta{Index: tc.Index, ID: tc.ID, Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)})
	}
	return out, nil
}

// readError classifies a failure to read the next event.
func (s *Stream) readError(err error) error {
	if errors.Is(err, io.EOF) {
		return s.c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonCutOff,
			Status: s.status, Message: "stream ended without [DONE]"})
	}
	if errors.Is(err, errEventTooLarge) {
		return s.c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Status: s.status, Message: "stream event too large", Err: err})
	}
	pe := transportError(s.ctx, err, reasonCutOff)
	pe.Status = s.status
	return s.c.finish(pe)
}

// Close releases the connection; safe to call more than once.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.body.Close() })
	return s.closeErr
}
