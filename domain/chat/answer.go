package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
)

// answer searches the web when asked, opens an answer through the router
// and pumps it into sink, noting in sv what it did.
func (s *Service) answer(ctx context.Context, req *Request, sink Sink, began time.Time, sv *served) (Result, error) {
	var res Result
	a, err := s.open(ctx, req, began, sv, &res)
	if err != nil {
		return Result{}, err
	}
	defer a.Close()
	if err := sink.Begin(res.Meta); err != nil {
		return Result{}, fmt.Errorf("%w: begin answer: %w", errSink, err)
	}
	ft := a.FirstToken
	sv.firstToken = &ft
	err = pump(a, sink, &res)
	sv.usage = res.Usage
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// open searches the web when asked and opens an answer through the
// router; res gets the search's outcome, reason and sources, and who
// answers. Apart from answer, so that answer's frame, on the stack for the
// whole of a stream, holds neither the search nor the router's request.
func (s *Service) open(ctx context.Context, req *Request, began time.Time, sv *served, res *Result) (*routing.Answer, error) {
	search := s.searchWithin(ctx, req, began)
	a, trace, err := s.router.Open(ctx, routing.Request{Tier: req.Tier, Completion: req.completion(search.Sources), Stream: req.Stream, Began: began})
	sv.trace = trace
	if err != nil {
		return nil, err
	}
	res.Meta = search
	res.Tier, res.Provider, res.UpstreamModel = req.Tier, a.Provider, a.Model
	return a, nil
}

// pump delivers the answer's deltas to sink until its end.
func pump(a *routing.Answer, sink Sink, res *Result) error {
	toolSink, _ := sink.(ToolSink) // nil: tool calls are dropped
	for {
		d, err := a.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Content != "" {
			if err := sink.Token(d.Content); err != nil {
				return fmt.Errorf("%w: token: %w", errSink, err)
			}
		}
		if toolSink != nil && len(d.ToolCalls) > 0 {
			if err := toolSink.ToolCalls(d.ToolCalls); err != nil {
				return fmt.Errorf("%w: tool calls: %w", errSink, err)
			}
		}
		if d.FinishReason != "" {
			res.FinishReason = d.FinishReason
		}
		if d.Usage != nil {
			res.Usage = *d.Usage
		}
	}
}

// completion is what the providers are asked, with the search results
// given as context.
func (r *Request) completion(sources []domain.SearchResult) domain.CompletionRequest {
	return domain.CompletionRequest{Messages: r.messages(sources), Temperature: r.Temperature, TopP: r.TopP,
		MaxTokens: r.MaxTokens, Stop: r.Stop, Tools: r.Tools, ToolChoice: r.ToolChoice,
		PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty, Seed: r.Seed, ResponseFormat: r.ResponseFormat}
}
