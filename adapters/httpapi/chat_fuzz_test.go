package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/httpapi"
	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/apikeys"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/domain/login"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// fuzzLimits are small, so that short fuzzed bodies reach every bound.
var fuzzLimits = chat.Limits{MaxPromptChars: 40, MaxMessages: 3, MaxTotalChars: 100, MaxTokens: 64}

// fuzzMaxBody is the server's body limit.
const fuzzMaxBody = 1 << 20

// fuzzModels are the upstream models of the tiers, so that what reaches
// the provider tells which tier a request chose.
var fuzzModels = map[domain.Tier]string{
	domain.TierFast: "model-fast", domain.TierBalanced: "model-balanced", domain.TierSmart: "model-smart",
}

// fuzzServer is the HTTP API over in-memory stores and a provider that
// records what it is asked, with one user and a valid token of theirs.
type fuzzServer struct {
	handler  http.Handler
	token    string
	provider *recordingProvider
	problems *problemLog
	// user holds token; apiKeys makes personal API keys for them.
	user    domain.User
	apiKeys *apikeys.Service
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	ctx := context.Background()
	store := memory.NewStore()
	clock := memory.NewClock(time.Now())
	issuer := jwt.New([]byte("fuzz-secret-0123456789abcdef-0123456789"), "genzai-fuzz")
	u, err := store.CreateUser(ctx, domain.NewUser{Email: "fuzz@example.com"})
	require.NoError(tb, err)
	now := time.Now()
	token, err := issuer.Issue(domain.TokenClaims{UserID: u.ID, Email: u.Email, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	require.NoError(tb, err)

	provider := &recordingProvider{}
	chains := map[domain.Tier][]routing.Route{}
	for tier, model := range fuzzModels {
		chains[tier] = []routing.Route{{Provider: provider.Name(), Model: model}}
	}
	q := quota.New(store, clock, math.MaxInt32)
	router := routing.New(routing.Config{
		Providers: []routing.ProviderConfig{{Client: provider}},
		Chains:    chains, FirstTokenTimeout: 10 * time.Second, RequestTimeout: 10 * time.Second,
		BreakerFailures: 1000, BreakerCoolOff: time.Second,
	}, clock, slog.New(slog.DiscardHandler))
	cs := chat.New(chat.Config{Limits: fuzzLimits}, router, q, nil, clock, slog.New(slog.DiscardHandler))
	// Authenticate never hashes a password: no hasher.
	ls := login.New(store, nil, issuer, clock, login.Config{TokenTTL: time.Hour, Emails: email.New(idn.Lookup{})})
	keys := apikeys.New(store, clock, nil, apikeys.Config{MaxPerUser: 10})
	problems := &problemLog{}
	srv, err := httpapi.New(httpapi.Config{
		Environment: "development", MaxBodyBytes: fuzzMaxBody, ReadyTimeout: time.Second, SSEKeepAlive: time.Minute,
	}, httpapi.Deps{Login: ls, Quota: q, Chat: cs, APIKeys: keys}, slog.New(problems))
	require.NoError(tb, err)
	return &fuzzServer{handler: srv, token: token, provider: provider, problems: problems, user: u, apiKeys: keys}
}

// do sends one request and returns the answer.
func (s *fuzzServer) do(method, path, auth string, body []byte) *httptest.ResponseRecorder {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

// recordingProvider answers every request with "ok" and records it.
type recordingProvider struct {
	mu   sync.Mutex
	reqs []domain.CompletionRequest
}

var _ ports.ChatProvider = (*recordingProvider)(nil)

func (p *recordingProvider) Name() domain.Provider { return "fuzz" }
func (p *recordingProvider) KeyCount() int         { return 1 }

func (p *recordingProvider) StreamChat(_ context.Context, _ int, req domain.CompletionRequest) (ports.ChatStream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, req)
	return &okStream{}, nil
}

// take returns the requests recorded since the last call.
func (p *recordingProvider) take() []domain.CompletionRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.reqs
	p.reqs = nil
	return r
}

// okStream is the answer "ok".
type okStream struct{ n int }

func (s *okStream) Recv() (domain.ChatDelta, error) {
	s.n++
	switch s.n {
	case 1:
		return domain.ChatDelta{Content: "ok"}, nil
	case 2:
		return domain.ChatDelta{FinishReason: "stop", Usage: &domain.Usage{PromptTokens: 1, CompletionTokens: 1}}, nil
	}
	return domain.ChatDelta{}, io.EOF
}

func (s *okStream) Close() error { return nil }

// problemLog is a slog handler that keeps the messages of warnings and
// errors (a recovered panic, an internal error, an error after the answer
// began), which a well-formed or refused request must never cause.
type problemLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *problemLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelWarn }
func (l *problemLog) WithAttrs([]slog.Attr) slog.Handler             { return l }
func (l *problemLog) WithGroup(string) slog.Handler                  { return l }
func (l *problemLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
	return nil
}

func (l *problemLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// chatSeeds are request bodies at and around every limit of fuzzLimits.
var chatSeeds = []string{
	`{"prompt":"Explain SSE in one sentence."}`,
	`{"prompt":"hi","stream":false}`,
	`{"prompt":"And in French?","model":"balanced","stream":false,"system":"Be concise.","messages":[{"role":"user","content":"Explain SSE."},{"role":"assistant","content":"Server push."}],"temperature":0.7,"max_tokens":64}`,
	`{"prompt":"x","model":"smart","web_search":false,"temperature":2,"max_tokens":1}`,
	`{"prompt":"` + strings.Repeat("é", 40) + `","stream":false}`,
	`{"prompt":"` + strings.Repeat("é", 41) + `"}`,
	`{"prompt":"x","system":"` + strings.Repeat("s", 41) + `"}`,
	`{"prompt":"x","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"},{"role":"user","content":"d"}]}`,
	`{"prompt":"` + strings.Repeat("p", 40) + `","system":"` + strings.Repeat("s", 40) + `","messages":[{"role":"user","content":"` + strings.Repeat("m", 21) + `"}]}`,
	`{"prompt":"x","messages":[{"role":"tool","content":"a"}]}`,
	`{"prompt":"x","messages":[{"role":"user","content":""}]}`,
	`{"prompt":"x","messages":[{"role":"user"}]}`,
	`{"prompt":"x","temperature":-0.0001}`,
	`{"prompt":"x","temperature":2.0001}`,
	`{"prompt":"x","max_tokens":0}`,
	`{"prompt":"x","max_tokens":65}`,
	`{"prompt":"x","max_tokens":1.5}`,
	`{"prompt":"x","temperature":1e400}`,
	`{"prompt":"x","model":"fastest"}`,
	`{"prompt":"x","model":""}`,
	`{"prompt":"x","model":null,"stream":null,"messages":null}`,
	`{"prompt":""}`,
	`{"prompt":"   "}`,
	`{"prompt":" \t\n\u00a0\u3000 "}`,
	`{"prompt":" x "}`,
	`{"prompt":"x","messages":[{"role":"user","content":" \n "}]}`,
	`{"prompt":null}`,
	`{"PROMPT":"case-insensitive keys","Stream":false}`,
	`{"prompt":"a","prompt":""}`,
	`{"prompt":"x"} trailing`,
	"{\"prompt\":\"bad \xff utf-8\"}",
	`{"prompt":"\ud800 lone surrogate"}`,
	`{"prompt":["x"]}`,
	`{"prompt":"x","messages":{}}`,
	`[]`, `null`, `{`, ``,
}

// FuzzChatRequest posts fuzzed bodies to POST /api/v1/chat through the
// whole handler: Echo's JSON binding, the conversion to a chat.Request and
// the chat use case's validation. No body may cause a 5xx, a panic or a
// logged error. The expected outcome is computed independently from the
// documented contract (the body one JSON value with nothing after it,
// decoded as encoding/json decodes it, then the limits): a valid request is
// answered 200 and reaches the provider exactly as sent; anything else is a 400 invalid_request that reaches no
// provider, and so is a body that is not UTF-8 or whose texts hold control
// characters.
func FuzzChatRequest(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxBody {
			t.Skip("over the body limit: a 413, not a decoding matter")
		}
		rec := s.do(http.MethodPost, "/api/v1/chat", "Bearer "+s.token, body)
		sent := s.provider.take()
		require.Empty(t, s.problems.take(), "status %d", rec.Code)
		want, valid := expectedCompletion(body)
		if controlText(body) {
			// Bodies that are not UTF-8 and text with control characters are
			// refused (see TestAttackBodies in app).
			valid = false
		}
		if !valid {
			require.Equal(t, http.StatusBadRequest, rec.Code, "invalid body accepted: %s", rec.Body)
			var e struct{ Code string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.Equal(t, "invalid_request", e.Code)
			assert.Empty(t, sent, "an invalid request reached the provider")
			return
		}
		require.Equal(t, http.StatusOK, rec.Code, "valid body refused: %s", rec.Body)
		require.Len(t, sent, 1)
		assert.Equal(t, want, sent[0])
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
			assert.Contains(t, rec.Body.String(), "event: done\n")
		} else {
			var reply api.ChatReply
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &reply))
			assert.Equal(t, "ok", reply.Content)
		}
	})
}

// expectedCompletion is what the provider must receive for body, and
// whether body is a valid chat request at all, by the spec of ChatRequest
// and fuzzLimits.
func expectedCompletion(body []byte) (domain.CompletionRequest, bool) {
	var b api.ChatRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return domain.CompletionRequest{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.CompletionRequest{}, false // data after the value (issue 20)
	}
	tier := domain.TierFast
	// An empty model means the default tier, as the spec's enum and
	// description of ChatRequest.model say.
	if b.Model != nil && *b.Model != "" {
		tier = domain.Tier(*b.Model)
	}
	model, ok := fuzzModels[tier]
	if !ok {
		return domain.CompletionRequest{}, false
	}
	system := ""
	if b.System != nil {
		system = *b.System
	}
	prompt := utf8.RuneCountInString(b.Prompt)
	total := prompt + utf8.RuneCountInString(system)
	// A prompt of white space is no prompt, as an empty one (issue 21).
	if strings.TrimSpace(b.Prompt) == "" || prompt > fuzzLimits.MaxPromptChars || utf8.RuneCountInString(system) > fuzzLimits.MaxPromptChars {
		return domain.CompletionRequest{}, false
	}
	want := domain.CompletionRequest{Model: model, Temperature: b.Temperature, MaxTokens: b.MaxTokens}
	if b.Stream != nil && !*b.Stream {
		// A client that wants one JSON answer: the provider is asked for it whole.
		want.Delivery = domain.DeliveryWhole
	}
	if system != "" {
		want.Messages = append(want.Messages, domain.Message{Role: domain.RoleSystem, Content: system})
	}
	if b.Messages != nil {
		if len(*b.Messages) > fuzzLimits.MaxMessages {
			return domain.CompletionRequest{}, false
		}
		for _, m := range *b.Messages {
			switch m.Role {
			case "user", "assistant", "system":
			default:
				return domain.CompletionRequest{}, false
			}
			n := utf8.RuneCountInString(m.Content)
			if strings.TrimSpace(m.Content) == "" {
				return domain.CompletionRequest{}, false
			}
			total += n
			want.Messages = append(want.Messages, domain.Message{Role: string(m.Role), Content: m.Content})
		}
	}
	if total > fuzzLimits.MaxTotalChars {
		return domain.CompletionRequest{}, false
	}
	if t := b.Temperature; t != nil && (*t < 0 || *t > 2) {
		return domain.CompletionRequest{}, false
	}
	if m := b.MaxTokens; m != nil && (*m < 1 || *m > fuzzLimits.MaxTokens) {
		return domain.CompletionRequest{}, false
	}
	want.Messages = append(want.Messages, domain.Message{Role: domain.RoleUser, Content: b.Prompt})
	return want, true
}

// controlText reports whether body is not valid UTF-8 or one of its texts
// (prompt, system, message contents) holds a control character other than
// tab, CR and LF.
func controlText(body []byte) bool {
	if !utf8.Valid(body) {
		return true
	}
	var b api.ChatRequest
	if json.NewDecoder(bytes.NewReader(body)).Decode(&b) != nil {
		return false
	}
	texts := []string{b.Prompt}
	if b.System != nil {
		texts = append(texts, *b.System)
	}
	if b.Messages != nil {
		for _, m := range *b.Messages {
			texts = append(texts, m.Content)
		}
	}
	for _, s := range texts {
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) {
			return true
		}
	}
	return false
}
