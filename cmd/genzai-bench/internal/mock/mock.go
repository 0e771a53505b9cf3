// Package mock is an OpenAI-compatible chat completions upstream with a
// configurable shape: latency and size of plain answers, time to first
// token, token count and token interval of streamed ones. The gateway and
// the load generator both talk to it, so that what it costs is the same on
// either path.
package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Profile shapes the mock's answers. One shape serves both encodings:
// a streamed answer sends its first token after TTFT and the others
// Interval apart; a plain (non-streamed) answer comes whole when the
// stream's last token would have, after TTFT + (Tokens-1)*Interval. The
// gateway always streams from its upstream, even for a plain chat, so
// this keeps the upstream's part equal on the direct and gateway paths.
type Profile struct {
	// TTFT is the wait before the first token (with Interval 0, the
	// latency of the whole answer).
	TTFT time.Duration
	// Tokens is the number of tokens of an answer.
	Tokens int
	// Interval is the time between two tokens.
	Interval time.Duration
}

// Latency is the time a plain answer takes.
func (p Profile) Latency() time.Duration {
	return p.TTFT + time.Duration(max(p.Tokens-1, 0))*p.Interval
}

// MarshalJSON writes durations in milliseconds.
func (p Profile) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return json.Marshal(struct {
		TTFT     float64 `json:"ttft_ms"`
		Tokens   int     `json:"tokens"`
		Interval float64 `json:"interval_ms"`
	}{ms(p.TTFT), p.Tokens, ms(p.Interval)})
}

// String describes p for people.
func (p Profile) String() string {
	if p.Interval == 0 {
		return fmt.Sprintf("%d tokens after %v, at once", p.Tokens, p.TTFT)
	}
	return fmt.Sprintf("%d tokens, the first after %v, then every %v", p.Tokens, p.TTFT, p.Interval)
}

// token is the text of every token the mock sends.
const token = "tok "

// compiled is a Profile with its answers prebuilt, so that the mock spends
// as little CPU as possible per request.
type compiled struct {
	Profile
	completion []byte // the whole non-streamed answer
	role       []byte // the opening chunk of a stream
	chunk      []byte // one token chunk
	finish     []byte // finish reason, usage and [DONE]
	burst      []byte // all token chunks and finish, when Interval is 0
}

func compile(p Profile) *compiled {
	c := &compiled{Profile: p}
	c.completion = fmt.Appendf(nil, `{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":8,"completion_tokens":%d,"total_tokens":%d}}`,
		strings.Repeat(token, p.Tokens), p.Tokens, p.Tokens+8)
	c.role = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench",` +
		`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	c.chunk = fmt.Appendf(nil, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench",`+
		`"choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`+"\n\n", token)
	c.finish = fmt.Appendf(nil, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench",`+
		`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+
		`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench","choices":[],`+
		`"usage":{"prompt_tokens":8,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n"+
		"data: [DONE]\n\n", p.Tokens, p.Tokens+8)
	if p.Interval == 0 {
		// Every token is due at once: one write, as a server would send a
		// buffered answer.
		c.burst = append(bytes.Repeat(c.chunk, p.Tokens), c.finish...)
	}
	return c
}

// Server is the mock upstream, an http.Handler serving
// POST .../chat/completions and GET .../models under any prefix.
type Server struct {
	profile atomic.Pointer[compiled]

	requests   atomic.Int64
	open       atomic.Int64
	peakOpen   atomic.Int64
	unfinished atomic.Int64
}

// New returns a Server answering with p.
func New(p Profile) *Server {
	s := &Server{}
	s.SetProfile(p)
	return s
}

// SetProfile changes the shape of later answers.
func (s *Server) SetProfile(p Profile) { s.profile.Store(compile(p)) }

// Profile returns the current shape.
func (s *Server) Profile() Profile { return s.profile.Load().Profile }

// Stats are the mock's counters.
type Stats struct {
	// Requests is the number of chat requests received.
	Requests int64
	// PeakOpen is the largest number of answers in progress at once since
	// the last ResetPeak.
	PeakOpen int64
	// Unfinished counts answers the client left before the end.
	Unfinished int64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), PeakOpen: s.peakOpen.Load(), Unfinished: s.unfinished.Load()}
}

// ResetPeak starts a new measurement of PeakOpen.
func (s *Server) ResetPeak() { s.peakOpen.Store(s.open.Load()) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		s.chat(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"bench","object":"model"}]}`)
	default:
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
	}
}

// chatRequest is the part of a chat completion request the mock reads.
type chatRequest struct {
	Stream bool `json:"stream"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"malformed request","type":"invalid_request_error"}}`)
		return
	}
	s.requests.Add(1)
	open := s.open.Add(1)
	defer s.open.Add(-1)
	for {
		peak := s.peakOpen.Load()
		if open <= peak || s.peakOpen.CompareAndSwap(peak, open) {
			break
		}
	}
	p := s.profile.Load()
	if !req.Stream {
		if !sleep(r, p.Latency()) {
			s.unfinished.Add(1)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(p.completion)
		return
	}
	if !s.stream(w, r, p) {
		s.unfinished.Add(1)
	}
}

// stream writes a streamed answer, each token at its scheduled time
// (start + TTFT + i*Interval) so that delays do not accumulate. It reports
// whether the answer was written to the end.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, p *compiled) bool {
	start := time.Now()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(p.role); err != nil {
		return false
	}
	if err := rc.Flush(); err != nil {
		return false
	}
	if p.burst != nil {
		if !sleep(r, p.TTFT) {
			return false
		}
		if _, err := w.Write(p.burst); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range p.Tokens {
		due := start.Add(p.TTFT + time.Duration(i)*p.Interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return false
			}
		}
		if _, err := w.Write(p.chunk); err != nil {
			return false
		}
		if err := rc.Flush(); err != nil {
			return false
		}
	}
	if _, err := w.Write(p.finish); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// sleep waits d or until the request ends; it reports whether d passed.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
