package conversations_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
)

var (
	ctx   = context.Background()
	start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ada   = domain.UserID("00000000-0000-4000-8000-00000000000a")
	bob   = domain.UserID("00000000-0000-4000-8000-00000000000b")
)

type fixture struct {
	store *memory.ConversationStore
	clock *memory.Clock
	svc   *conversations.Service
}

func newFixture(cfg conversations.Config) fixture {
	f := fixture{store: memory.NewConversationStore(), clock: memory.NewClock(start)}
	f.svc = conversations.New(f.store, f.clock, nil, cfg)
	return f
}

func ptr[T any](v T) *T { return &v }

func TestCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		title     *string
		wantTitle string
		wantCode  domain.Code
	}{
		{name: "untitled", title: nil, wantTitle: ""},
		{name: "titled, trimmed", title: ptr("  Holiday plans \n"), wantTitle: "Holiday plans"},
		{name: "the longest title", title: ptr(strings.Repeat("é", domain.MaxConversationTitleLen)), wantTitle: strings.Repeat("é", domain.MaxConversationTitleLen)},
		{name: "too long", title: ptr(strings.Repeat("é", domain.MaxConversationTitleLen+1)), wantCode: domain.CodeInvalid},
		{name: "blank", title: ptr("   "), wantCode: domain.CodeInvalid},
		{name: "control characters", title: ptr("a\x00b"), wantCode: domain.CodeInvalid},
		{name: "invalid UTF-8", title: ptr("a\xffb"), wantCode: domain.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(conversations.Config{})
			c, err := f.svc.Create(ctx, ada, tt.title)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, domain.ErrorCode(err), "err: %v", err)
				assert.Equal(t, "title", domain.ErrorField(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantTitle, c.Title)
			assert.Equal(t, start, c.CreatedAt)
		})
	}
}

func TestCreateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{MaxPerUser: 2})
	for range 2 {
		_, err := f.svc.Create(ctx, ada, nil)
		require.NoError(t, err)
	}
	_, err := f.svc.Create(ctx, ada, nil)
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "2 conversations")
	_, err = f.svc.Create(ctx, bob, nil)
	assert.NoError(t, err, "per user")
}

func TestListPagesAndCursors(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{})
	var made []domain.ConversationID
	for i := range 5 {
		c, err := f.svc.Create(ctx, ada, ptr(fmt.Sprintf("c%d", i)))
		require.NoError(t, err)
		made = append(made, c.ID)
		f.clock.Advance(time.Second)
	}
	var got []domain.ConversationID
	req := conversations.ListRequest{Limit: 2}
	pages := 0
	for {
		p, err := f.svc.List(ctx, ada, req)
		require.NoError(t, err)
		pages++
		for _, c := range p.Conversations {
			got = append(got, c.ID)
		}
		if p.NextCursor == "" {
			break
		}
		req.Cursor = p.NextCursor
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []domain.ConversationID{made[4], made[3], made[2], made[1], made[0]}, got)

	p, err := f.svc.List(ctx, ada, conversations.ListRequest{Limit: 5})
	require.NoError(t, err)
	assert.Len(t, p.Conversations, 5)
	assert.Empty(t, p.NextCursor, "an exact last page has no cursor")

	p, err = f.svc.List(ctx, ada, conversations.ListRequest{Query: "C3"})
	require.NoError(t, err)
	require.Len(t, p.Conversations, 1)
	assert.Equal(t, made[3], p.Conversations[0].ID)
}

func TestListInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromUser, Content: "a", Status: domain.MessageComplete})
	require.NoError(t, err)
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromUser, Content: "b", Status: domain.MessageComplete})
	require.NoError(t, err)
	thread, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, thread.NextCursor)

	for _, tt := range []struct {
		name  string
		req   conversations.ListRequest
		field string
	}{
		{"limit too big", conversations.ListRequest{Limit: domain.MaxConversationPage + 1}, "limit"},
		{"negative limit", conversations.ListRequest{Limit: -1}, "limit"},
		{"garbage cursor", conversations.ListRequest{Cursor: "!!"}, "cursor"},
		{"a message cursor", conversations.ListRequest{Cursor: thread.NextCursor}, "cursor"},
		{"a cursor whose id is not a UUID", conversations.ListRequest{Cursor: base64.RawURLEncoding.EncodeToString([]byte("c:1700000000000000.not-a-uuid"))}, "cursor"},
		{"query too long", conversations.ListRequest{Query: strings.Repeat("a", conversations.MaxQueryLen+1)}, "q"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.List(ctx, ada, tt.req)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "err: %v", err)
			assert.Equal(t, tt.field, domain.ErrorField(err))
		})
	}
	_, err = f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: domain.MaxMessagePage + 1})
	assert.Equal(t, "limit", domain.ErrorField(err))
	_, err = f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Cursor: "bm9wZQ"})
	assert.Equal(t, "cursor", domain.ErrorField(err))
}

func TestGetRenameDeleteAreTheOwners(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{})
	c, err := f.svc.Create(ctx, ada, ptr("Mine"))
	require.NoError(t, err)
	for i := range 5 {
		_, err := f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromUser, Content: fmt.Sprintf("m%d", i), Status: domain.MessageComplete})
		require.NoError(t, err)
	}

	th, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, "Mine", th.Conversation.Title, "a given title is kept")
	require.Len(t, th.Messages, 3)
	rest, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 3, Cursor: th.NextCursor})
	require.NoError(t, err)
	require.Len(t, rest.Messages, 2)
	assert.Equal(t, "m3", rest.Messages[0].Content)
	assert.Empty(t, rest.NextCursor)

	// From the end: the latest first, then the earlier ones.
	latest, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 2, Latest: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"m3", "m4"}, contents(latest.Messages))
	var earlier []string
	for cursor := latest.NextCursor; cursor != ""; {
		p, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		earlier = append(contents(p.Messages), earlier...)
		cursor = p.NextCursor
	}
	assert.Equal(t, []string{"m0", "m1", "m2"}, earlier)
	exact, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{Limit: 5, Latest: true})
	require.NoError(t, err)
	assert.Len(t, exact.Messages, 5)
	assert.Empty(t, exact.NextCursor, "the whole thread in one page has no cursor")

	_, err = f.svc.Get(ctx, bob, c.ID, conversations.ThreadRequest{})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	_, err = f.svc.Rename(ctx, bob, c.ID, "Bob's")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(f.svc.Delete(ctx, bob, c.ID)))
	_, err = f.svc.BeginTurn(ctx, bob, c.ID)
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	_, err = f.svc.History(ctx, bob, c.ID, "", "hi")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))

	_, err = f.svc.Rename(ctx, ada, c.ID, " ")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	r, err := f.svc.Rename(ctx, ada, c.ID, " Renamed ")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", r.Title)
	require.NoError(t, f.svc.Delete(ctx, ada, c.ID))
	_, err = f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
}

func TestAppendTitlesFromTheFirstPrompt(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromUser, Status: domain.MessageComplete})
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "nothing to store")

	f.clock.Advance(time.Minute)
	m, err := f.svc.Append(ctx, ada, domain.ConversationMessage{
		ConversationID: c.ID, Role: domain.MessageFromUser, Content: "How do I bake bread? I have flour.", Status: domain.MessageComplete,
	})
	require.NoError(t, err)
	assert.Equal(t, start.Add(time.Minute), m.CreatedAt, "stamped by the clock")
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{
		ConversationID: c.ID, Role: domain.MessageFromUser, Content: "Second prompt.", Status: domain.MessageComplete,
	})
	require.NoError(t, err)
	th, err := f.svc.Get(ctx, ada, c.ID, conversations.ThreadRequest{})
	require.NoError(t, err)
	assert.Equal(t, "How do I bake bread?", th.Conversation.Title)
	assert.Equal(t, start.Add(time.Minute), th.Conversation.UpdatedAt)
}

func TestPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{Retention: 30 * 24 * time.Hour})
	old, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	f.clock.Advance(20 * 24 * time.Hour)
	recent, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	f.clock.Advance(10*24*time.Hour + time.Second)
	n, err := f.svc.Purge(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = f.svc.Get(ctx, ada, old.ID, conversations.ThreadRequest{})
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	_, err = f.svc.Get(ctx, ada, recent.ID, conversations.ThreadRequest{})
	assert.NoError(t, err)

	keep := newFixture(conversations.Config{})
	_, err = keep.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	keep.clock.Advance(100 * 365 * 24 * time.Hour)
	n, err = keep.svc.Purge(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "retention 0 keeps everything")
}

func TestTurnsDoNotInterleave(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{TurnLease: time.Hour})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)

	var won atomic.Int32
	var turns sync.Map
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			turn, err := f.svc.BeginTurn(ctx, ada, c.ID)
			if err == nil {
				won.Add(1)
				turns.Store(i, turn)
				return
			}
			var busy *domain.ConversationBusyError
			assert.ErrorAs(t, err, &busy)
			assert.Equal(t, domain.CodeConversationBusy, domain.ErrorCode(err))
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), won.Load())
	turns.Range(func(_, v any) bool {
		require.NoError(t, v.(*conversations.Turn).End(ctx))
		require.NoError(t, v.(*conversations.Turn).End(ctx), "twice")
		return true
	})
	next, err := f.svc.BeginTurn(ctx, ada, c.ID)
	require.NoError(t, err, "free once ended")
	require.NoError(t, next.End(ctx))
}

func TestTurnLostWhenTakenOver(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{TurnLease: 30 * time.Millisecond})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	turn, err := f.svc.BeginTurn(ctx, ada, c.ID)
	require.NoError(t, err)
	defer turn.End(ctx) //nolint:errcheck
	// Another instance takes the conversation once the lease looks expired
	// to it (its clock runs ahead of the renewals).
	require.NoError(t, f.store.BeginTurn(ctx, ada, c.ID, "other", start.Add(time.Hour), start.Add(2*time.Hour)))
	select {
	case <-turn.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the turn never noticed it lost its lease")
	}
}

// TestTurnStoreAfterTakeover: a turn that lost its lease stores nothing,
// even before a renewal noticed (the store checks the lease in the write).
func TestTurnStoreAfterTakeover(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{TurnLease: time.Hour})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	turn, err := f.svc.BeginTurn(ctx, ada, c.ID)
	require.NoError(t, err)
	defer turn.End(ctx) //nolint:errcheck
	require.NoError(t, f.store.BeginTurn(ctx, ada, c.ID, "other", start.Add(2*time.Hour), start.Add(3*time.Hour)))
	_, err = turn.Store(ctx,
		domain.ConversationMessage{Role: domain.MessageFromUser, Content: "q", Status: domain.MessageComplete},
		domain.ConversationMessage{Role: domain.MessageFromAssistant, Content: "a", Status: domain.MessageComplete})
	require.ErrorIs(t, err, domain.ErrTurnLost)
	msgs, err := f.store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

func TestExportIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{ExportMaxBytes: 10})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromUser, Content: "0123456789", Status: domain.MessageComplete})
	require.NoError(t, err)
	got, err := f.svc.Export(ctx, ada)
	require.NoError(t, err, "at the bound")
	require.Len(t, got, 1)
	_, err = f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: c.ID, Role: domain.MessageFromAssistant, Content: "x", Status: domain.MessageComplete})
	require.NoError(t, err)
	_, err = f.svc.Export(ctx, ada)
	assert.Equal(t, domain.CodePayloadTooLarge, domain.ErrorCode(err), "err: %v", err)
}

func TestExportReadsEverythingOfTheUser(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{})
	const convs, msgs = domain.MaxConversationPage + 3, domain.MaxMessagePage + 2
	var big domain.ConversationID
	for i := range convs {
		c, err := f.svc.Create(ctx, ada, ptr(fmt.Sprintf("c%d", i)))
		require.NoError(t, err)
		if i == 0 {
			big = c.ID
		}
		f.clock.Advance(time.Second)
	}
	for i := range msgs {
		_, err := f.svc.Append(ctx, ada, domain.ConversationMessage{ConversationID: big, Role: domain.MessageFromUser, Content: fmt.Sprintf("m%d", i), Status: domain.MessageComplete})
		require.NoError(t, err)
	}
	_, err := f.svc.Create(ctx, bob, ptr("not ada's"))
	require.NoError(t, err)

	threads, err := f.svc.Export(ctx, ada)
	require.NoError(t, err)
	require.Len(t, threads, convs)
	assert.Equal(t, big, threads[0].Conversation.ID, "most recently active first")
	require.Len(t, threads[0].Messages, msgs)
	assert.Equal(t, "m0", threads[0].Messages[0].Content)
	assert.Equal(t, fmt.Sprintf("m%d", msgs-1), threads[0].Messages[msgs-1].Content)
	for _, th := range threads {
		assert.Equal(t, ada, th.Conversation.UserID)
	}

	none, err := f.svc.Export(ctx, domain.UserID("00000000-0000-4000-8000-0000000000ff"))
	require.NoError(t, err)
	assert.Empty(t, none)
}

func contents(ms []domain.ConversationMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Content
	}
	return out
}
