package httpapi

import (
	"context"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// WebSearch implements api.StrictServerInterface.
func (h *handlers) WebSearch(ctx context.Context, req api.WebSearchRequestObject) (api.WebSearchResponseObject, error) {
	u, ok := UserFrom(ctx)
	if !ok {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	// Searches cost quota: an account that has not proven its address
	// gets none, as for chat.
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return nil, err
	}
	res, err := h.s.deps.Search.Search(ctx, u, req.Params.Q)
	if err != nil {
		return nil, err
	}
	return api.WebSearch200JSONResponse{
		Status:  "success",
		Source:  api.WebSearchResultsSource(res.Source),
		Query:   res.Query,
		Results: toSearchResults(res.Results),
	}, nil
}

func toSearchResults(rs []domain.SearchResult) []api.SearchResult {
	out := make([]api.SearchResult, 0, len(rs))
	for _, r := range rs {
		out = append(out, api.SearchResult{Title: r.Title, Url: r.URL, Snippet: r.Snippet})
	}
	return out
}

func toSources(rs []domain.SearchResult) *[]api.Source {
	if len(rs) == 0 {
		return nil
	}
	out := make([]api.Source, 0, len(rs))
	for _, r := range rs {
		out = append(out, api.Source{Title: r.Title, Url: r.URL})
	}
	return &out
}
