package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/adapters/redislimit/redistest"
	"github.com/genzai/genzai/app"
)

// benchAnswerTokens is the length of the answers in the benchmarks.
const benchAnswerTokens = 50

// benchPrompt is a typical short question.
const benchPrompt = "Explain in two short paragraphs how a circuit breaker protects a service " +
	"that calls a flaky upstream API, and when it should let a trial request through."

// benchGateway is one gateway over real stores, served by httptest, whose
// upstreams answer instantly; ns/op is then the gateway's own cost plus two
// loopback HTTP exchanges.
type benchGateway struct {
	url   string
	token string
	http  *http.Client
}

// newBenchApp builds a gateway for a benchmark over fake upstreams whose
// Groq answers at once with a pre-rendered answer of benchAnswerTokens
// tokens, on the database dbURL, with vars added to (or overriding) the
// benchmarks' settings: limits high enough never to refuse, logs JSON at
// info level into io.Discard, as production writes them.
func newBenchApp(b *testing.B, dbURL string, vars map[string]string) *app.App {
	b.Helper()
	up := upstreams{groq: fakeupstream.New(b), openrouter: fakeupstream.New(b), huggingface: fakeupstream.New(b)}
	return newBenchAppOn(b, dbURL, vars, up)
}

// newBenchAppOn is newBenchApp over the given upstreams, whose Groq
// default answer a caller may replace afterwards.
func newBenchAppOn(b *testing.B, dbURL string, vars map[string]string, up upstreams) *app.App {
	b.Helper()
	// The fake's default behaviour encodes every chunk from maps; a
	// pre-rendered answer keeps the fake's own cost out of the profile.
	stream, completion := groqAnswer(benchAnswerTokens)
	up.groq.Default(fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "text/event-stream" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(completion)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for _, ev := range stream {
			// One write and flush per event, as an upstream producing tokens does.
			if _, err := w.Write(ev); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}))
	base := map[string]string{
		"DATABASE_URL":               dbURL,
		"JWT_SECRET":                 "bench-secret-0123456789abcdef-0123456789",
		"LOG_LEVEL":                  "INFO",
		"USER_DAILY_QUOTA":           "1000000",
		"RATE_LIMIT_PER_MINUTE":      "10000000",
		"AUTH_RATE_LIMIT_PER_MINUTE": "10000000",
		"GROQ_RPM_PER_KEY":           "0",
		// One user sends the parallel load.
		"MAX_CONCURRENT_REQUESTS_PER_USER": "0",
	}
	maps.Copy(base, vars)
	all := up.vars(base)
	explicitDefaults(all)
	cfg, err := app.LoadConfig(func(k string) string { return all[k] })
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(context.Background(), cfg, logger, app.Options{PasswordParams: &cheapHash})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	return a
}

// newBenchGateway is newBenchApp served by httptest, with a logged-in
// user. It runs on PostgreSQL when TEST_DATABASE_URL is set (or a
// database is required), else on SQLite. Responses are not validated
// against the spec (that would dominate the profile).
func newBenchGateway(b *testing.B) *benchGateway {
	b.Helper()
	dbURL := "sqlite:///" + filepath.Join(b.TempDir(), "genzai.db")
	if os.Getenv("TEST_DATABASE_URL") != "" || pgtest.Required() {
		dbURL = pgtest.NewURL(b)
	}
	a := newBenchApp(b, dbURL, nil)
	srv := httptest.NewServer(a.Handler)
	b.Cleanup(srv.Close)

	g := &benchGateway{url: srv.URL, http: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}}
	b.Cleanup(g.http.CloseIdleConnections)
	creds := fmt.Sprintf(`{"email":"ada@example.com","password":%q}`, pw)
	if status, body := g.post("/api/v1/auth/register", creds, ""); status != http.StatusCreated {
		b.Fatalf("register: %d %s", status, body)
	}
	status, body := g.post("/api/v1/auth/login", creds, "")
	if status != http.StatusOK {
		b.Fatalf("login: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		b.Fatal(err)
	}
	g.token = tok.AccessToken
	return g
}

// post sends a JSON body and returns the status and the whole answer.
func (g *benchGateway) post(path, body, token string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, g.url+path, strings.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := g.http.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return res.StatusCode, raw
}

// chat asks once and checks the answer is whole.
func (g *benchGateway) chat(stream bool) error {
	body := fmt.Sprintf(`{"prompt":%q,"model":"fast","stream":%t}`, benchPrompt, stream)
	status, raw := g.post("/api/v1/chat", body, g.token)
	if status != http.StatusOK {
		return fmt.Errorf("chat: %d %s", status, raw)
	}
	want := []byte(`"finish_reason":"stop"`)
	if stream {
		want = []byte("event: done\n")
	}
	if !bytes.Contains(raw, want) {
		return fmt.Errorf("chat: incomplete answer %s", raw)
	}
	return nil
}

// groqAnswer renders an answer of n tokens the way Groq sends it: as SSE
// events (role chunk, n content chunks, finish chunk, usage chunk, [DONE])
// and as one non-streamed completion.
func groqAnswer(n int) (events [][]byte, completion []byte) {
	const head = `{"id":"chatcmpl-5f0c9a2e-4b1d-4c8a-9e3f-7d2b6a1c0e94","object":"chat.completion.chunk","created":1733011200,"model":"llama-3.1-8b-instant","system_fingerprint":"fp_9cb648b966",`
	const usage = `"usage":{"queue_time":0.017,"prompt_tokens":42,"prompt_time":0.004,"completion_tokens":50,"completion_time":0.062,"total_tokens":92,"total_time":0.066}`
	words := strings.Fields(benchPrompt)
	event := func(rest string) { events = append(events, []byte("data: "+head+rest+"\n\n")) }
	event(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01jdy8kq3xf2s9v7w6t5r4e3d2"}}`)
	var content strings.Builder
	for i := range n {
		w := " " + words[i%len(words)]
		content.WriteString(w)
		event(fmt.Sprintf(`"choices":[{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":null}]}`, w))
	}
	event(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_01jdy8kq3xf2s9v7w6t5r4e3d2",` + usage + `}}`)
	event(`"choices":[],` + usage + `}`)
	events = append(events, []byte("data: [DONE]\n\n"))
	completion = fmt.Appendf(nil, `{"id":"chatcmpl-5f0c9a2e","object":"chat.completion","created":1733011200,"model":"llama-3.1-8b-instant",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"logprobs":null,"finish_reason":"stop"}],%s,"system_fingerprint":"fp_9cb648b966"}`,
		content.String(), usage)
	return events, completion
}

// BenchmarkChat is the whole handler path of POST /api/v1/chat in process:
// client, edge middleware, authentication (token and account), quota,
// routing, the upstream exchange, the answer (JSON or 50 SSE token events)
// and the request log. "sequential" is one client's latency, "parallel"
// the throughput of 4 clients per CPU.
func BenchmarkChat(b *testing.B) {
	g := newBenchGateway(b)
	for _, stream := range []bool{false, true} {
		name := "json"
		if stream {
			name = "stream"
		}
		b.Run(name+"/sequential", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := g.chat(stream); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := g.chat(stream); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// chatPath is a gateway whose handler a benchmark calls directly, without
// a socket between client and gateway, with a user's token and API key.
type chatPath struct {
	handler      http.Handler
	token, key   string
	native, open []byte // the request bodies, as cmd/genzai-bench sends them
}

// newChatPath builds the production configuration (ENV=production: JSON
// logs, metrics). With TEST_DATABASE_URL (or a database required) it runs
// as cmd/genzai-bench's gateway with --redis-url does, on PostgreSQL with
// Redis: accounts cached, the quota counted in Redis. Otherwise it runs on
// SQLite, where the quota is counted in process (and the account read from
// the file).
func newChatPath(b *testing.B) *chatPath {
	b.Helper()
	vars := map[string]string{"ENV": "production", "AUTH_ALLOW_EMAIL_LOGIN": ""}
	dbURL := "sqlite:///" + filepath.Join(b.TempDir(), "genzai.db")
	if os.Getenv("TEST_DATABASE_URL") != "" || pgtest.Required() {
		dbURL = pgtest.NewURL(b)
		vars["REDIS_URL"] = redistest.NewURL(b)
		vars["DATABASE_POOL_SIZE"], vars["DATABASE_POOL_MAX_OVERFLOW"] = "2", "2"
	}
	a := newBenchApp(b, dbURL, vars)
	p := &chatPath{handler: a.Handler,
		native: fmt.Appendf(nil, `{"prompt":%q,"stream":false,"model":"fast"}`, benchPrompt),
		open:   fmt.Appendf(nil, `{"messages":[{"content":%q,"role":"user"}],"model":"fast","stream":false}`, benchPrompt),
	}
	creds := fmt.Sprintf(`{"email":"ada@example.com","password":%q}`, pw)
	if rec := p.serve("/api/v1/auth/register", []byte(creds), ""); rec.Code != http.StatusCreated {
		b.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		Key         string `json:"key"`
	}
	rec := p.serve("/api/v1/auth/login", []byte(creds), "")
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	p.token = out.AccessToken
	rec = p.serve("/api/v1/keys", []byte(`{"name":"bench"}`), p.token)
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		b.Fatalf("create key: %d %s", rec.Code, rec.Body)
	}
	p.key = out.Key
	return p
}

// serve posts body to path with a bearer credential and returns the answer.
func (p *chatPath) serve(path string, body []byte, bearer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Host, req.RemoteAddr = "127.0.0.1", "127.0.0.2:40000"
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	p.handler.ServeHTTP(rec, req)
	return rec
}

// BenchmarkChatPath is one non-streamed chat through the whole gateway
// handler, called in process: "native" is POST /api/v1/chat with an access
// token, "openai" POST /v1/chat/completions with an API key, both the
// bodies cmd/genzai-bench's nonstream scenario sends. It is the instrument
// for the gateway's CPU and allocations per request (issue 22): compare
// runs with benchstat (go test -run '^$' -bench BenchmarkChatPath -count 8
// -benchmem ./app/). cpu-ns/op is the process's CPU time (user and
// system, every goroutine: the gateway, its background work, the fake
// upstream and this client) per request, which ns/op, a wall time, is not
// when work runs beside the loop or a request waits for Redis.
func BenchmarkChatPath(b *testing.B) {
	p := newChatPath(b)
	for _, tc := range []struct {
		name, path     string
		body           []byte
		bearer, answer string
	}{
		{"native", "/api/v1/chat", p.native, p.token, `"finish_reason":"stop"`},
		{"openai", "/v1/chat/completions", p.open, p.key, `"finish_reason":"stop"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				rec := p.serve(tc.path, tc.body, tc.bearer)
				if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(tc.answer)) {
					b.Fatalf("%s: %d %s", tc.path, rec.Code, rec.Body)
				}
			}
			if used := processCPU() - cpu; cpu >= 0 {
				b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
