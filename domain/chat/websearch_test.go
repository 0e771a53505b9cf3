package chat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

type fakeWebSearch struct {
	enabled bool
	results []domain.SearchResult
	err     error
	queries []string
}

func (f *fakeWebSearch) Enabled() bool { return f.enabled }
func (f *fakeWebSearch) Results(_ context.Context, q string) ([]domain.SearchResult, error) {
	f.queries = append(f.queries, q)
	return f.results, f.err
}

func TestWebSearchAugmentedChat(t *testing.T) {
	t.Parallel()
	var many []domain.SearchResult
	for i := 1; i <= 7; i++ {
		many = append(many, domain.SearchResult{Title: fmt.Sprintf("T%d", i), URL: fmt.Sprintf("https://e.com/%d", i), Snippet: fmt.Sprintf("S%d", i)})
	}
	tests := []struct {
		name        string
		search      *fakeWebSearch
		ask         bool
		wantOutcome string
		wantReason  domain.SearchFailure
		wantSources int
	}{
		{"not asked", &fakeWebSearch{enabled: true, results: many}, false, "", "", 0},
		{"used, top five", &fakeWebSearch{enabled: true, results: many}, true, chat.WebSearchUsed, "", 5},
		{"no results", &fakeWebSearch{enabled: true}, true, chat.WebSearchNoResults, "", 0},
		{"unavailable: the chat still answers, and says why", &fakeWebSearch{enabled: true,
			err: &domain.SearchUnavailableError{Reason: domain.SearchBlocked, Err: errors.New("challenge page")}}, true, chat.WebSearchUnavailable, domain.SearchBlocked, 0},
		{"out of time", &fakeWebSearch{enabled: true, err: context.DeadlineExceeded}, true, chat.WebSearchUnavailable, domain.SearchTimeout, 0},
		{"unavailable for no known reason", &fakeWebSearch{enabled: true, err: errors.New("boom")}, true, chat.WebSearchUnavailable, "", 0},
		{"disabled", &fakeWebSearch{enabled: false, results: many}, true, chat.WebSearchDisabled, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config) { c.Search = tt.search }))
			sink := &collectSink{}
			res, err := e.svc.Chat(context.Background(), e.user, chat.Request{Prompt: "  what is   GCRA? ", WebSearch: tt.ask}, sink)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOutcome, res.WebSearch)
			assert.Equal(t, tt.wantReason, res.WebSearchReason)
			assert.Len(t, res.Sources, tt.wantSources)
			require.Len(t, sink.metas, 1)
			assert.Equal(t, res.Meta, sink.metas[0], "the meta event carries the sources")

			msgs := e.groq.Calls()[0].Req.Messages
			if tt.wantSources == 0 {
				assert.Len(t, msgs, 1, "no search context")
				return
			}
			assert.Equal(t, []string{"what is GCRA?"}, tt.search.queries)
			require.Len(t, msgs, 2)
			assert.Equal(t, domain.RoleSystem, msgs[0].Role)
			assert.Contains(t, msgs[0].Content, "cite the ones you use as [n]")
			assert.Contains(t, msgs[0].Content, "[1] T1\nhttps://e.com/1\nS1\n")
			assert.Contains(t, msgs[0].Content, "[5] T5")
			assert.NotContains(t, msgs[0].Content, "[6]")
			assert.Equal(t, domain.Message{Role: domain.RoleUser, Content: "  what is   GCRA? "}, msgs[1])
		})
	}
}
