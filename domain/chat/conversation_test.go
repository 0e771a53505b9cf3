package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/conversations"
)

// convEnv is a chat env whose Service keeps conversations in memory.
type convEnv struct {
	*env
	store *memory.ConversationStore
	convs *conversations.Service
}

func newConvEnv(t *testing.T, cfg conversations.Config, opts ...func(*envConfig)) convEnv {
	t.Helper()
	store := memory.NewConversationStore()
	// The conversations' clock stands still at t0: turn leases renew on
	// real time, every third of TurnLease.
	var c convEnv
	c.store = store
	c.env = newEnv(t, append(opts, withConfig(func(cc *config) {
		c.convs = conversations.New(store, memory.NewClock(t0), nil, cfg)
		cc.Conversations = c.convs
	}))...)
	return c
}

func (c convEnv) messages(t *testing.T, id domain.ConversationID) []domain.ConversationMessage {
	t.Helper()
	th, err := c.convs.Get(context.Background(), c.user.ID, id, conversations.ThreadRequest{Limit: domain.MaxMessagePage})
	require.NoError(t, err)
	return th.Messages
}

func TestConversationTurnsAreStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newConvEnv(t, conversations.Config{})
	c.groq.script(0, answer("Tram", " 15E."), answer("Same."))

	res, sink, err := c.chat(ctx, chat.Request{Prompt: "Which tram?", ConversationID: chat.NewConversation, RequestID: "r1"})
	require.NoError(t, err)
	id := res.ConversationID
	require.NotEmpty(t, id)
	require.Len(t, sink.Metas(), 1)
	assert.Equal(t, id, sink.Metas()[0].ConversationID, "the meta names the conversation")

	_, _, err = c.chat(ctx, chat.Request{Prompt: "Back?", System: "Be brief.", ConversationID: id, RequestID: "r2"})
	require.NoError(t, err)
	calls := c.groq.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, []domain.Message{
		{Role: domain.RoleSystem, Content: "Be brief."}, {Role: domain.RoleUser, Content: "Which tram?"},
		{Role: domain.RoleAssistant, Content: "Tram 15E."}, {Role: domain.RoleUser, Content: "Back?"},
	}, calls[1].Req.Messages)

	ms := c.messages(t, id)
	require.Len(t, ms, 4)
	assert.Equal(t, domain.MessageFromAssistant, ms[1].Role)
	assert.Equal(t, "Tram 15E.", ms[1].Content)
	assert.Equal(t, domain.MessageComplete, ms[1].Status)
	assert.Equal(t, domain.ProviderGroq, ms[1].Provider)
	assert.Equal(t, domain.TierFast, ms[1].Tier)
	assert.Equal(t, "r1", ms[1].RequestID)
	assert.Equal(t, "r2", ms[3].RequestID)
}

// TestConversationRegenerate: a regenerated answer replaces the last one
// in the stored thread (the prompt stays once), the provider gets the
// history before the replaced turn, and the cache is not read.
func TestConversationRegenerate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newConvEnv(t, conversations.Config{}, withCache(chat.CacheScopeUser))
	c.groq.script(0, answer("Tram 15E."), answer("Bus 728."), answer("Tram 15E, or bus 728."))

	res, _, err := c.chat(ctx, chat.Request{Prompt: "Which tram?", ConversationID: chat.NewConversation, RequestID: "r1"})
	require.NoError(t, err)
	id := res.ConversationID
	_, _, err = c.chat(ctx, chat.Request{Prompt: "Back?", ConversationID: id, RequestID: "r2"})
	require.NoError(t, err)

	again, _, err := c.chat(ctx, chat.Request{Prompt: "Back?", ConversationID: id, RequestID: "r3", Regenerate: true})
	require.NoError(t, err)
	assert.NotEqual(t, domain.CacheHit, again.Cache, "the cache holds the answer being replaced: not read")
	calls := c.groq.Calls()
	require.Len(t, calls, 3)
	assert.Equal(t, calls[1].Req.Messages, calls[2].Req.Messages, "the same history and prompt as the replaced turn")

	ms := c.messages(t, id)
	require.Len(t, ms, 4, "the prompt is stored once")
	assert.Equal(t, "Back?", ms[2].Content)
	assert.Equal(t, "Tram 15E, or bus 728.", ms[3].Content)
	assert.Equal(t, "r3", ms[3].RequestID)
	assert.Equal(t, 3, c.quotaUsed(t), "a regeneration counts as a request")

	// A prompt that is not the last one (a stale view of the thread: the
	// turn it shows last has been followed by another) replaces nothing.
	_, _, err = c.chat(ctx, chat.Request{Prompt: "Which tram?", ConversationID: id, RequestID: "r4", Regenerate: true})
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
	assert.Len(t, c.groq.Calls(), 3, "nothing asked upstream")
	assert.Equal(t, ms, c.messages(t, id), "the thread as it was")
	assert.Equal(t, 3, c.quotaUsed(t), "refunded")
}

func TestConversationRequestsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newConvEnv(t, conversations.Config{})
	conv, err := c.convs.Create(ctx, c.user.ID, nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		req  chat.Request
		code domain.Code
	}{
		{"missing", chat.Request{Prompt: "Hi", ConversationID: "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70"}, domain.CodeNotFound},
		{"messages beside it", chat.Request{Prompt: "Hi", ConversationID: conv.ID, Messages: []domain.Message{{Role: "user", Content: "x"}}}, domain.CodeInvalid},
		{"OpenAI API", chat.Request{API: domain.APIOpenAI, Messages: []domain.Message{{Role: "user", Content: "x"}}, ConversationID: conv.ID}, domain.CodeInvalid},
		{"regenerate without a conversation", chat.Request{Prompt: "Hi", Regenerate: true}, domain.CodeInvalid},
		{"regenerate in a new one", chat.Request{Prompt: "Hi", ConversationID: chat.NewConversation, Regenerate: true}, domain.CodeInvalid},
		{"regenerate with no prompt stored", chat.Request{Prompt: "Hi", ConversationID: conv.ID, Regenerate: true}, domain.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.chat(ctx, tt.req)
			assert.Equal(t, tt.code, domain.ErrorCode(err))
		})
	}
	assert.Empty(t, c.groq.Calls())
	assert.Equal(t, 0, c.quotaUsed(t), "refunded")
}

// TestConversationTurnLost: an answer whose turn was taken over (the store
// out of reach for a whole lease) is not stored beside the other turn.
func TestConversationTurnLost(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newConvEnv(t, conversations.Config{TurnLease: 30 * time.Millisecond})
	conv, err := c.convs.Create(ctx, c.user.ID, nil)
	require.NoError(t, err)
	c.groq.script(0, tokensThenHang("partial"))
	done := make(chan error, 1)
	sink := &collectSink{}
	go func() {
		_, err := c.svc.Chat(ctx, c.user, chat.Request{Prompt: "Hi", ConversationID: conv.ID}, sink)
		done <- err
	}()
	require.Eventually(t, func() bool { return len(sink.Tokens()) == 1 }, 5*time.Second, 5*time.Millisecond)
	// Another turn takes the conversation, as after the lease expired.
	later := t0.Add(time.Hour)
	require.NoError(t, c.store.BeginTurn(context.Background(), c.user.ID, conv.ID, "other", later, later.Add(time.Minute)))
	time.Sleep(300 * time.Millisecond) // renewals every 10 ms: the first finds the lease gone
	cancel()
	require.Error(t, <-done)
	assert.Empty(t, c.messages(t, conv.ID), "nothing of the lost turn is stored")

	// Without the takeover, what arrived is stored as interrupted.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	other, err := c.convs.Create(context.Background(), c.user.ID, nil)
	require.NoError(t, err)
	c.groq.script(0, tokensThenHang("partial"))
	sink = &collectSink{}
	go func() {
		_, err := c.svc.Chat(ctx2, c.user, chat.Request{Prompt: "Hi", ConversationID: other.ID}, sink)
		done <- err
	}()
	require.Eventually(t, func() bool { return len(sink.Tokens()) == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel2()
	require.Error(t, <-done)
	ms := c.messages(t, other.ID)
	require.Len(t, ms, 2)
	assert.Equal(t, domain.MessageInterrupted, ms[1].Status)
	assert.Equal(t, "partial", ms[1].Content)
}
