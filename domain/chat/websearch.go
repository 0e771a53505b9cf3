package chat

import (
	"context"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
)

// searchWithin runs the search of a WebSearch request; a non-streaming
// request's search is bound by the deadline of its whole answer.
func (s *Service) searchWithin(ctx context.Context, req *Request, began time.Time) Meta {
	if !req.WebSearch {
		return Meta{} // no deadline (a context and a timer) for no search
	}
	if !req.Stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, s.router.Deadline(began))
		defer cancel()
	}
	return s.webSearch(ctx, req)
}

// maxSearchQuery bounds the query made from a prompt.
const maxSearchQuery = 256

// maxChatSources is how many results a chat answer gets as context.
const maxChatSources = 5

// webSearch runs the search of a WebSearch request. A failed search never
// fails the chat: the answer comes without sources and Meta says why.
func (s *Service) webSearch(ctx context.Context, req *Request) Meta {
	if !req.WebSearch {
		return Meta{}
	}
	if s.cfg.Search == nil || !s.cfg.Search.Enabled() {
		return Meta{WebSearch: WebSearchDisabled}
	}
	q := strings.Join(strings.Fields(req.Prompt), " ")
	if r := []rune(q); len(r) > maxSearchQuery {
		q = string(r[:maxSearchQuery])
	}
	results, err := s.cfg.Search.Results(ctx, q)
	switch {
	case err != nil:
		s.log.Warn("web search for chat failed", "error", err)
		return Meta{WebSearch: WebSearchUnavailable, WebSearchReason: domain.SearchFailureOf(err)}
	case len(results) == 0:
		return Meta{WebSearch: WebSearchNoResults}
	}
	return Meta{WebSearch: WebSearchUsed, Sources: results[:min(len(results), maxChatSources)]}
}
