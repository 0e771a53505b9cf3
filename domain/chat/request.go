package chat

import (
	"bytes"
	"encoding/json"
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
	TopP        *float64
	MaxTokens   *int
	// Stop sequences end the answer where the model writes one.
	Stop   []string
	Stream bool
	// API is the API the request came through: domain.APINative ("") or
	// domain.APIOpenAI. An OpenAI request has no Prompt: Messages is the
	// whole conversation, which may end with tool results, and it may
	// offer Tools.
	API        string
	Tools      []domain.Tool
	ToolChoice *domain.ToolChoice
	// OpenAI's other sampling options, passed on when set.
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Seed             *int64
	ResponseFormat   *domain.ResponseFormat
	// WebSearch asks for the prompt to be searched first and the results
	// given to the model as context to cite.
	WebSearch bool
	// RequestID is the id the client is answered under; it goes into the
	// request log so that feedback and support can find the request.
	RequestID string
	// ConversationID, when set, continues that conversation of the user
	// (NewConversation starts one): the server sends its history and
	// stores the prompt and the answer.
	ConversationID domain.ConversationID
	// Regenerate answers the conversation's last prompt again: Prompt
	// takes the place of the last turn (the prompt and its answer), which
	// the stored thread then holds once, and the response cache is not
	// read (it would give the same answer back).
	Regenerate bool
	// Cache says how the request uses the response cache (default
	// CacheUse).
	Cache CacheMode
}

// checkText refuses text that is not UTF-8 or holds control characters
// other than tab, line feed and carriage return: terminal escapes and NULs
// in a prompt are never meant for a model, and some providers and
// databases refuse them further along.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return domain.Invalid(field, "must be valid UTF-8")
	}
	return domain.CheckControl(field, s)
}

// blank reports whether s holds no text but white space: a prompt or a
// message of spaces says nothing, and is refused as an empty one is before
// it costs quota or reaches a provider.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// normalize applies defaults and checks every field, naming the first bad one.
func (r *Request) normalize(l Limits) error {
	if r.Tier == "" {
		r.Tier = domain.TierFast
	}
	if !r.Tier.Valid() {
		return domain.Invalid("model", "must be fast, balanced or smart")
	}
	var total int
	switch r.API {
	case "", domain.APINative:
		r.API = domain.APINative
		n := utf8.RuneCountInString(r.Prompt)
		switch {
		case blank(r.Prompt):
			return domain.Invalid("prompt", "is required")
		case n > l.MaxPromptChars:
			return domain.Invalid("prompt", "must be at most %d characters", l.MaxPromptChars)
		}
		if err := checkText("prompt", r.Prompt); err != nil {
			return err
		}
		if len(r.Messages) > l.MaxMessages {
			return domain.Invalid("messages", "at most %d earlier messages", l.MaxMessages)
		}
		total = n
	case domain.APIOpenAI:
		switch {
		case r.Prompt != "":
			return domain.Invalid("prompt", "not used by this API; send the conversation in messages")
		case len(r.Messages) == 0:
			return domain.Invalid("messages", "is required")
		case len(r.Messages) > l.MaxMessages+1:
			return domain.Invalid("messages", "at most %d messages", l.MaxMessages+1)
		}
	default:
		return domain.Invalid("api", "unknown API %q", r.API)
	}
	if err := checkText("system", r.System); err != nil {
		return err
	}
	total += utf8.RuneCountInString(r.System)
	if utf8.RuneCountInString(r.System) > l.MaxPromptChars {
		return domain.Invalid("system", "must be at most %d characters", l.MaxPromptChars)
	}
	for i, m := range r.Messages {
		c, err := r.checkMessage(i, m)
		if err != nil {
			return err
		}
		total += c
	}
	if total > l.MaxTotalChars {
		return domain.Invalid("messages", "the conversation is longer than %d characters", l.MaxTotalChars)
	}
	for _, o := range [...]struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", r.Temperature, 0, 2}, {"top_p", r.TopP, 0, 1},
		{"presence_penalty", r.PresencePenalty, -2, 2}, {"frequency_penalty", r.FrequencyPenalty, -2, 2},
	} {
		if o.v != nil && (*o.v < o.lo || *o.v > o.hi) {
			return domain.Invalid(o.name, "must be between %g and %g", o.lo, o.hi)
		}
	}
	if m := r.MaxTokens; m != nil && (*m < 1 || *m > l.MaxTokens) {
		return domain.Invalid("max_tokens", "must be between 1 and %d", l.MaxTokens)
	}
	if err := checkStop(r.Stop); err != nil {
		return err
	}
	if err := checkResponseFormat(r.ResponseFormat); err != nil {
		return err
	}
	if err := r.checkRegenerate(); err != nil {
		return err
	}
	return r.checkTools()
}

// checkRegenerate refuses a regeneration without a stored conversation to
// regenerate in, and keeps it from reading the response cache, which holds
// the very answer it asks to replace.
func (r *Request) checkRegenerate() error {
	if !r.Regenerate {
		return nil
	}
	if r.ConversationID == "" || r.ConversationID == NewConversation {
		return domain.Invalid("regenerate", "needs the conversation_id of a stored conversation")
	}
	if r.Cache == CacheUse {
		r.Cache = CacheRefresh
	}
	return nil
}

func checkResponseFormat(f *domain.ResponseFormat) error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case domain.ResponseFormatText, domain.ResponseFormatJSONObject:
		if len(f.JSONSchema) > 0 {
			return domain.Invalid("response_format.json_schema", "only with type json_schema")
		}
	case domain.ResponseFormatJSONSchema:
		if s := bytes.TrimSpace(f.JSONSchema); len(s) == 0 || s[0] != '{' || !json.Valid(s) {
			return domain.Invalid("response_format.json_schema", "is required, an object with the schema")
		}
	default:
		return domain.Invalid("response_format.type", "must be text, json_object or json_schema")
	}
	return nil
}

// checkMessage checks one earlier message and returns its length in
// characters. Tool calls and tool results belong to the OpenAI API only.
func (r *Request) checkMessage(i int, m domain.Message) (int, error) {
	openAI := r.API == domain.APIOpenAI
	switch {
	case m.Role == domain.RoleUser || m.Role == domain.RoleAssistant || m.Role == domain.RoleSystem:
	case m.Role == domain.RoleTool && openAI:
		if m.ToolCallID == "" {
			return 0, domain.Invalid(fmt.Sprintf("messages[%d].tool_call_id", i), "is required for a tool message")
		}
	case openAI:
		return 0, domain.Invalid(fmt.Sprintf("messages[%d].role", i), "must be system, user, assistant or tool")
	default:
		return 0, domain.Invalid(fmt.Sprintf("messages[%d].role", i), "must be user, assistant or system")
	}
	if m.Role != domain.RoleTool && m.ToolCallID != "" {
		return 0, domain.Invalid(fmt.Sprintf("messages[%d].tool_call_id", i), "only tool messages answer a tool call")
	}
	if len(m.ToolCalls) > 0 && (m.Role != domain.RoleAssistant || !openAI) {
		return 0, domain.Invalid(fmt.Sprintf("messages[%d].tool_calls", i), "only assistant messages call tools")
	}
	c := utf8.RuneCountInString(m.Content)
	// An assistant turn that only called tools has no text; a tool may
	// answer with nothing.
	if blank(m.Content) && len(m.ToolCalls) == 0 && m.Role != domain.RoleTool {
		return 0, domain.Invalid(fmt.Sprintf("messages[%d].content", i), "is required")
	}
	if err := checkText(fmt.Sprintf("messages[%d].content", i), m.Content); err != nil {
		return 0, err
	}
	if err := checkText(fmt.Sprintf("messages[%d].tool_call_id", i), m.ToolCallID); err != nil {
		return 0, err
	}
	for j, tc := range m.ToolCalls {
		field := fmt.Sprintf("messages[%d].tool_calls[%d]", i, j)
		switch {
		case tc.ID == "":
			return 0, domain.Invalid(field+".id", "is required")
		case tc.Name == "":
			return 0, domain.Invalid(field+".function.name", "is required")
		}
		for _, f := range [...]struct{ name, v string }{{".id", tc.ID}, {".function.name", tc.Name}, {".function.arguments", tc.Arguments}} {
			if err := checkText(field+f.name, f.v); err != nil {
				return 0, err
			}
		}
		c += utf8.RuneCountInString(tc.Arguments)
	}
	return c, nil
}

// maxStop is how many stop sequences OpenAI accepts; upstreams refuse more.
const maxStop = 4

func checkStop(stop []string) error {
	if len(stop) > maxStop {
		return domain.Invalid("stop", "at most %d sequences", maxStop)
	}
	for i, s := range stop {
		if s == "" {
			return domain.Invalid(fmt.Sprintf("stop[%d]", i), "must not be empty")
		}
		if utf8.RuneCountInString(s) > 256 {
			return domain.Invalid(fmt.Sprintf("stop[%d]", i), "must be at most 256 characters")
		}
		if !utf8.ValidString(s) {
			return domain.Invalid(fmt.Sprintf("stop[%d]", i), "must be valid UTF-8")
		}
	}
	return nil
}

// maxTools is OpenAI's limit on the tools of one request.
const maxTools = 128

// checkTools checks the tools offered and the tool choice.
func (r *Request) checkTools() error {
	if len(r.Tools) > maxTools {
		return domain.Invalid("tools", "at most %d tools", maxTools)
	}
	names := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		if !validToolName(t.Name) {
			return domain.Invalid(fmt.Sprintf("tools[%d].function.name", i), "must be 1 to 64 letters, digits, underscores or dashes")
		}
		if names[t.Name] {
			return domain.Invalid(fmt.Sprintf("tools[%d].function.name", i), "%q is offered twice", t.Name)
		}
		names[t.Name] = true
		if err := checkText(fmt.Sprintf("tools[%d].function.description", i), t.Description); err != nil {
			return err
		}
		if p := bytes.TrimSpace(t.Parameters); len(p) > 0 && (p[0] != '{' || !json.Valid(p)) {
			return domain.Invalid(fmt.Sprintf("tools[%d].function.parameters", i), "must be a JSON Schema object")
		}
	}
	tc := r.ToolChoice
	if tc == nil {
		return nil
	}
	switch tc.Mode {
	case domain.ToolChoiceNone, domain.ToolChoiceAuto:
	case domain.ToolChoiceRequired:
		if len(r.Tools) == 0 {
			return domain.Invalid("tool_choice", "required needs tools")
		}
	case domain.ToolChoiceFunction:
		if !names[tc.Function] {
			return domain.Invalid("tool_choice", "names no tool of tools")
		}
	default:
		return domain.Invalid("tool_choice", "must be none, auto, required or a function")
	}
	return nil
}

// validToolName: the names OpenAI accepts, ^[a-zA-Z0-9_-]{1,64}$.
func validToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
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
	if r.Prompt == "" {
		return out // an OpenAI request: the conversation is complete
	}
	return append(out, domain.Message{Role: domain.RoleUser, Content: r.Prompt})
}

// String summarises a request for logs without its content.
func (r *Request) String() string {
	n := len(r.Messages)
	if r.Prompt != "" {
		n++
	}
	return fmt.Sprintf("api=%s tier=%s stream=%t messages=%d tools=%d", r.API, r.Tier, r.Stream, n, len(r.Tools))
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
