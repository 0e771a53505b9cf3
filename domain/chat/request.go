package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// Limits bound what a chat request may ask for.
type Limits struct {
	MaxPromptChars int // MAX_PROMPT_CHARS
	MaxMessages    int // earlier turns
	MaxTotalChars  int // prompt + system + every message
	MaxTokens      int // upper bound of max_tokens
}

// DefaultLimits are the limits when none are configured.
var DefaultLimits = Limits{MaxPromptChars: 32000, MaxMessages: 50, MaxTotalChars: 128000, MaxTokens: 8192}

// Request is a user's chat request.
type Request struct {
	Tier        domain.Tier // "" means fast
	Prompt      string
	System      string
	Messages    []domain.Message
	Temperature *float64
	MaxTokens   *int
	Stream      bool
	// WebSearch asks for the prompt to be searched first and the results
	// given to the model as context to cite.
	WebSearch bool
	// RequestID is the id the client is answered under; it goes into the
	// request log so that feedback and support can find the request.
	RequestID string
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeInvalid, format, args...)
}

// checkText refuses text that is not UTF-8 or holds control characters
// other than tab, line feed and carriage return: terminal escapes and NULs
// in a prompt are never meant for a model, and some providers and
// databases refuse them further along.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s: must be valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r < 0xa0 {
			return invalid("%s: must not contain control characters (U+%04X)", field, r)
		}
	}
	return nil
}

// normalize applies defaults and checks every field, naming the first bad one.
func (r *Request) normalize(l Limits) error {
	if r.Tier == "" {
		r.Tier = domain.TierFast
	}
	if !r.Tier.Valid() {
		return invalid("model: must be fast, balanced or smart")
	}
	n := utf8.RuneCountInString(r.Prompt)
	switch {
	case n == 0:
		return invalid("prompt: is required")
	case n > l.MaxPromptChars:
		return invalid("prompt: must be at most %d characters", l.MaxPromptChars)
	}
	if err := checkText("prompt", r.Prompt); err != nil {
		return err
	}
	if err := checkText("system", r.System); err != nil {
		return err
	}
	total := n + utf8.RuneCountInString(r.System)
	if utf8.RuneCountInString(r.System) > l.MaxPromptChars {
		return invalid("system: must be at most %d characters", l.MaxPromptChars)
	}
	if len(r.Messages) > l.MaxMessages {
		return invalid("messages: at most %d earlier messages", l.MaxMessages)
	}
	for i, m := range r.Messages {
		switch m.Role {
		case domain.RoleUser, domain.RoleAssistant, domain.RoleSystem:
		default:
			return invalid("messages[%d].role: must be user, assistant or system", i)
		}
		c := utf8.RuneCountInString(m.Content)
		if c == 0 {
			return invalid("messages[%d].content: is required", i)
		}
		if err := checkText(fmt.Sprintf("messages[%d].content", i), m.Content); err != nil {
			return err
		}
		total += c
	}
	if total > l.MaxTotalChars {
		return invalid("messages: the conversation is longer than %d characters", l.MaxTotalChars)
	}
	if t := r.Temperature; t != nil && (*t < 0 || *t > 2) {
		return invalid("temperature: must be between 0 and 2")
	}
	if m := r.MaxTokens; m != nil && (*m < 1 || *m > l.MaxTokens) {
		return invalid("max_tokens: must be between 1 and %d", l.MaxTokens)
	}
	return nil
}

// messages is the conversation sent upstream: system, web search context,
// earlier turns, prompt.
func (r *Request) messages(sources []domain.SearchResult) []domain.Message {
	out := make([]domain.Message, 0, len(r.Messages)+3)
	if r.System != "" {
		out = append(out, domain.Message{Role: domain.RoleSystem, Content: r.System})
	}
	if len(sources) > 0 {
		out = append(out, domain.Message{Role: domain.RoleSystem, Content: searchContext(sources)})
	}
	out = append(out, r.Messages...)
	return append(out, domain.Message{Role: domain.RoleUser, Content: r.Prompt})
}

// String summarises a request for logs without its content.
func (r *Request) String() string {
	return fmt.Sprintf("tier=%s stream=%t messages=%d", r.Tier, r.Stream, len(r.Messages)+1)
}

// searchContext presents web search results to the model as numbered
// sources to cite.
func searchContext(sources []domain.SearchResult) string {
	var b strings.Builder
	b.WriteString("Web search results for the user's question. Use them where they help, and cite the ones you use as [n]. If they do not answer the question, say so.\n")
	for i, s := range sources {
		fmt.Fprintf(&b, "\n[%d] %s\n%s\n", i+1, s.Title, s.URL)
		if s.Snippet != "" {
			b.WriteString(s.Snippet + "\n")
		}
	}
	return b.String()
}
