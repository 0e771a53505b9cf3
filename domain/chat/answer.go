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

// answer searches the web when asked, answers from the response cache when
// it holds the answer, or else opens an answer through the router, pumps
// it into sink and stores it in the cache once it is complete.
func (s *Service) answer(ctx context.Context, u domain.User, req *Request, sink Sink, began time.Time, sv served) (Result, served, error) {
	search := s.searchWithin(ctx, req, began)
	completion := req.completion(search.Sources)
	cu := s.lookup(ctx, u, req, completion)
	sv.cache = cu.status
	if cu.hit != nil {
		return s.answerFromCache(*cu.hit, search, req, sink, began, sv)
	}
	a, trace, err := s.router.Open(ctx, routing.Request{Tier: req.Tier, Completion: completion, Stream: req.Stream, Began: began})
	sv.trace = trace
	if err != nil {
		return Result{}, sv, err
	}
	defer a.Close()
	// The search's outcome, reason and sources, who answers, and how the
	// request met the cache.
	res := Result{Meta: search}
	res.Tier, res.Provider, res.UpstreamModel, res.Cache = req.Tier, a.Provider, a.Model, cu.status
	if err := sink.Begin(res.Meta); err != nil {
		return Result{}, sv, fmt.Errorf("%w: begin answer: %w", errSink, err)
	}
	ft := a.FirstToken
	sv.firstToken = &ft
	var got *collected
	if cu.store {
		got = &collected{}
	}
	err = pump(a, sink, &res, got)
	sv.usage = res.Usage
	if err != nil {
		return Result{}, sv, err
	}
	sv.cache = s.store(ctx, cu, res, got)
	return res, sv, nil
}

// answerFromCache replays a stored answer: no provider is called.
func (s *Service) answerFromCache(a domain.CachedAnswer, search Meta, req *Request, sink Sink, began time.Time, sv served) (Result, served, error) {
	sv.cachedModel, sv.usage = a.UpstreamModel, a.Usage
	ft := time.Since(began)
	sv.firstToken = &ft
	res, err := replay(a, search, req.Tier, sink)
	return res, sv, err
}

// pump delivers the answer's deltas to sink until its end, and gathers
// them into got when it is not nil.
func pump(a *routing.Answer, sink Sink, res *Result, got *collected) error {
	toolSink, _ := sink.(ToolSink) // nil: tool calls are dropped
	for {
		d, err := a.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if got != nil {
			got.add(d)
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
