package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/routing"
)

func TestCacheHitReplaysWithoutProviderCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	usage := &domain.Usage{PromptTokens: 7, CompletionTokens: 3}
	e.groq.script(0, answerWith("length", usage, "Hel", "lo"))

	first, sink1, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	assert.Equal(t, domain.CacheMiss, first.Cache)
	assert.Equal(t, domain.CacheMiss, sink1.Metas()[0].Cache)

	second, sink2, err := e.chat(context.Background(), chat.Request{Tier: domain.TierFast, Prompt: "hi"}) // whole, not streamed: same key
	require.NoError(t, err)
	assert.Len(t, e.groq.Calls(), 1, "the hit calls no provider")
	assert.Equal(t, []string{"begin", "token:Hello"}, sink2.Events(), "the whole text as one token")
	assert.Equal(t, domain.CacheHit, second.Cache)
	assert.Equal(t, domain.CacheHit, sink2.Metas()[0].Cache)
	assert.Equal(t, domain.ProviderGroq, second.Provider)
	assert.Equal(t, modelGroqFast, second.UpstreamModel)
	assert.Equal(t, "length", second.FinishReason)
	assert.Equal(t, *usage, second.Usage)
	assert.Equal(t, 2, e.quotaUsed(t), "a hit counts one unit of quota")

	recs := e.log.Records()
	require.Len(t, recs, 2)
	assert.Equal(t, domain.CacheMiss, recs[0].Cache)
	assert.Equal(t, domain.ProviderGroq, recs[0].Provider)
	assert.Equal(t, domain.CacheHit, recs[1].Cache)
	assert.Equal(t, domain.Provider(""), recs[1].Provider, "no provider was called")
	assert.Equal(t, modelGroqFast, recs[1].UpstreamModel)
	assert.Zero(t, recs[1].Usage, "no provider tokens were spent on the hit")
	assert.Equal(t, domain.OutcomeSuccess, recs[1].Outcome)
	assert.NotNil(t, recs[1].FirstToken)
}

func TestCacheKeyComponents(t *testing.T) {
	t.Parallel()
	schema := json.RawMessage(`{"name":"x","schema":{"type":"object"}}`)
	tool := domain.Tool{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}
	base := func() chat.Request {
		return chat.Request{API: domain.APIOpenAI, Tier: domain.TierBalanced, Stream: true,
			Messages: []domain.Message{{Role: domain.RoleSystem, Content: "be brief"}, {Role: domain.RoleUser, Content: "hi"}},
			Tools:    []domain.Tool{tool}}
	}
	tests := []struct {
		name    string
		change  func(*chat.Request)
		wantHit bool
	}{
		{name: "identical", change: func(*chat.Request) {}, wantHit: true},
		{name: "streamed or not", change: func(r *chat.Request) { r.Stream = false }, wantHit: true},
		{name: "tier", change: func(r *chat.Request) { r.Tier = domain.TierSmart }},
		{name: "system prompt", change: func(r *chat.Request) { r.Messages[0].Content = "be long" }},
		{name: "history", change: func(r *chat.Request) {
			r.Messages = append(r.Messages[:1], domain.Message{Role: domain.RoleUser, Content: "before"},
				domain.Message{Role: domain.RoleAssistant, Content: "ok"}, r.Messages[1])
		}},
		{name: "prompt", change: func(r *chat.Request) { r.Messages[1].Content = "hello" }},
		{name: "temperature", change: func(r *chat.Request) { r.Temperature = floatp(0.5) }},
		{name: "top_p", change: func(r *chat.Request) { r.TopP = floatp(0.5) }},
		{name: "max_tokens", change: func(r *chat.Request) { r.MaxTokens = intp(10) }},
		{name: "stop", change: func(r *chat.Request) { r.Stop = []string{"END"} }},
		{name: "response_format", change: func(r *chat.Request) {
			r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONSchema, JSONSchema: schema}
		}},
		{name: "tools", change: func(r *chat.Request) { r.Tools = append(r.Tools, domain.Tool{Name: "other"}) }},
		{name: "tool_choice", change: func(r *chat.Request) { r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceRequired} }},
		{name: "presence_penalty", change: func(r *chat.Request) { r.PresencePenalty = floatp(1) }},
		{name: "frequency_penalty", change: func(r *chat.Request) { r.FrequencyPenalty = floatp(1) }},
		{name: "seed", change: func(r *chat.Request) { s := int64(42); r.Seed = &s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withCache(chat.CacheScopeUser))
			_, err := e.svc.Chat(context.Background(), e.user, base(), &toolSink{})
			require.NoError(t, err)
			r := base()
			tt.change(&r)
			res, err := e.svc.Chat(context.Background(), e.user, r, &toolSink{})
			require.NoError(t, err)
			calls := len(e.groq.Calls()) + len(e.or.Calls())
			if tt.wantHit {
				assert.Equal(t, domain.CacheHit, res.Cache)
				assert.Equal(t, 1, calls)
				return
			}
			assert.Equal(t, domain.CacheMiss, res.Cache)
			assert.Equal(t, 2, calls)
		})
	}
}

// A deploy that changes a tier's models must not serve the old models'
// answers from a store that outlives it (Redis): the chain is in the key.
func TestCacheKeyHasTheTiersChain(t *testing.T) {
	t.Parallel()
	before := newEnv(t, withCache(chat.CacheScopeUser))
	before.groq.script(0, answerWith("stop", nil, "old model"))
	_, _, err := before.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)

	tests := []struct {
		name   string
		change func(map[domain.Tier][]routing.Route)
		hit    bool
	}{
		{"same chain", func(map[domain.Tier][]routing.Route) {}, true},
		{"another model", func(c map[domain.Tier][]routing.Route) { c[domain.TierFast][0].Model = "new-model" }, false},
		{"a fallback added", func(c map[domain.Tier][]routing.Route) {
			c[domain.TierFast] = append(c[domain.TierFast], routing.Route{Provider: domain.ProviderOpenRouter, Model: modelORBalanced})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chains := testChains()
			tt.change(chains)
			after := newEnv(t, withCache(chat.CacheScopeUser), func(ec *envConfig) { ec.sharedCache = before.cache },
				withConfig(func(c *config) { c.Chains = chains }))
			after.groq.script(0, answerWith("stop", nil, "new model"))
			after.or.script(0, answerWith("stop", nil, "new model"))
			res, _, err := after.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
			assert.Equal(t, tt.hit, res.Cache == domain.CacheHit, "status %q", res.Cache)
		})
	}
}

func TestCacheNativeAndOpenAIShareAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	_, _, err := e.chat(context.Background(), chat.Request{Tier: domain.TierFast, Prompt: "hi", System: "be brief"})
	require.NoError(t, err)
	openAI := chat.Request{API: domain.APIOpenAI, Tier: domain.TierFast,
		Messages: []domain.Message{{Role: domain.RoleSystem, Content: "be brief"}, {Role: domain.RoleUser, Content: "hi"}}}
	res, err := e.svc.Chat(context.Background(), e.user, openAI, &toolSink{})
	require.NoError(t, err)
	assert.Equal(t, domain.CacheHit, res.Cache, "the same upstream messages are the same request")
	assert.Len(t, e.groq.Calls(), 1)
}

func TestCacheScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope chat.CacheScope
		want  domain.CacheStatus
	}{
		{scope: chat.CacheScopeUser, want: domain.CacheMiss},
		{scope: chat.CacheScopeGlobal, want: domain.CacheHit},
	}
	for _, tt := range tests {
		t.Run(string(tt.scope), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withCache(tt.scope))
			_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
			other := domain.User{ID: "user-2", Email: "v@example.com"}
			res, err := e.svc.Chat(context.Background(), other, req(domain.TierFast, "hi"), &collectSink{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Cache)
			// The first user hits in either scope.
			res, _, err = e.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
			assert.Equal(t, domain.CacheHit, res.Cache)
		})
	}
}

func TestCacheOptOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mode      chat.CacheMode
		wantGets  int
		wantPuts  int
		wantCalls int // of the second request's provider
	}{
		{name: "refresh: no look-up, the fresh answer is stored", mode: chat.CacheRefresh, wantGets: 1, wantPuts: 2, wantCalls: 2},
		{name: "skip: neither look-up nor store", mode: chat.CacheSkip, wantGets: 1, wantPuts: 1, wantCalls: 2},
		{name: "use", mode: chat.CacheUse, wantGets: 2, wantPuts: 1, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withCache(chat.CacheScopeUser))
			e.groq.script(0, answer("old"), answer("new"))
			_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
			require.NoError(t, err)
			r := req(domain.TierFast, "hi")
			r.Cache = tt.mode
			res, _, err := e.chat(context.Background(), r)
			require.NoError(t, err)
			gets, puts, _ := e.cache.counts()
			assert.Equal(t, tt.wantGets, gets)
			assert.Equal(t, tt.wantPuts, puts)
			assert.Len(t, e.groq.Calls(), tt.wantCalls)
			if tt.mode != chat.CacheUse {
				assert.Equal(t, domain.CacheBypass, res.Cache)
				assert.Equal(t, domain.CacheBypass, e.log.Records()[1].Cache)
			}
			want := map[chat.CacheMode]string{chat.CacheRefresh: "new", chat.CacheSkip: "old", chat.CacheUse: "old"}[tt.mode]
			assert.Equal(t, want, e.cache.only(t).Text)
		})
	}
}

func TestCacheStoresOnlyCompleteAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script behaviour
		ctx    func() (context.Context, context.CancelFunc)
		sink   *collectSink
	}{
		{name: "interrupted mid-answer", script: tokensThenFail(cutOff(domain.ProviderGroq), "par", "tial")},
		{name: "no finish reason", script: behaviour{tokens: []string{"cut"}}},
		{name: "provider error before the first token", script: serverError("server_error")},
		{name: "client gone at the first token", script: answer("a", "b"), sink: &collectSink{beginErr: errors.New("client gone")}},
		{
			name:   "cancelled mid-answer",
			script: tokensThenHang("a"),
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withCache(chat.CacheScopeUser))
			e.groq.script(0, tt.script)
			ctx := context.Background()
			if tt.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tt.ctx()
				defer cancel()
			}
			sink := tt.sink
			if sink == nil {
				sink = &collectSink{}
			}
			_, _ = e.svc.Chat(ctx, e.user, req(domain.TierFast, "hi"), sink)
			_, puts, entries := e.cache.counts()
			assert.Zero(t, puts)
			assert.Zero(t, entries)
			assert.Equal(t, domain.CacheMiss, e.onlyRecord(t).Cache)
			e.assertStreamsClosed(t)
		})
	}
}

func TestCacheToolCallsPreserved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	e.groq.script(0, behaviour{finish: "tool_calls", usage: &domain.Usage{PromptTokens: 5, CompletionTokens: 9}, deltas: []domain.ChatDelta{
		{ToolCalls: []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather", Arguments: `{"ci`}}},
		{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `ty":"Paris"}`}, {Index: 1, ID: "call_2", Name: "get_time", Arguments: `{}`}}},
	}})
	_, err := e.svc.Chat(context.Background(), e.user, openAIReq(), &toolSink{})
	require.NoError(t, err)
	want := []domain.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}, {ID: "call_2", Name: "get_time", Arguments: `{}`}}
	assert.Equal(t, want, e.cache.only(t).ToolCalls)

	sink := &toolSink{}
	res, err := e.svc.Chat(context.Background(), e.user, openAIReq(), sink)
	require.NoError(t, err)
	assert.Equal(t, domain.CacheHit, res.Cache)
	assert.Equal(t, []string{"begin", `tool:0:call_1:get_weather:{"city":"Paris"}`, "tool:1:call_2:get_time:{}"}, sink.Events())
	assert.Equal(t, "tool_calls", res.FinishReason)
	assert.Equal(t, domain.Usage{PromptTokens: 5, CompletionTokens: 9}, res.Usage)
	assert.Len(t, e.groq.Calls(), 1)
}

func TestCacheStoreDown(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	t.Run("get fails: bypass, served, not stored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCache(chat.CacheScopeUser))
		e.cache.fail(down, nil)
		res, sink, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		assert.Equal(t, []string{"begin", "token:groq"}, sink.Events())
		assert.Equal(t, domain.CacheBypass, res.Cache)
		assert.Equal(t, domain.CacheBypass, e.onlyRecord(t).Cache)
		_, puts, _ := e.cache.counts()
		assert.Zero(t, puts, "a store that is down is not written to")
	})
	t.Run("put fails: the answer stands, a bypass", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCache(chat.CacheScopeUser))
		e.cache.fail(nil, down)
		res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.CacheMiss, res.Cache, "the client was told at its first token")
		assert.Equal(t, domain.CacheBypass, e.onlyRecord(t).Cache)
	})
}

// TestCacheStoreDownBacksOff: after the store failed, it is left alone
// for chat.CacheBackoff (a store that hangs until its client's timeout
// would otherwise add that timeout to every request); then one request
// probes it, and a store that answers is used again.
func TestCacheStoreDownBacksOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	e.cache.fail(errors.New("i/o timeout"), nil)
	status := func() domain.CacheStatus {
		t.Helper()
		res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err, "served by the providers")
		return res.Cache
	}
	assert.Equal(t, domain.CacheBypass, status())
	e.cache.fail(nil, nil) // back, but the service does not know yet
	e.clock.Advance(chat.CacheBackoff - time.Millisecond)
	assert.Equal(t, domain.CacheBypass, status(), "within the backoff")
	gets, puts, _ := e.cache.counts()
	assert.Equal(t, 1, gets, "the store is not asked within the backoff")
	assert.Zero(t, puts)

	e.clock.Advance(time.Millisecond)
	assert.Equal(t, domain.CacheMiss, status(), "probed once the backoff is over")
	assert.Equal(t, domain.CacheHit, status())
	gets, puts, _ = e.cache.counts()
	assert.Equal(t, []int{3, 1}, []int{gets, puts})
}

// TestCacheClientLeftDuringLookUp: a look-up that failed because the
// client left says nothing about the store: the next request uses it.
func TestCacheClientLeftDuringLookUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	ctx, cancel := context.WithCancel(context.Background())
	e.cache.onGet = cancel
	_, _, err := e.chat(ctx, req(domain.TierFast, "hi"))
	require.Error(t, err)
	e.cache.onGet = nil
	res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	assert.Equal(t, domain.CacheMiss, res.Cache, "the store was asked")
}

// TestCacheStorePutDownBacksOff: a store that fails a write is left alone
// as one that fails a read.
func TestCacheStorePutDownBacksOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	e.cache.fail(nil, errors.New("i/o timeout"))
	_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	_, _, err = e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	gets, puts, _ := e.cache.counts()
	assert.Equal(t, []int{1, 1}, []int{gets, puts}, "the second request left the store alone")
	assert.Equal(t, domain.CacheBypass, e.log.Records()[1].Cache)
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCache(chat.CacheScopeUser))
	e.groq.script(0, answer("old"), answer("new"))
	_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	e.clock.Advance(testCacheTTL - time.Second)
	res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	assert.Equal(t, domain.CacheHit, res.Cache)
	e.clock.Advance(time.Second)
	res, sink, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
	require.NoError(t, err)
	assert.Equal(t, domain.CacheMiss, res.Cache)
	assert.Equal(t, []string{"new"}, sink.Tokens())
	assert.Equal(t, e.clock.Now(), e.cache.only(t).StoredAt)
}

func TestCacheStatus(t *testing.T) {
	t.Parallel()
	t.Run("off: no status", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		assert.Equal(t, domain.CacheStatus(""), res.Cache)
		assert.Equal(t, domain.CacheStatus(""), e.onlyRecord(t).Cache)
	})
	t.Run("failed before the look-up: bypass", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCache(chat.CacheScopeUser))
		res, _, err := e.chat(context.Background(), req(domain.TierFast, " "))
		require.Error(t, err)
		assert.Equal(t, domain.CacheBypass, res.Cache)
		assert.Equal(t, domain.CacheBypass, e.onlyRecord(t).Cache)
	})
	t.Run("failed after a miss: miss, refunded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCache(chat.CacheScopeUser))
		e.groq.script(0, serverError("server_error"))
		res, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.Error(t, err)
		assert.Equal(t, domain.CacheMiss, res.Cache)
		assert.Zero(t, e.quotaUsed(t))
	})
	t.Run("a hit the client left is not refunded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, withCache(chat.CacheScopeUser))
		_, _, err := e.chat(context.Background(), req(domain.TierFast, "hi"))
		require.NoError(t, err)
		_, err = e.svc.Chat(context.Background(), e.user, req(domain.TierFast, "hi"), &collectSink{beginErr: errors.New("gone")})
		require.Error(t, err)
		assert.Equal(t, 2, e.quotaUsed(t))
		assert.Equal(t, domain.CacheHit, e.log.Records()[1].Cache)
	})
}
