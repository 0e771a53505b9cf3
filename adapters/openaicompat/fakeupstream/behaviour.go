package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// kind is what a behaviour does.
type kind int

const (
	kindOK kind = iota
	kindStatus
	kindHang
	kindHangAfter
	kindDrop
	kindMidStreamError
	kindHandler
	kindGarbage
	kindPick
)

// Behaviour is how the server answers one request. Build one with a
// constructor (OK, RateLimited, Hang, ...) and refine it with the With
// methods, which return a modified copy.
type Behaviour struct {
	kind   kind
	tokens []string
	calls  []ToolCall
	models []string

	interval  time.Duration
	keepAlive bool
	crlf      bool
	finish    string
	// usage: nil follows the request's stream_options.include_usage.
	usage   *[2]int
	noUsage bool

	status int
	body   func(model string) []byte
	header http.Header

	errData string // the mid-stream error event's data
	handler http.HandlerFunc
	junk    string                  // what Garbage sends in place of the rest of the answer
	pick    func(Request) Behaviour // Pick's choice per request
	// image and imageType are what image requests answer (nil: PNG()).
	image     []byte
	imageType string
	// transcript is what transcription requests answer (nil: the default).
	transcript *transcript
	// audio and audioType are what speech requests answer (nil: the
	// format asked for).
	audio     []byte
	audioType string
}

// OK answers with tokens: streamed as chunks (an opening role chunk, one
// chunk per token, a finish chunk, a usage chunk when the request asked
// for it, then [DONE]), or as one completion when not streamed; on /models
// it lists DefaultModel. Default usage: prompt = words in the messages,
// completion = number of tokens.
func OK(tokens ...string) Behaviour {
	return Behaviour{kind: kindOK, tokens: append([]string(nil), tokens...), finish: "stop"}
}

// ToolCalls answers with calls, in OpenAI's wire format. Streamed: the
// opening role chunk (content null), then per call a chunk with its index,
// id, type "function", name and empty arguments, followed by its arguments
// split in two chunks (at the rune boundary nearest their middle), then the
// finish chunk ("tool_calls"), a usage chunk when the request asked for
// it, and [DONE]. Not streamed: one completion whose message has content
// null and the calls, finish reason "tool_calls". WithTokens adds content
// before the calls (beside them when not streamed). Default usage:
// completion = number of tokens plus one per call. With Pick, a test can
// answer a conversation with calls first and with text once the last
// message is a tool result.
func ToolCalls(calls ...ToolCall) Behaviour {
	return Behaviour{kind: kindOK, calls: append([]ToolCall(nil), calls...), finish: "tool_calls"}
}

// Models answers /models with ids (and chat requests like OK(Tokens(3)...)).
func Models(ids ...string) Behaviour {
	b := OK(Tokens(3)...)
	b.models = append([]string{}, ids...)
	return b
}

// Status answers every endpoint with code and body (Content-Type
// application/json when body starts with '{', else text/plain).
func Status(code int, body string) Behaviour {
	return Behaviour{kind: kindStatus, status: code, body: func(string) []byte { return []byte(body) }}
}

// RateLimited answers 429 with an OpenAI-style error and, when retryAfter >
// 0, a Retry-After header in (possibly fractional) seconds.
func RateLimited(retryAfter time.Duration) Behaviour {
	b := Status(http.StatusTooManyRequests, string(errorJSON("Rate limit reached for model, please try again later", "rate_limit_exceeded", 0)))
	if retryAfter > 0 {
		b = b.WithHeader("Retry-After", secs(retryAfter))
	}
	return b
}

// GroqReset answers 429 without Retry-After but with Groq's
// x-ratelimit-reset-requests and x-ratelimit-reset-tokens headers (each
// left out when empty), such as "2m59.56s" and "7.66s".
func GroqReset(resetRequests, resetTokens string) Behaviour {
	b := Status(http.StatusTooManyRequests, string(errorJSON("Rate limit reached for model on tokens per minute (TPM)", "tokens", 0)))
	if resetRequests != "" {
		b = b.WithHeader("X-Ratelimit-Reset-Requests", resetRequests)
	}
	if resetTokens != "" {
		b = b.WithHeader("X-Ratelimit-Reset-Tokens", resetTokens)
	}
	return b
}

// Unauthorized answers 401 with an "Invalid API Key" error.
func Unauthorized() Behaviour {
	return Status(http.StatusUnauthorized, string(errorJSON("Invalid API Key", "invalid_request_error", 0)))
}

// HFLoading answers like a Hugging Face model that is still loading: 503
// with {"error":"Model <model> is currently loading","estimated_time":<seconds>}.
func HFLoading(estimated time.Duration) Behaviour {
	b := Status(http.StatusServiceUnavailable, "")
	b.body = func(model string) []byte {
		out, _ := json.Marshal(map[string]any{
			"error":          "Model " + model + " is currently loading",
			"estimated_time": estimated.Seconds(),
		})
		return out
	}
	return b
}

// Hang never answers; the handler returns when the client goes away (which
// is recorded as a cancellation) or the server closes.
func Hang() Behaviour { return Behaviour{kind: kindHang} }

// HangAfterTokens streams Tokens(n) (or WithTokens) and then stalls until the client goes away.
func HangAfterTokens(n int) Behaviour {
	b := OK(Tokens(n)...)
	b.kind = kindHangAfter
	return b
}

// DropAfterTokens streams Tokens(n) (or WithTokens) and then closes the
// connection without [DONE] or the end of the chunked body; non-streamed
// requests and /models get the connection closed without an answer.
func DropAfterTokens(n int) Behaviour {
	b := OK(Tokens(n)...)
	b.kind = kindDrop
	return b
}

// MidStreamError streams Tokens(n) and then the event
// data: {"error":{"message":message,"code":code}} (code left out when 0)
// and ends the body. Non-streamed requests and /models get that object
// with status 200.
func MidStreamError(n, code int, message string) Behaviour {
	return MidStreamErrorJSON(n, string(errorJSON(message, "", code)))
}

// MidStreamErrorJSON is MidStreamError with the error event's data given
// verbatim, for provider-specific error objects.
func MidStreamErrorJSON(n int, data string) Behaviour {
	b := OK(Tokens(n)...)
	b.kind = kindMidStreamError
	b.errData = data
	return b
}

// Junk for Garbage: three ways the bytes of an answer can be broken.
const (
	// JunkNotJSON is a well-formed event whose data is not JSON at all.
	JunkNotJSON = "data: upstream says: something went wrong\n\n"
	// JunkTruncatedJSON is a chunk cut off in the middle of its JSON.
	JunkTruncatedJSON = `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tru` + "\n\n"
	// JunkBinary is binary data (gzip magic, NULs, invalid UTF-8), first as
	// an event's data and then as a line that never ends.
	JunkBinary = "data: \x1f\x8b\x08\x00\x00\x00\xff\xfe\x00\x01\n\n\x00\xde\xad\xbe\xef\xc3\x28"
)

// Garbage streams Tokens(n) (or WithTokens), then junk as is (such as
// JunkNotJSON, JunkTruncatedJSON or JunkBinary) in place of the rest of the
// answer, and ends the body without [DONE]. Non-streamed requests and
// /models get junk as a 200 application/json body.
func Garbage(n int, junk string) Behaviour {
	b := OK(Tokens(n)...)
	b.kind = kindGarbage
	b.junk = junk
	return b
}

// Pick answers each request with the behaviour pick returns for it (called
// once per request, possibly concurrently, with a copy of what was
// recorded), so that a test can vary answers per request, say at random.
// When pick returns a Pick, that one is asked in turn.
func Pick(pick func(Request) Behaviour) Behaviour {
	return Behaviour{kind: kindPick, pick: pick}
}

// Handler answers with h; the request is still recorded.
func Handler(h http.HandlerFunc) Behaviour { return Behaviour{kind: kindHandler, handler: h} }

// clone copies b so that the With methods never share the header map.
func (b Behaviour) clone() Behaviour {
	b.header = b.header.Clone()
	b.tokens = append([]string(nil), b.tokens...)
	b.calls = append([]ToolCall(nil), b.calls...)
	return b
}

// WithTokens replaces the tokens streamed.
func (b Behaviour) WithTokens(tokens ...string) Behaviour {
	b = b.clone()
	b.tokens = append([]string(nil), tokens...)
	return b
}

// WithInterval waits d before each token.
func (b Behaviour) WithInterval(d time.Duration) Behaviour {
	b = b.clone()
	b.interval = d
	return b
}

// WithKeepAlive sends a ": keep-alive" comment event before each token.
func (b Behaviour) WithKeepAlive() Behaviour {
	b = b.clone()
	b.keepAlive = true
	return b
}

// WithCRLF ends SSE lines with CRLF instead of LF.
func (b Behaviour) WithCRLF() Behaviour {
	b = b.clone()
	b.crlf = true
	return b
}

// WithFinishReason sets the finish reason sent (default "stop").
func (b Behaviour) WithFinishReason(reason string) Behaviour {
	b = b.clone()
	b.finish = reason
	return b
}

// WithUsage always sends this usage (as a chunk when streamed).
func (b Behaviour) WithUsage(promptTokens, completionTokens int) Behaviour {
	b = b.clone()
	b.usage = &[2]int{promptTokens, completionTokens}
	b.noUsage = false
	return b
}

// WithoutUsage never sends usage, even when the request asks for it.
func (b Behaviour) WithoutUsage() Behaviour {
	b = b.clone()
	b.usage = nil
	b.noUsage = true
	return b
}

// WithHeader adds a response header.
func (b Behaviour) WithHeader(key, value string) Behaviour {
	b = b.clone()
	if b.header == nil {
		b.header = http.Header{}
	}
	b.header.Add(key, value)
	return b
}

// call is one request being answered.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	rec *Request
	b   Behaviour
	ep  endpoint
}

func (c *call) serve() {
	if c.b.finish == "" {
		c.b.finish = "stop" // the zero Behaviour is a plain OK
	}
	b := c.b
	switch b.kind {
	case kindHandler:
		b.handler(c.w, c.r)
	case kindStatus:
		body := b.body(c.rec.Model)
		h := c.w.Header()
		if strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
			h.Set("Content-Type", "application/json")
		} else {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
		for k, vs := range b.header {
			h[k] = vs
		}
		c.w.WriteHeader(b.status)
		_, _ = c.w.Write(body)
	case kindHang:
		c.hang()
	default:
		switch {
		case c.ep == endpointModels:
			c.models()
		case c.ep == endpointImage:
			c.rawImage()
		case c.ep == endpointTranscription:
			c.transcription()
		case c.ep == endpointSpeech:
			c.speech()
		case c.ep == endpointChat && slices.Contains(c.rec.Modalities, "image"):
			c.imageCompletion()
		case c.rec.Stream:
			c.stream()
		default:
			c.complete()
		}
	}
}

// hang blocks until the client leaves or the server closes.
func (c *call) hang() {
	select {
	case <-c.r.Context().Done():
		c.s.markCancelled(c.rec)
	case <-c.s.quit:
	}
}

// sleep waits d; false when the client left or the server closed meanwhile.
func (c *call) sleep(d time.Duration) bool {
	if d <= 0 {
		if c.r.Context().Err() != nil {
			c.s.markCancelled(c.rec)
			return false
		}
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		c.s.markCancelled(c.rec)
		return false
	case <-c.s.quit:
		return false
	}
}

// drop closes the connection under the response, mid-body.
func (c *call) drop() {
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection too
	}
	_ = conn.Close()
}

func (c *call) models() {
	switch c.b.kind {
	case kindHangAfter:
		c.hang()
		return
	case kindDrop:
		c.drop()
		return
	case kindMidStreamError:
		writeJSON(c.w, http.StatusOK, c.b.header, []byte(c.b.errData))
		return
	case kindGarbage:
		writeJSON(c.w, http.StatusOK, c.b.header, []byte(c.b.junk))
		return
	}
	ids := c.b.models
	if ids == nil {
		ids = []string{DefaultModel}
	}
	data := make([]map[string]any, len(ids))
	for i, id := range ids {
		data[i] = map[string]any{"id": id, "object": "model", "created": 0, "owned_by": "fakeupstream"}
	}
	body, err := json.Marshal(map[string]any{"object": "list", "data": data})
	must(err)
	writeJSON(c.w, http.StatusOK, c.b.header, body)
}

// usage is what the answer reports, or nil.
func (c *call) usage(streamed bool) map[string]int {
	b := c.b
	if b.noUsage || (b.usage == nil && streamed && !c.rec.IncludeUsage) {
		return nil
	}
	p, n := promptWords(c.rec.Messages), len(b.tokens)+len(b.calls)
	if b.usage != nil {
		p, n = b.usage[0], b.usage[1]
	}
	return map[string]int{"prompt_tokens": p, "completion_tokens": n, "total_tokens": p + n}
}

func (c *call) complete() {
	b := c.b
	switch b.kind {
	case kindHangAfter:
		c.hang()
		return
	case kindDrop:
		c.drop()
		return
	case kindMidStreamError:
		writeJSON(c.w, http.StatusOK, b.header, []byte(b.errData))
		return
	case kindGarbage:
		writeJSON(c.w, http.StatusOK, b.header, []byte(b.junk))
		return
	}
	// As long as streaming the answer would take.
	if !c.sleep(b.interval * time.Duration(len(b.tokens)+3*len(b.calls))) {
		return
	}
	msg := map[string]any{"role": "assistant", "content": strings.Join(b.tokens, "")}
	if len(b.calls) > 0 {
		if len(b.tokens) == 0 {
			msg["content"] = nil
		}
		calls := make([]any, len(b.calls))
		for i, tc := range b.calls {
			calls[i] = map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}}
		}
		msg["tool_calls"] = calls
	}
	resp := map[string]any{
		"id":      "chatcmpl-fake",
		"object":  "chat.completion",
		"created": 0,
		"model":   c.rec.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       msg,
			"finish_reason": b.finish,
		}},
	}
	if u := c.usage(false); u != nil {
		resp["usage"] = u
	}
	body, err := json.Marshal(resp)
	must(err)
	writeJSON(c.w, http.StatusOK, b.header, body)
}

// stream writes the answer as server-sent events, flushing each one.
func (c *call) stream() {
	b := c.b
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	for k, vs := range b.header {
		h[k] = vs
	}
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	nl := "\n"
	if b.crlf {
		nl = "\r\n"
	}
	send := func(lines ...string) bool {
		var sb strings.Builder
		for _, l := range lines {
			sb.WriteString(l + nl)
		}
		sb.WriteString(nl)
		if _, err := io.WriteString(c.w, sb.String()); err != nil {
			c.gone()
			return false
		}
		if err := rc.Flush(); err != nil {
			c.gone()
			return false
		}
		return true
	}
	chunk := func(delta map[string]any, finish any) string {
		out, err := json.Marshal(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": c.rec.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
		must(err)
		return "data: " + string(out)
	}
	// piece sends one chunk of the answer, after the interval and keep-alive.
	piece := func(delta map[string]any) bool {
		if !c.sleep(b.interval) {
			return false
		}
		if b.keepAlive && !send(": keep-alive") {
			return false
		}
		return send(chunk(delta, nil))
	}
	role := map[string]any{"role": "assistant", "content": ""}
	if len(b.calls) > 0 && len(b.tokens) == 0 {
		role["content"] = nil // as OpenAI opens an answer that is all tool calls
	}
	if !send(chunk(role, nil)) {
		return
	}
	for _, tok := range b.tokens {
		if !piece(map[string]any{"content": tok}) {
			return
		}
	}
	for i, tc := range b.calls {
		head, tail := halves(tc.Arguments)
		deltas := []map[string]any{
			{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}},
			{"index": i, "function": map[string]any{"arguments": head}},
			{"index": i, "function": map[string]any{"arguments": tail}},
		}
		for _, d := range deltas {
			if !piece(map[string]any{"tool_calls": []any{d}}) {
				return
			}
		}
	}
	switch b.kind {
	case kindHangAfter:
		c.hang()
		return
	case kindDrop:
		c.drop()
		return
	case kindMidStreamError:
		send("data: " + b.errData)
		return
	case kindGarbage:
		// As is: no event framing, so that the junk can break it.
		if _, err := io.WriteString(c.w, b.junk); err != nil {
			c.gone()
			return
		}
		if err := rc.Flush(); err != nil {
			c.gone()
		}
		return
	}
	if !send(chunk(map[string]any{}, b.finish)) {
		return
	}
	if u := c.usage(true); u != nil {
		out, err := json.Marshal(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": c.rec.Model,
			"choices": []any{}, "usage": u,
		})
		must(err)
		if !send("data: " + string(out)) {
			return
		}
	}
	send("data: [DONE]")
}

// halves splits s in two at the rune boundary nearest its middle, so that
// neither half holds a broken UTF-8 sequence.
func halves(s string) (string, string) {
	i := len(s) / 2
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], s[i:]
}

// gone records a failed write as a cancellation once the server notices
// the client left (it cancels the request context then).
func (c *call) gone() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.r.Context().Done():
		c.s.markCancelled(c.rec)
	case <-t.C:
	case <-c.s.quit:
	}
}
