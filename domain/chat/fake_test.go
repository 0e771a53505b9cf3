package chat_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// behaviour is the scripted reaction of a fake provider to one StreamChat
// call. The zero value answers with nothing and ends the stream.
type behaviour struct {
	// deltas are sent before the tokens, as they are (tool calls).
	deltas []domain.ChatDelta
	tokens []string
	finish string
	usage  *domain.Usage
	// failFirst makes StreamChat fail before any token.
	failFirst *domain.ProviderError
	// hang makes StreamChat block until its ctx is done.
	hang bool
	// delay is waited before each token (a slow stream).
	delay time.Duration
	// failAfter makes Recv fail with it once the tokens are sent.
	failAfter error
	// hangAfter makes Recv block until ctx is done once the tokens are sent.
	hangAfter bool
	// gate, when set, holds StreamChat until it is closed (or ctx is done).
	gate chan struct{}
	// started, when set, is closed as soon as the call starts.
	started chan struct{}
	// onCall, when set, runs as soon as the call starts (e.g. to let time pass).
	onCall func()
}

func answer(tokens ...string) behaviour { return behaviour{tokens: tokens, finish: "stop"} }

func answerWith(finish string, usage *domain.Usage, tokens ...string) behaviour {
	return behaviour{tokens: tokens, finish: finish, usage: usage}
}

func failWith(pe *domain.ProviderError) behaviour { return behaviour{failFirst: pe} }

func rateLimited(retryAfter time.Duration) behaviour {
	return failWith(&domain.ProviderError{Class: domain.FailureRateLimited, Reason: "rate_limited", Status: 429, RetryAfter: retryAfter})
}

func keyRejected() behaviour {
	return failWith(&domain.ProviderError{Class: domain.FailureKeyRejected, Reason: "key_rejected", Status: 401})
}

func serverError(reason domain.AttemptReason) behaviour {
	return failWith(&domain.ProviderError{Class: domain.FailureRetryable, Reason: reason, Status: 503})
}

func callerError(status int, msg string) behaviour {
	return failWith(&domain.ProviderError{Class: domain.FailureCaller, Reason: "caller_error", Status: status, Message: msg})
}

func hang() behaviour { return behaviour{hang: true} }

func tokensThenFail(err error, tokens ...string) behaviour {
	return behaviour{tokens: tokens, failAfter: err}
}

func tokensThenHang(tokens ...string) behaviour { return behaviour{tokens: tokens, hangAfter: true} }

func slow(delay time.Duration, tokens ...string) behaviour {
	return behaviour{tokens: tokens, finish: "stop", delay: delay}
}

// cutOff is the error of a stream that ended without its end marker.
func cutOff(p domain.Provider) *domain.ProviderError {
	return &domain.ProviderError{Provider: p, Class: domain.FailureRetryable, Reason: "cut_off"}
}

// call is one StreamChat call a fake provider got.
type call struct {
	Key int
	Req domain.CompletionRequest

	mu        sync.Mutex
	cancelled bool // the fake saw its ctx end while it was working
	ctxErr    error
}

func (c *call) markCancelled(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled, c.ctxErr = true, err
}

// Cancelled reports whether the provider saw its ctx end, and with what.
func (c *call) Cancelled() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelled, c.ctxErr
}

// callOrder records calls across providers in the order they happened.
type callOrder struct {
	mu    sync.Mutex
	calls []string
}

func (o *callOrder) add(p domain.Provider, key int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fmt.Sprintf("%s#%d", p, key))
}

func (o *callOrder) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

// fakeProvider is a scripted ports.ChatProvider: every key has a queue of
// behaviours; a key with an empty queue answers with the provider's name.
type fakeProvider struct {
	name  domain.Provider
	keys  int
	order *callOrder

	mu     sync.Mutex
	queue  map[int][]behaviour
	calls  []*call
	opened int
	closed int
}

var _ ports.ChatProvider = (*fakeProvider)(nil)

func newFake(name domain.Provider, keys int, order *callOrder) *fakeProvider {
	return &fakeProvider{name: name, keys: keys, order: order, queue: map[int][]behaviour{}}
}

// script appends behaviours to key's queue.
func (f *fakeProvider) script(key int, bs ...behaviour) *fakeProvider {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue[key] = append(f.queue[key], bs...)
	return f
}

func (f *fakeProvider) Name() domain.Provider { return f.name }

func (f *fakeProvider) KeyCount() int { return f.keys }

// Calls returns every call so far.
func (f *fakeProvider) Calls() []*call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallsPerKey counts the calls made with each key.
func (f *fakeProvider) CallsPerKey() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, f.keys)
	for _, c := range f.calls {
		out[c.Key]++
	}
	return out
}

// Streams returns how many streams were opened and closed.
func (f *fakeProvider) Streams() (opened, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened, f.closed
}

func (f *fakeProvider) ctxErr(ctx context.Context, c *call) error {
	c.markCancelled(ctx.Err())
	return &domain.ProviderError{Provider: f.name, Class: domain.FailureRetryable, Reason: "connection_error", Err: ctx.Err()}
}

func (f *fakeProvider) StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ports.ChatStream, error) {
	if key < 0 || key >= f.keys {
		return nil, fmt.Errorf("fake %s: key %d out of range", f.name, key)
	}
	req.Messages = slices.Clone(req.Messages)
	c := &call{Key: key, Req: req}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	b := answer(string(f.name))
	if q := f.queue[key]; len(q) > 0 {
		b, f.queue[key] = q[0], q[1:]
	}
	f.mu.Unlock()
	if f.order != nil {
		f.order.add(f.name, key)
	}
	if b.onCall != nil {
		b.onCall()
	}
	if b.started != nil {
		close(b.started)
	}
	if b.gate != nil {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, f.ctxErr(ctx, c)
		}
	}
	if b.hang {
		<-ctx.Done()
		return nil, f.ctxErr(ctx, c)
	}
	if b.failFirst != nil {
		pe := *b.failFirst
		pe.Provider = f.name
		return nil, &pe
	}
	f.mu.Lock()
	f.opened++
	f.mu.Unlock()
	return &fakeStream{ctx: ctx, p: f, c: c, b: b}, nil
}

type fakeStream struct {
	ctx       context.Context
	p         *fakeProvider
	c         *call
	b         behaviour
	next      int
	last      bool
	closeOnce sync.Once
}

func (s *fakeStream) Recv() (domain.ChatDelta, error) {
	if len(s.b.deltas) > 0 {
		d := s.b.deltas[0]
		s.b.deltas = s.b.deltas[1:]
		return d, nil
	}
	if s.next < len(s.b.tokens) {
		if s.b.delay > 0 {
			t := time.NewTimer(s.b.delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.ctx.Done():
				return domain.ChatDelta{}, s.p.ctxErr(s.ctx, s.c)
			}
		}
		tok := s.b.tokens[s.next]
		s.next++
		return domain.ChatDelta{Content: tok}, nil
	}
	switch {
	case s.b.failAfter != nil:
		return domain.ChatDelta{}, s.b.failAfter
	case s.b.hangAfter:
		<-s.ctx.Done()
		return domain.ChatDelta{}, s.p.ctxErr(s.ctx, s.c)
	case !s.last && (s.b.finish != "" || s.b.usage != nil):
		// Like OpenAI-compatible streams: the finish reason and usage come
		// in a last chunk without content.
		s.last = true
		return domain.ChatDelta{FinishReason: s.b.finish, Usage: s.b.usage}, nil
	}
	return domain.ChatDelta{}, io.EOF
}

func (s *fakeStream) Close() error {
	s.closeOnce.Do(func() {
		s.p.mu.Lock()
		s.p.closed++
		s.p.mu.Unlock()
	})
	return nil
}

// collectSink records what the service delivers, in order.
type collectSink struct {
	mu       sync.Mutex
	events   []string
	metas    []chat.Meta
	tokens   []string
	beginErr error
	// onToken runs after the n-th token (1-based) was recorded.
	onToken func(n int)
}

func (s *collectSink) Begin(m chat.Meta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "begin")
	s.metas = append(s.metas, m)
	return s.beginErr
}

func (s *collectSink) Token(text string) error {
	s.mu.Lock()
	s.events = append(s.events, "token:"+text)
	s.tokens = append(s.tokens, text)
	n := len(s.tokens)
	hook := s.onToken
	s.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return nil
}

// toolSink is a collectSink that takes tool calls, as the OpenAI API's does.
type toolSink struct {
	collectSink
	calls []domain.ToolCallDelta
}

func (s *toolSink) ToolCalls(d []domain.ToolCallDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range d {
		s.events = append(s.events, fmt.Sprintf("tool:%d:%s:%s:%s", c.Index, c.ID, c.Name, c.Arguments))
	}
	s.calls = append(s.calls, d...)
	return nil
}

// Events returns "begin" and "token:<text>" entries in delivery order.
func (s *collectSink) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *collectSink) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

func (s *collectSink) Metas() []chat.Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.metas)
}

// The test chains, as the brief and app/providers.go define them.
const (
	modelGroqFast   = "groq-fast-model"
	modelGroqBig    = "groq-big-model"
	modelORBalanced = "or-balanced-model"
	modelORSmart    = "or-smart-model"
	modelHF         = "hf-model"
)

func testChains() map[domain.Tier][]routing.Route {
	return map[domain.Tier][]routing.Route{
		domain.TierFast: {{Provider: domain.ProviderGroq, Model: modelGroqFast}},
		domain.TierBalanced: {
			{Provider: domain.ProviderGroq, Model: modelGroqBig},
			{Provider: domain.ProviderOpenRouter, Model: modelORBalanced},
			{Provider: domain.ProviderHuggingFace, Model: modelHF},
		},
		domain.TierSmart: {
			{Provider: domain.ProviderOpenRouter, Model: modelORSmart},
			{Provider: domain.ProviderGroq, Model: modelGroqBig},
			{Provider: domain.ProviderHuggingFace, Model: modelHF},
		},
	}
}

// t0 is the fake clock's start: mid-day, far from the quota day rollover.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// config is what a test may change: the use case's and the router's.
type config struct {
	chatConfig
	routeConfig
}

// Aliases, so that both configurations embed in config under their own names.
type (
	chatConfig  = chat.Config
	routeConfig = routing.Config
)

// envConfig is what newEnv builds a Service from.
type envConfig struct {
	keys   map[domain.Provider]int // keys per provider, default 1; 0 = unconfigured
	rpm    map[domain.Provider]int
	cfg    config // Providers is filled in by newEnv
	quota  int
	noLog  bool
	userID domain.UserID
	// cache, when set, gives the Service a fakeCache with this scope;
	// sharedCache, when set too, is that fakeCache (as instances share Redis).
	cache       chat.CacheScope
	sharedCache *fakeCache
}

// env is a Service over scripted fakes, a fake clock and an in-memory quota.
type env struct {
	svc    *chat.Service
	router *routing.Router
	clock  *memory.Clock
	store  *memory.Store
	log    *memory.RequestLog
	user   domain.User
	order  *callOrder
	groq   *fakeProvider
	or     *fakeProvider
	hf     *fakeProvider
	// cache is the response cache (withCache); nil without one.
	cache *fakeCache
}

func newEnv(t *testing.T, opts ...func(*envConfig)) *env {
	t.Helper()
	ec := envConfig{
		keys: map[domain.Provider]int{domain.ProviderGroq: 1, domain.ProviderOpenRouter: 1, domain.ProviderHuggingFace: 1},
		rpm:  map[domain.Provider]int{},
		cfg: config{routeConfig: routing.Config{
			Chains:            testChains(),
			FirstTokenTimeout: 2 * time.Second,
			RequestTimeout:    5 * time.Second,
			BreakerFailures:   3,
			BreakerCoolOff:    time.Minute,
		}},
		quota:  1000,
		userID: "user-1",
	}
	for _, o := range opts {
		o(&ec)
	}
	e := &env{
		clock: memory.NewClock(t0),
		store: memory.NewStore(),
		log:   memory.NewRequestLog(),
		user:  domain.User{ID: ec.userID, Email: "u@example.com"},
		order: &callOrder{},
	}
	e.groq = newFake(domain.ProviderGroq, ec.keys[domain.ProviderGroq], e.order)
	e.or = newFake(domain.ProviderOpenRouter, ec.keys[domain.ProviderOpenRouter], e.order)
	e.hf = newFake(domain.ProviderHuggingFace, ec.keys[domain.ProviderHuggingFace], e.order)
	cfg := ec.cfg
	for _, f := range []*fakeProvider{e.groq, e.or, e.hf} {
		cfg.Providers = append(cfg.Providers, routing.ProviderConfig{Client: f, RPMPerKey: ec.rpm[f.name]})
	}
	logger := slog.New(slog.DiscardHandler)
	var rl ports.RequestLog = e.log
	if ec.noLog {
		rl = nil
	}
	if ec.cache != "" {
		e.cache = ec.sharedCache
		if e.cache == nil {
			e.cache = &fakeCache{clock: e.clock}
		}
		cfg.Cache, cfg.CacheTTL, cfg.CacheScope = e.cache, testCacheTTL, ec.cache
	}
	q := quota.New(e.store, e.clock, ec.quota)
	e.router = routing.New(cfg.routeConfig, e.clock, logger)
	e.svc = chat.New(cfg.chatConfig, e.router, q, rl, e.clock, logger)
	return e
}

func withKeys(p domain.Provider, n int) func(*envConfig) {
	return func(ec *envConfig) { ec.keys[p] = n }
}

func withConfig(change func(*config)) func(*envConfig) {
	return func(ec *envConfig) { change(&ec.cfg) }
}

// withRejectionForGood makes a rejected key sit out longer than any test
// runs, as rejections did before they got a cool-off.
func withRejectionForGood() func(*envConfig) {
	return func(ec *envConfig) { ec.cfg.KeyRejectCoolOff = 100 * 365 * 24 * time.Hour }
}

// testCacheTTL is how long the fake cache keeps answers.
const testCacheTTL = time.Hour

// withCache gives the Service a response cache (a fakeCache) of scope.
func withCache(scope chat.CacheScope) func(*envConfig) {
	return func(ec *envConfig) { ec.cache = scope }
}

func withQuota(n int) func(*envConfig) {
	return func(ec *envConfig) { ec.quota = n }
}

func withRPM(p domain.Provider, n int) func(*envConfig) {
	return func(ec *envConfig) { ec.rpm[p] = n }
}

// chat runs one request with a fresh sink.
func (e *env) chat(ctx context.Context, req chat.Request) (chat.Result, *collectSink, error) {
	sink := &collectSink{}
	res, err := e.svc.Chat(ctx, e.user, req, sink)
	return res, sink, err
}

func (e *env) quotaUsed(t *testing.T) int {
	t.Helper()
	used, err := e.store.QuotaUsed(context.Background(), e.user.ID, domain.QuotaDay(e.clock.Now()))
	require.NoError(t, err)
	return used
}

// onlyRecord returns the single request record; it fails unless there is
// exactly one.
func (e *env) onlyRecord(t *testing.T) domain.RequestRecord {
	t.Helper()
	recs := e.log.Records()
	require.Len(t, recs, 1, "one record per Chat call")
	return recs[0]
}

// assertStreamsClosed checks that every stream any fake opened was closed.
func (e *env) assertStreamsClosed(t *testing.T) {
	t.Helper()
	for _, f := range []*fakeProvider{e.groq, e.or, e.hf} {
		opened, closed := f.Streams()
		require.Equal(t, opened, closed, "%s: every opened stream is closed", f.name)
	}
}

func req(tier domain.Tier, prompt string) chat.Request {
	return chat.Request{Tier: tier, Prompt: prompt, Stream: true}
}

func intp(i int) *int { return &i }

func floatp(f float64) *float64 { return &f }

// attempt builds a domain.Attempt; key < 0 means no key index.
func attempt(p domain.Provider, reason domain.AttemptReason, key int) domain.Attempt {
	a := domain.Attempt{Provider: p, Reason: reason}
	if key >= 0 {
		a.KeyIndex = intp(key)
	}
	return a
}

const noKey = -1

// fakeCache is a map-backed ports.ResponseCache on the env's clock; getErr
// and putErr make it fail as a store that is down does.
type fakeCache struct {
	clock *memory.Clock

	mu      sync.Mutex
	entries map[string]fakeEntry
	gets    int
	puts    int
	getErr  error
	putErr  error
	// onGet, when set, runs at the start of each Get (e.g. the client
	// leaving while the store is asked).
	onGet func()
}

type fakeEntry struct {
	a       domain.CachedAnswer
	expires time.Time
}

var _ ports.ResponseCache = (*fakeCache)(nil)

func (c *fakeCache) Get(ctx context.Context, key string) (domain.CachedAnswer, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.onGet != nil {
		c.onGet()
	}
	if err := ctx.Err(); err != nil {
		return domain.CachedAnswer{}, false, err
	}
	if c.getErr != nil {
		return domain.CachedAnswer{}, false, c.getErr
	}
	e, ok := c.entries[key]
	if !ok || !c.clock.Now().Before(e.expires) {
		return domain.CachedAnswer{}, false, nil
	}
	return e.a, true, nil
}

func (c *fakeCache) Put(_ context.Context, key string, a domain.CachedAnswer, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.putErr != nil {
		return c.putErr
	}
	if c.entries == nil {
		c.entries = map[string]fakeEntry{}
	}
	c.entries[key] = fakeEntry{a: a, expires: c.clock.Now().Add(ttl)}
	return nil
}

// counts returns the Get and Put calls so far and the entries held.
func (c *fakeCache) counts() (gets, puts, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets, c.puts, len(c.entries)
}

func (c *fakeCache) fail(get, put error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.getErr, c.putErr = get, put
}

// only returns the one stored answer; it fails unless there is exactly one.
func (c *fakeCache) only(t *testing.T) domain.CachedAnswer {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Len(t, c.entries, 1)
	for _, e := range c.entries {
		return e.a
	}
	return domain.CachedAnswer{}
}
