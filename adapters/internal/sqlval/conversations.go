package sqlval

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/genzai/genzai/domain"
)

// source is a web search result as stored in messages.sources.
type source struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Snippet string `json:"snippet"`
}

// EncodeSources is the JSON array stored in messages.sources:
// [{"title": "...", "url": "...", "snippet": "..."}, ...].
func EncodeSources(rs []domain.SearchResult) ([]byte, error) {
	out := make([]source, 0, len(rs))
	for _, r := range rs {
		out = append(out, source(r))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode sources: %w", err)
	}
	return b, nil
}

// DecodeSources reads messages.sources back; never nil.
func DecodeSources(b []byte) ([]domain.SearchResult, error) {
	var ss []source
	if err := json.Unmarshal(b, &ss); err != nil {
		return nil, fmt.Errorf("decode sources: %w", err)
	}
	out := make([]domain.SearchResult, 0, len(ss))
	for _, s := range ss {
		out = append(out, domain.SearchResult(s))
	}
	return out, nil
}

// CheckConversationMessage refuses, with CodeInvalid, a message the
// messages table's constraints would reject, and text PostgreSQL cannot
// store, so that both engines answer the same.
func CheckConversationMessage(m domain.ConversationMessage) error {
	switch {
	case !slices.Contains([]domain.MessageRole{domain.MessageFromUser, domain.MessageFromAssistant}, m.Role):
		return domain.Invalid("role", "must be user or assistant")
	case !slices.Contains([]domain.MessageStatus{domain.MessageComplete, domain.MessageInterrupted}, m.Status):
		return domain.Invalid("status", "must be complete or interrupted")
	case len(m.RequestID) > MaxText:
		return domain.Invalid("request_id", "must be at most %d bytes", MaxText)
	case m.Usage.PromptTokens < 0 || m.Usage.CompletionTokens < 0:
		return domain.Invalid("usage", "must not be negative")
	}
	for field, s := range map[string]string{
		"content": m.Content, "tier": string(m.Tier), "provider": string(m.Provider),
		"upstream_model": m.UpstreamModel, "request_id": m.RequestID,
	} {
		if err := CheckConversationText(field, s); err != nil {
			return err
		}
	}
	return nil
}
