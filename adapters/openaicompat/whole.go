package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// completion is the body of a non-streamed answer.
type completion struct {
	Choices []struct {
		Message struct {
			Content   *string         `json:"content"`
			ToolCalls []toolCallDelta `json:"tool_calls"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// Complete asks for a non-streamed completion with key index key and
// returns the whole answer as one delta: Content, ToolCalls (each whole,
// Index its position), FinishReason, and Usage when the upstream reports
// it. Every error is a *domain.ProviderError.
func (c *Client) Complete(ctx context.Context, key int, req domain.CompletionRequest) (domain.ChatDelta, error) {
	resp, err := c.askWhole(ctx, key, req)
	if err != nil {
		return domain.ChatDelta{}, err
	}
	d, _, perr := c.readCompletion(ctx, resp)
	if perr != nil {
		return domain.ChatDelta{}, perr
	}
	return d, nil
}

// whole is StreamChat for domain.DeliveryWhole: it asks for a
// non-streamed completion, reads it, and returns a stream of its one delta
// (Content, ToolCalls, FinishReason and Usage together), then io.EOF.
//
// An error object in place of the completion is returned at once, like an
// error status: the upstream refused the request, as it does when it
// answers a streamed request with one. A body that breaks off or does not
// decode is the stream's error instead, as a broken event stream's is:
// the upstream took the request and went to work. An upstream that
// streams all the same (an event stream in answer) is read as a *Stream.
func (c *Client) whole(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	resp, err := c.askWhole(ctx, key, req)
	if err != nil {
		return nil, err
	}
	if isEventStream(resp.Header) {
		return c.newStream(ctx, resp), nil
	}
	d, refused, perr := c.readCompletion(ctx, resp)
	switch {
	case refused:
		return nil, perr
	case perr != nil:
		return &wholeStream{err: perr}, nil
	}
	return &wholeStream{d: &d}, nil
}

// askWhole posts a non-streamed completion request; see Client.do.
func (c *Client) askWhole(ctx context.Context, key int, req domain.CompletionRequest) (*http.Response, error) {
	return c.do(ctx, key, http.MethodPost, "/chat/completions", "application/json", newChatRequest(req, false))
}

// readCompletion reads a completion answer and closes its body. refused
// says that the body is an error object (classified like an error
// status); any other failure is a cut-off or malformed answer.
func (c *Client) readCompletion(ctx context.Context, resp *http.Response) (d domain.ChatDelta, refused bool, _ *domain.ProviderError) {
	defer resp.Body.Close()
	body, perr := readBody(ctx, resp, maxCompletionBody)
	if perr != nil {
		perr.Status = resp.StatusCode
		return d, false, c.finish(perr)
	}
	// One decoding tells an error object and a completion apart:
	// encoding/json fills the members it can even when another one has an
	// unexpected type.
	var out completion
	err := json.Unmarshal(body, &out)
	if len(out.Error) > 0 && string(out.Error) != "null" {
		return d, true, c.classify(resp.StatusCode, resp.Header, body)
	}
	if err != nil {
		pe := &domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Status: resp.StatusCode, Message: "malformed completion", Err: err}
		if cutOff(body) {
			pe.Reason, pe.Message = reasonCutOff, "completion ended before its JSON did"
		}
		return d, false, c.finish(pe)
	}
	if len(out.Choices) == 0 {
		return d, false, c.finish(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonBadResponse,
			Status: resp.StatusCode, Message: "completion without choices"})
	}
	choice := out.Choices[0]
	if m := choice.Message.Content; m != nil {
		d.Content = *m
	}
	if f := choice.FinishReason; f != nil {
		d.FinishReason = *f
	}
	if calls := choice.Message.ToolCalls; len(calls) > 0 {
		d.ToolCalls = make([]domain.ToolCallDelta, len(calls))
		for i, tc := range calls {
			// A whole message has no index: its calls are told apart by position.
			d.ToolCalls[i] = domain.ToolCallDelta{Index: i, ID: tc.ID, Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)}
		}
	}
	d.Usage = out.Usage.domain()
	return d, false, nil
}

// cutOff reports whether body is JSON that ends before its value does (a
// connection closed early without the transport noticing), rather than
// JSON that is wrong.
func cutOff(body []byte) bool {
	err := json.NewDecoder(bytes.NewReader(body)).Decode(new(json.RawMessage))
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// isEventStream reports whether the answer's media type is text/event-stream.
func isEventStream(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "text/event-stream"
}

// wholeStream is a whole answer read as a stream: its delta and then
// io.EOF, or its error on every call.
type wholeStream struct {
	d   *domain.ChatDelta
	err error
}

var _ ports.ChatStream = (*wholeStream)(nil)

// Recv implements ports.ChatStream.
func (s *wholeStream) Recv() (domain.ChatDelta, error) {
	if s.err != nil {
		return domain.ChatDelta{}, s.err
	}
	if s.d == nil {
		return domain.ChatDelta{}, io.EOF
	}
	d := *s.d
	s.d = nil
	return d, nil
}

// Close implements ports.ChatStream: the body is already closed.
func (*wholeStream) Close() error { return nil }
