// Package fakeupstream is a fake OpenAI-compatible provider for tests: an
// httptest server speaking the real wire formats of /chat/completions
// (streamed and not) and /models, scripted per API key with a queue of
// behaviours, recording every request and every client that hung up. It
// also speaks image generation as the providers do: Hugging Face's
// inference router (POST /models/{model} with {"inputs", "parameters"}
// answers the image's bytes) and OpenRouter's chat completions with
// "modalities": ["image", "text"] (the images in the message's images
// array, as data URLs); and Groq's voice: POST /audio/transcriptions (a
// multipart form, answered with Whisper's JSON) and POST /audio/speech
// (answered with the audio's bytes).
package fakeupstream

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultModel is the model id /models lists unless told otherwise.
const DefaultModel = "fake-model"

// Message is one message of a recorded request.
type Message struct {
	Role string
	// Content is "" when it was null or absent.
	Content string
	// ToolCalls are an assistant message's tool_calls (nil when absent).
	ToolCalls []ToolCall
	// ToolCallID is a tool message's tool_call_id.
	ToolCallID string
}

// ToolCall is a function call: one a recorded assistant message carries,
// or one ToolCalls answers with.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Tool is one function of a recorded request's tools.
type Tool struct {
	// Type is the tool's type, "function" for every tool genzai sends.
	Type        string
	Name        string
	Description string
	Parameters  json.RawMessage
	Strict      *bool
}

// Request is what the server recorded of one request.
type Request struct {
	// Key is the bearer key of the Authorization header ("" when absent).
	Key    string
	Method string
	Path   string
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Fields holds the top-level members of a JSON body, to check which
	// were sent at all.
	Fields map[string]json.RawMessage

	Model        string
	Messages     []Message
	Stream       bool
	IncludeUsage bool
	Temperature  *float64
	MaxTokens    *int
	TopP         *float64
	Stop         []string
	// Tools are the functions offered (nil when absent).
	Tools []Tool
	// ToolChoice is the tool_choice member as sent (nil when absent).
	ToolChoice json.RawMessage
	// Modalities is the modalities member (OpenRouter's image generation).
	Modalities []string
	// Inputs and Parameters are a text-to-image request's members (Hugging
	// Face's inference router; Model is then the path's model).
	Inputs     string
	Parameters json.RawMessage
	// Form holds a multipart body's fields (a transcription's model,
	// language, prompt and response_format; Model is then the form's);
	// nil for other bodies.
	Form map[string]string
	// File, FileName and FileType are a multipart body's file part: its
	// bytes, its name and its Content-Type.
	File     []byte
	FileName string
	FileType string
	// Input, Voice and ResponseFormat are a speech request's members.
	Input          string
	Voice          string
	ResponseFormat string

	// Cancelled: the server saw the client go away before it finished answering.
	Cancelled bool
}

// Server is the fake upstream; its base URL is URL().
type Server struct {
	hs *httptest.Server

	mu        sync.Mutex
	scripts   map[string][]Behaviour
	def       Behaviour
	requests  []*Request
	cancelled int
	changed   chan struct{} // closed and replaced whenever a request or a cancellation is recorded

	quit      chan struct{}
	closeOnce sync.Once
}

// New starts a Server that answers every key with OK(Tokens(3)...) until
// scripted; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		scripts: map[string][]Behaviour{},
		def:     OK(Tokens(3)...),
		changed: make(chan struct{}),
		quit:    make(chan struct{}),
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

// URL is the server's base URL; clients append /chat/completions and /models
// (any path prefix, such as /v1, is accepted).
func (s *Server) URL() string { return s.hs.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Close stops the server, releasing hanging handlers; safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// Script makes the next requests with key answer with behaviours in turn;
// the last one repeats once the queue runs out. It replaces any earlier
// script of key; no behaviours removes it.
func (s *Server) Script(key string, behaviours ...Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(behaviours) == 0 {
		delete(s.scripts, key)
		return
	}
	s.scripts[key] = append([]Behaviour(nil), behaviours...)
}

// Default sets how keys without a script are answered.
func (s *Server) Default(b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = b
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// Count is how many requests came with key.
func (s *Server) Count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Key == key {
			n++
		}
	}
	return n
}

// Cancelled is how many requests the client abandoned while the server was
// still answering.
func (s *Server) Cancelled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

// WaitCancelled waits until Cancelled() >= n, failing the test after
// timeout; call it from the test's goroutine.
func (s *Server) WaitCancelled(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	if !s.wait(func() bool { return s.cancelled >= n }, timeout) {
		t.Fatalf("fakeupstream: %d cancelled requests after %s, want %d", s.Cancelled(), timeout, n)
	}
}

// WaitRequests waits until at least n requests arrived, failing the test
// after timeout; call it from the test's goroutine.
func (s *Server) WaitRequests(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	if !s.wait(func() bool { return len(s.requests) >= n }, timeout) {
		t.Fatalf("fakeupstream: %d requests after %s, want %d", len(s.Requests()), timeout, n)
	}
}

// wait polls cond (called with s.mu held) on every change, up to timeout.
func (s *Server) wait(cond func() bool, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// notify wakes waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// next pops the behaviour for key; s.mu must be held.
func (s *Server) next(key string) Behaviour {
	q, ok := s.scripts[key]
	if !ok {
		return s.def
	}
	b := q[0]
	if len(q) > 1 {
		s.scripts[key] = q[1:]
	}
	return b
}

func (s *Server) markCancelled(rec *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !rec.Cancelled {
		rec.Cancelled = true
		s.cancelled++
		s.notify()
	}
}

// endpoint is what a request asks for.
type endpoint int

const (
	endpointChat endpoint = iota
	endpointModels
	// endpointImage is Hugging Face's text-to-image call.
	endpointImage
	// endpointTranscription and endpointSpeech are Groq's audio calls.
	endpointTranscription
	endpointSpeech
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	rec := record(r, body)

	s.mu.Lock()
	s.requests = append(s.requests, rec)
	var b Behaviour
	if rec.Key != "" {
		b = s.next(rec.Key)
	}
	s.notify()
	s.mu.Unlock()
	for b.kind == kindPick {
		// Outside the lock: pick may take its time. The copy is safe to
		// read, since nothing changes rec before the answer starts.
		b = b.pick(*rec)
	}

	var ep endpoint
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		ep = endpointChat
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/audio/transcriptions"):
		ep = endpointTranscription
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/audio/speech"):
		ep = endpointSpeech
	case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/models/"):
		ep = endpointImage
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		ep = endpointModels
	default:
		writeJSON(w, http.StatusNotFound, nil, errorJSON("fakeupstream: no route "+r.Method+" "+r.URL.Path, "not_found", 0))
		return
	}
	if rec.Key == "" {
		writeJSON(w, http.StatusUnauthorized, nil, errorJSON("Missing API key", "invalid_api_key", 0))
		return
	}
	c := &call{s: s, w: w, r: r, rec: rec, b: b, ep: ep}
	c.serve()
}

// record decodes what the server needs to remember of r.
func record(r *http.Request, body []byte) *Request {
	rec := &Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		rec.Key = k
	}
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		recordForm(rec, body, params["boundary"])
		return rec
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		rec.Fields = fields
	}
	var cr struct {
		Model         string        `json:"model"`
		Messages      []wireMessage `json:"messages"`
		Stream        bool          `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Temperature *float64 `json:"temperature"`
		MaxTokens   *int     `json:"max_tokens"`
		TopP        *float64 `json:"top_p"`
		Stop        []string `json:"stop"`
		Tools       []struct {
			Type     string `json:"type"`
			Function struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
				Strict      *bool           `json:"strict"`
			} `json:"function"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"tool_choice"`
		Modalities []string        `json:"modalities"`
		Inputs     string          `json:"inputs"`
		Parameters json.RawMessage `json:"parameters"`
		Input      string          `json:"input"`
		Voice      string          `json:"voice"`
		// Format is a string in speech, an object in chat completions.
		Format json.RawMessage `json:"response_format"`
	}
	if json.Unmarshal(body, &cr) != nil {
		return rec
	}
	rec.Model, rec.Stream = cr.Model, cr.Stream
	rec.Modalities, rec.Inputs, rec.Parameters = cr.Modalities, cr.Inputs, cr.Parameters
	rec.Input, rec.Voice = cr.Input, cr.Voice
	_ = json.Unmarshal(cr.Format, &rec.ResponseFormat) // left empty unless a string
	if _, model, ok := strings.Cut(r.URL.Path, "/models/"); ok && r.Method == http.MethodPost {
		rec.Model = model
	}
	rec.IncludeUsage = cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage
	rec.Temperature, rec.MaxTokens, rec.TopP, rec.Stop = cr.Temperature, cr.MaxTokens, cr.TopP, cr.Stop
	rec.ToolChoice = cr.ToolChoice
	if cr.Messages != nil {
		rec.Messages = make([]Message, len(cr.Messages))
		for i, m := range cr.Messages {
			rec.Messages[i] = Message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
			for _, tc := range m.ToolCalls {
				rec.Messages[i].ToolCalls = append(rec.Messages[i].ToolCalls,
					ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
		}
	}
	for _, t := range cr.Tools {
		f := t.Function
		rec.Tools = append(rec.Tools, Tool{Type: t.Type, Name: f.Name, Description: f.Description, Parameters: f.Parameters, Strict: f.Strict})
	}
	return rec
}

// wireMessage is a message as the OpenAI API sends it.
type wireMessage struct {
	Role      string `json:"role"`
	Content   string `json:"content"`
	ToolCalls []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolCallID string `json:"tool_call_id"`
}

// errorJSON is an OpenAI-style error object; code 0 is left out.
func errorJSON(message, typ string, code int) []byte {
	e := map[string]any{"message": message}
	if typ != "" {
		e["type"] = typ
	}
	if code != 0 {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func writeJSON(w http.ResponseWriter, status int, extra http.Header, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	for k, vs := range extra {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Tokens returns n distinct tokens, "tok1 " to "tokn ".
func Tokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "tok" + strconv.Itoa(i+1) + " "
	}
	return out
}

// promptWords counts the words of a request's messages, the fake prompt usage.
func promptWords(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += len(strings.Fields(m.Content))
	}
	return n
}

// secs formats d as (possibly fractional) seconds.
func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// must panics on a programming error in this package.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("fakeupstream: %v", err))
	}
}
