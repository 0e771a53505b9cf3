package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// sseWriteTimeout bounds the writes to a client, so that a client that
// stops reading cannot hold a stream (and its upstream request) forever:
// each write has between half of it and all of it (writeLocked).
const sseWriteTimeout = 30 * time.Second

// sseSink writes a chat answer as Server-Sent Events. Headers and the meta
// event go out at Begin; a keep-alive comment follows every keepAlive of
// silence. Writes are serialised because the keep-alive runs from a timer
// (a timer, not a goroutine per stream: tens of thousands of streams may be
// open at once).
type sseSink struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	requestID string
	keepAlive time.Duration
	// metrics, when set, counts the stream as open from Begin; the handler
	// counts it closed.
	metrics Metrics
	// keepAnswer collects the answer in answer (for LOG_PROMPTS).
	keepAnswer bool
	answer     []byte

	mu        sync.Mutex
	begun     bool
	closed    bool
	lastWrite time.Time
	// deadline is the connection's write deadline as last set.
	deadline time.Time
	timer    *time.Timer
}

func newSSESink(w http.ResponseWriter, requestID string, keepAlive time.Duration) *sseSink {
	return &sseSink{w: w, rc: http.NewResponseController(w), requestID: requestID, keepAlive: keepAlive}
}

type sseMeta struct {
	RequestID     string `json:"request_id"`
	Model         string `json:"model"`
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstream_model"`
	WebSearch     string `json:"web_search,omitempty"`
	// WebSearchReason says why web search was unavailable.
	WebSearchReason string        `json:"web_search_reason,omitempty"`
	Sources         *[]api.Source `json:"sources,omitempty"`
	// ConversationID is the conversation the answer is stored in.
	ConversationID string `json:"conversation_id,omitempty"`
	// Cached says the answer is replayed from the response cache.
	Cached bool `json:"cached"`
}

type sseUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type sseDone struct {
	FinishReason string   `json:"finish_reason"`
	Usage        sseUsage `json:"usage"`
}

type sseError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Begin implements chat.Sink: it opens the stream.
func (s *sseSink) Begin(m chat.Meta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Header().Set(cacheHeader, cacheHeaderValue(m.Cache))
	s.openLocked()
	meta := sseMeta{RequestID: s.requestID, Model: string(m.Tier), Provider: string(m.Provider), UpstreamModel: m.UpstreamModel,
		WebSearch: m.WebSearch, WebSearchReason: string(m.WebSearchReason), Sources: toSources(m.Sources),
		ConversationID: string(m.ConversationID), Cached: m.Cache == domain.CacheHit}
	return s.eventLocked("meta", meta)
}

// openLocked sends the status and headers (with those already set on the
// writer) and starts the keep-alives.
func (s *sseSink) openLocked() {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx and Render's proxy must not buffer
	s.w.WriteHeader(http.StatusOK)
	s.begun = true
	if s.metrics != nil {
		s.metrics.StreamOpened()
	}
	if s.keepAlive > 0 {
		s.timer = time.AfterFunc(s.keepAlive, s.keepAliveDue)
	}
}

// Token implements chat.Sink: one default event whose data is the JSON string.
func (s *sseSink) Token(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keepAnswer {
		s.answer = append(s.answer, text...)
	}
	return s.eventLocked("", text)
}

// stream implements eventStream.
func (s *sseSink) stream() *sseSink { return s }

// done ends the stream with the finish reason and usage.
func (s *sseSink) done(r chat.Result) error {
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventLocked("done", sseDone{FinishReason: r.FinishReason, Usage: sseUsage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens}})
}

// fail ends the stream with an error event; it names the domain code
// itself (shutting_down, stream_interrupted, timeout), as the spec's event
// does.
func (s *sseSink) fail(message string, code domain.Code) error {
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventLocked("error", sseError{Error: message, Code: string(code)})
}

// close stops the keep-alives. The handler must not return while the sink
// may still write: a keep-alive in progress holds mu, so once close has
// taken mu none is running and none will start.
func (s *sseSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// keepAliveComment keeps proxies from closing a silent stream.
var keepAliveComment = []byte(": keep-alive\n\n")

// keepAliveDue runs when the stream may have been silent for keepAlive: it
// writes a comment if it was, and sets the timer for the next check.
func (s *sseSink) keepAliveDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	silent := time.Since(s.lastWrite)
	if silent >= s.keepAlive {
		if err := s.writeLocked(keepAliveComment); err != nil {
			return // the client is gone: the stream ends with its next write
		}
		silent = 0
	}
	s.timer.Reset(s.keepAlive - silent)
}

func (s *sseSink) eventLocked(name string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(raw)+len(name)+16)
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "data: "...)
	buf = append(buf, raw...)
	buf = append(buf, "\n\n"...)
	return s.writeLocked(buf)
}

func (s *sseSink) writeLocked(b []byte) error {
	// Moving the deadline per token was 8 % of a stream's CPU in the
	// bench's profile (net/http resets the connection's timer each time):
	// it moves only once half of it has passed.
	if now := time.Now(); now.Add(sseWriteTimeout / 2).After(s.deadline) {
		s.deadline = now.Add(sseWriteTimeout)
		_ = s.rc.SetWriteDeadline(s.deadline) // unsupported by some writers: fine
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.lastWrite = time.Now()
	return s.rc.Flush()
}

// collectSink gathers a whole answer for non-streaming requests.
type collectSink struct {
	meta    chat.Meta
	content []byte
}

func (c *collectSink) Begin(m chat.Meta) error { c.meta = m; return nil }
func (c *collectSink) Token(t string) error    { c.content = append(c.content, t...); return nil }
