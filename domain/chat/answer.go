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
// it into sink and stores it in the cache once it is complete, noting in
// sv what it did.
func (s *Service) answer(ctx context.Context, u *domain.User, req *Request, sink Sink, began time.Time, sv *served) (Result, error) {
	var res Result
	cu, a, err := s.openApart(ctx, u, req, began, sv, &res)
	if err != nil {
		return Result{}, err
	}
	if cu.hit != nil {
		return s.answerFromCache(cu.hit, res.Meta, req, sink, began, sv)
	}
	defer a.Close()
	if err := sink.Begin(res.Meta); err != nil {
		return Result{}, fmt.Errorf("%w: begin answer: %w", errSink, err)
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
		return Result{}, err
	}
	sv.cache = s.store(ctx, cu, res, got)
	return res, nil
}

// openApart is open, on a goroutine of its own for a stream. Opening is the
// deepest excursion of a stream's handler (web search, the cache, the HTTP
// client's round trip), and a goroutine's stack that grew past 16 KiB for
// it stays at 32 KiB for the whole stream: the collector halves a stack
// only while less than a quarter of it is in use, and a parked stream uses
// more than 8 KiB. Apart, the handler's stack stays at 16 KiB; the opening
// goroutine's stack is freed when it returns. A non-streamed request is
// short-lived: it opens in place. A panic is passed on to the handler.
func (s *Service) openApart(ctx context.Context, u *domain.User, req *Request, began time.Time, sv *served, res *Result) (cacheUse, *routing.Answer, error) {
	if !req.Stream {
		return s.open(ctx, u, req, began, sv, res)
	}
	type opened struct {
		cu    cacheUse
		a     *routing.Answer
		err   error
		panic any
	}
	done := make(chan opened, 1)
	go func() {
		var o opened
		defer func() {
			o.panic = recover()
			done <- o
		}()
		o.cu, o.a, o.err = s.open(ctx, u, req, began, sv, res)
	}()
	o := <-done
	if o.panic != nil {
		panic(o.panic)
	}
	return o.cu, o.a, o.err
}

// open searches the web when asked, looks the answer up in the response
// cache and, on a miss, opens it through the router (the answer is nil on
// a hit); res gets the search's outcome, reason and sources, who answers
// and how the request met the cache. Apart from answer, so that answer's
// frame, on the stack for the whole of a stream, holds neither the search
// nor the router's request.
func (s *Service) open(ctx context.Context, u *domain.User, req *Request, began time.Time, sv *served, res *Result) (cacheUse, *routing.Answer, error) {
	search := s.searchWithin(ctx, req, began)
	completion := req.completion(search.Sources)
	cu := s.lookup(ctx, *u, req, completion)
	sv.cache = cu.status
	res.Meta = search
	res.Tier, res.Cache = req.Tier, cu.status
	if cu.hit != nil {
		return cu, nil, nil
	}
	a, trace, err := s.router.Open(ctx, routing.Request{Tier: req.Tier, Completion: completion, Stream: req.Stream, Began: began})
	sv.trace = trace
	if err != nil {
		return cu, nil, err
	}
	res.Provider, res.UpstreamModel = a.Provider, a.Model
	return cu, a, nil
}

// answerFromCache replays a stored answer: no provider is called.
func (s *Service) answerFromCache(a *domain.CachedAnswer, search Meta, req *Request, sink Sink, began time.Time, sv *served) (Result, error) {
	sv.cachedModel, sv.usage = a.UpstreamModel, a.Usage
	ft := time.Since(began)
	sv.firstToken = &ft
	return replay(*a, search, req.Tier, sink)
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
