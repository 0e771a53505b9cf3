package portstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Conversations is what the conversation suite needs from one
// implementation: the store and, for stores that keep accounts, the users
// the conversations belong to (nil: any id owns conversations).
type Conversations struct {
	Users ports.UserStore
	Store ports.ConversationStore
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RunConversationStore checks a ConversationStore: creation within the
// per-user bound (also concurrently), another owner's id behaving as a
// missing one on every method, the list's order and cursor, full-text
// search in titles and messages, messages and their pages, the delete
// cascade, the purge, turns, and concurrent appends.
func RunConversationStore(t *testing.T, newStores func(t *testing.T) Conversations) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 9, 30, 0, 123456000, time.UTC)
	owner := func(t *testing.T, s Conversations, email string) domain.UserID {
		t.Helper()
		if s.Users == nil {
			return domain.UserID(randomUUID())
		}
		u, err := s.Users.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		return u.ID
	}
	create := func(t *testing.T, s Conversations, user domain.UserID, title string, created time.Time) domain.Conversation {
		t.Helper()
		c, err := s.Store.CreateConversation(ctx, domain.NewConversation{UserID: user, Title: title, CreatedAt: created}, 100)
		require.NoError(t, err)
		return c
	}
	say := func(t *testing.T, s Conversations, user domain.UserID, c domain.ConversationID, content string, created time.Time) domain.ConversationMessage {
		t.Helper()
		m, err := s.Store.AppendMessage(ctx, domain.NewConversationMessage{UserID: user, Message: domain.ConversationMessage{
			ConversationID: c, Role: domain.MessageFromUser, Content: content, Status: domain.MessageComplete, CreatedAt: created,
		}})
		require.NoError(t, err)
		return m
	}
	ids := func(cs []domain.Conversation) []domain.ConversationID {
		out := make([]domain.ConversationID, 0, len(cs))
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}

	t.Run("create, get, rename", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c, err := s.Store.CreateConversation(ctx, domain.NewConversation{UserID: ada, Title: "Plans", CreatedAt: at.Add(999 * time.Nanosecond)}, 10)
		require.NoError(t, err)
		assert.NotEmpty(t, c.ID)
		assert.Equal(t, domain.Conversation{ID: c.ID, UserID: ada, Title: "Plans", CreatedAt: at, UpdatedAt: at}, c, "kept to the microsecond")
		got, err := s.Store.Conversation(ctx, ada, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c, got)

		untitled := create(t, s, ada, "", at)
		assert.Empty(t, untitled.Title)

		renamed, err := s.Store.RenameConversation(ctx, ada, c.ID, "Holiday plans")
		require.NoError(t, err)
		assert.Equal(t, "Holiday plans", renamed.Title)
		assert.Equal(t, at, renamed.UpdatedAt, "renaming is not activity")
		n, err := s.Store.CountConversations(ctx, ada)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})

	t.Run("the per-user bound, also under concurrent creations", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := owner(t, s, "ada@example.com"), owner(t, s, "bob@example.com")
		var made, refused atomic.Int32
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				_, err := s.Store.CreateConversation(ctx, domain.NewConversation{UserID: ada, CreatedAt: at}, 5)
				switch domain.ErrorCode(err) {
				case "":
					made.Add(1)
				case domain.CodeConflict:
					refused.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(5), made.Load())
		assert.Equal(t, int32(7), refused.Load())
		n, err := s.Store.CountConversations(ctx, ada)
		require.NoError(t, err)
		assert.Equal(t, 5, n)
		_, err = s.Store.CreateConversation(ctx, domain.NewConversation{UserID: bob, CreatedAt: at}, 5)
		assert.NoError(t, err, "the bound is per user")
	})

	t.Run("an unknown owner cannot create", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		if s.Users == nil {
			t.Skip("this store knows no accounts")
		}
		_, err := s.Store.CreateConversation(ctx, domain.NewConversation{UserID: domain.UserID(randomUUID()), CreatedAt: at}, 5)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "err: %v", err)
	})

	t.Run("another owner's id answers exactly as a missing one, and changes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := owner(t, s, "ada@example.com"), owner(t, s, "bob@example.com")
		c := create(t, s, ada, "Secret", at)
		m := say(t, s, ada, c.ID, "my secret", at.Add(time.Second))
		for _, probe := range []struct {
			name string
			user domain.UserID
			id   domain.ConversationID
		}{
			{"another owner", bob, c.ID},
			{"missing id", ada, domain.ConversationID(randomUUID())},
			{"malformed id", ada, "not-a-uuid"},
		} {
			t.Run(probe.name, func(t *testing.T) {
				notFound := func(err error) {
					t.Helper()
					assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "err: %v", err)
					assert.Equal(t, domain.ErrorMessage(domain.ErrConversationNotFound), domain.ErrorMessage(err))
				}
				_, err := s.Store.Conversation(ctx, probe.user, probe.id)
				notFound(err)
				_, err = s.Store.ConversationMessages(ctx, probe.user, probe.id, domain.MessagePage{Limit: 10})
				notFound(err)
				_, err = s.Store.LatestMessages(ctx, probe.user, probe.id, 10)
				notFound(err)
				_, err = s.Store.RenameConversation(ctx, probe.user, probe.id, "mine now")
				notFound(err)
				_, err = s.Store.AppendMessage(ctx, domain.NewConversationMessage{UserID: probe.user, TitleIfUntitled: "x", Message: domain.ConversationMessage{
					ConversationID: probe.id, Role: domain.MessageFromUser, Content: "injected", Status: domain.MessageComplete, CreatedAt: at.Add(time.Hour),
				}})
				notFound(err)
				_, err = s.Store.AppendTurn(ctx, "lease-x", domain.NewConversationMessage{UserID: probe.user, Message: domain.ConversationMessage{
					ConversationID: probe.id, Role: domain.MessageFromUser, Content: "injected", Status: domain.MessageComplete, CreatedAt: at.Add(time.Hour),
				}})
				notFound(err)
				notFound(s.Store.BeginTurn(ctx, probe.user, probe.id, "lease-x", at, at.Add(time.Minute)))
				ok, err := s.Store.RenewTurn(ctx, probe.user, probe.id, "lease-x", at.Add(time.Minute))
				require.NoError(t, err)
				assert.False(t, ok)
				require.NoError(t, s.Store.EndTurn(ctx, probe.user, probe.id, "lease-x"))
				notFound(s.Store.DeleteConversation(ctx, probe.user, probe.id))
				if probe.user != ada {
					list, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: probe.user, Query: "secret", Limit: 10})
					require.NoError(t, err)
					assert.Empty(t, list)
				}
			})
		}
		got, err := s.Store.Conversation(ctx, ada, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c.Title, got.Title)
		assert.Equal(t, m.CreatedAt, got.UpdatedAt)
		msgs, err := s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []domain.ConversationMessage{m}, msgs)
		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "lease-ada", at, at.Add(time.Minute)), "no turn was taken")
	})

	t.Run("most recently active first, with a cursor", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := owner(t, s, "ada@example.com"), owner(t, s, "bob@example.com")
		var made []domain.Conversation
		for i := range 5 {
			made = append(made, create(t, s, ada, fmt.Sprintf("c%d", i), at.Add(time.Duration(i)*time.Minute)))
		}
		tie := create(t, s, ada, "tie", made[4].CreatedAt) // same time as made[4]: the id breaks the tie
		create(t, s, bob, "bob's", at.Add(time.Hour))
		say(t, s, ada, made[0].ID, "back to the first", at.Add(10*time.Minute))
		say(t, s, ada, made[2].ID, "an older message does not move it back", at)

		want := []domain.ConversationID{made[0].ID}
		if tie.ID > made[4].ID {
			want = append(want, tie.ID, made[4].ID)
		} else {
			want = append(want, made[4].ID, tie.ID)
		}
		want = append(want, made[3].ID, made[2].ID, made[1].ID)

		all, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Limit: 100})
		require.NoError(t, err)
		assert.Equal(t, want, ids(all))
		assert.Equal(t, at.Add(10*time.Minute), all[0].UpdatedAt)

		var paged []domain.ConversationID
		f := domain.ConversationFilter{UserID: ada, Limit: 2}
		for range 10 {
			page, err := s.Store.Conversations(ctx, f)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 2)
			if len(page) == 0 {
				break
			}
			paged = append(paged, ids(page)...)
			last := page[len(page)-1]
			f.After = &domain.ConversationCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
		}
		assert.Equal(t, want, paged)
	})

	t.Run("full-text search over titles and message text", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := owner(t, s, "ada@example.com"), owner(t, s, "bob@example.com")
		trip := create(t, s, ada, "Trip to Kyoto", at)
		recipe := create(t, s, ada, "Dinner", at.Add(time.Minute))
		say(t, s, ada, recipe.ID, "How long do I bake the Sourdough bread?", at.Add(2*time.Minute))
		say(t, s, ada, recipe.ID, "Café crème: naïve über recipe", at.Add(3*time.Minute))
		other := create(t, s, bob, "Kyoto sourdough", at.Add(time.Hour))
		say(t, s, bob, other.ID, "bread", at.Add(time.Hour))
		// Words are runs of letters and digits on every store: an email
		// or a decimal is several words.
		contacts := create(t, s, ada, "Write to ada.l@example.com", at.Add(-time.Hour))
		numbers := create(t, s, ada, "Numbers", at.Add(-2*time.Hour))
		say(t, s, ada, numbers.ID, "pi is 3.14, see docs.example.org/v2_notes", at.Add(-2*time.Hour))

		for _, tt := range []struct {
			query string
			want  []domain.ConversationID
		}{
			{"kyoto", []domain.ConversationID{trip.ID}},
			{"KYOTO trip", []domain.ConversationID{trip.ID}},
			{"sourdough", []domain.ConversationID{recipe.ID}},
			{"bake bread", []domain.ConversationID{recipe.ID}},
			{"naïve crème", []domain.ConversationID{recipe.ID}},
			{"CAFÉ ÜBER", []domain.ConversationID{recipe.ID}},
			{"naive", nil},
			{"kyoto bread", nil},
			{"bread and", nil},
			{"paris", nil},
			{"bak", nil},
			{`"bread"* - : ^ (`, []domain.ConversationID{recipe.ID}},
			{"ada.l@example.com", []domain.ConversationID{contacts.ID}},
			{"l example", []domain.ConversationID{contacts.ID}},
			{"example", []domain.ConversationID{contacts.ID, numbers.ID}},
			{"3.14", []domain.ConversationID{numbers.ID}},
			{"14", []domain.ConversationID{numbers.ID}},
			{"v2 notes", []domain.ConversationID{numbers.ID}},
			{"", []domain.ConversationID{recipe.ID, trip.ID, contacts.ID, numbers.ID}},
			{" !? ", []domain.ConversationID{recipe.ID, trip.ID, contacts.ID, numbers.ID}},
		} {
			got, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: tt.query, Limit: 10})
			require.NoError(t, err, "query %q", tt.query)
			assert.Equal(t, tt.want, nilIfEmpty(ids(got)), "query %q", tt.query)
		}

		renamed, err := s.Store.RenameConversation(ctx, ada, trip.ID, "Osaka")
		require.NoError(t, err)
		got, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: "osaka", Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []domain.ConversationID{renamed.ID}, ids(got), "a new title is searchable")
		got, err = s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: "kyoto", Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, got, "the old title is not")

		page, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: "recipe", Limit: 10,
			After: &domain.ConversationCursor{UpdatedAt: at.Add(3 * time.Minute), ID: recipe.ID}})
		require.NoError(t, err)
		assert.Empty(t, page, "the cursor applies to searches")
	})

	t.Run("messages: fields, pages, latest, title from the first prompt", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		first, err := s.Store.AppendMessage(ctx, domain.NewConversationMessage{UserID: ada, TitleIfUntitled: "What is Go", Message: domain.ConversationMessage{
			ConversationID: c.ID, Role: domain.MessageFromUser, Content: "What is Go?", Status: domain.MessageComplete, CreatedAt: at.Add(time.Second),
		}})
		require.NoError(t, err)
		assert.NotZero(t, first.ID)
		assert.Equal(t, []domain.SearchResult{}, first.Sources)
		answer := domain.ConversationMessage{
			ConversationID: c.ID, Role: domain.MessageFromAssistant, Content: "A programming language.", Status: domain.MessageInterrupted,
			Tier: domain.Tier("fast"), Provider: domain.Provider("groq"), UpstreamModel: "llama-3.1-8b-instant", RequestID: "req-1",
			Usage:     domain.Usage{PromptTokens: 12, CompletionTokens: 5},
			Sources:   []domain.SearchResult{{Title: "Go", URL: "https://go.dev", Snippet: "The Go language"}},
			CreatedAt: at.Add(2*time.Second + 999),
		}
		second, err := s.Store.AppendMessage(ctx, domain.NewConversationMessage{UserID: ada, TitleIfUntitled: "ignored", Message: answer})
		require.NoError(t, err)
		answer.ID, answer.CreatedAt = second.ID, at.Add(2*time.Second)
		assert.Equal(t, answer, second)
		assert.Greater(t, second.ID, first.ID)

		got, err := s.Store.Conversation(ctx, ada, c.ID)
		require.NoError(t, err)
		assert.Equal(t, "What is Go", got.Title, "set by the first message only")
		assert.Equal(t, at.Add(2*time.Second), got.UpdatedAt)

		var more []domain.ConversationMessage
		for i := range 5 {
			more = append(more, say(t, s, ada, c.ID, fmt.Sprintf("m%d", i), at.Add(time.Minute)))
		}
		all := append([]domain.ConversationMessage{first, second}, more...)
		page, err := s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[:3], page)
		page, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{AfterID: page[2].ID, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[3:6], page)
		page, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{AfterID: page[2].ID, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[6:], page)

		// From the end: the last ones before BeforeID, oldest first.
		page, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{BeforeID: domain.EndOfThread, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[4:], page)
		page, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{BeforeID: page[0].ID, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[1:4], page)
		page, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{BeforeID: page[0].ID, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, all[:1], page)

		latest, err := s.Store.LatestMessages(ctx, ada, c.ID, 3)
		require.NoError(t, err)
		assert.Equal(t, all[4:], latest, "the last ones, oldest first")
		latest, err = s.Store.LatestMessages(ctx, ada, c.ID, 100)
		require.NoError(t, err)
		assert.Equal(t, all, latest)

		empty := create(t, s, ada, "empty", at)
		none, err := s.Store.ConversationMessages(ctx, ada, empty.ID, domain.MessagePage{Limit: 3})
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("delete takes the messages with it", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "Gone", at)
		say(t, s, ada, c.ID, "remember the walrus", at)
		kept := create(t, s, ada, "Kept", at)
		say(t, s, ada, kept.ID, "remember the carpenter", at)

		require.NoError(t, s.Store.DeleteConversation(ctx, ada, c.ID))
		_, err := s.Store.Conversation(ctx, ada, c.ID)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, err = s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 10})
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		found, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: "remember", Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []domain.ConversationID{kept.ID}, ids(found))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(s.Store.DeleteConversation(ctx, ada, c.ID)), "twice")
	})

	t.Run("purge deletes the conversations idle before a time", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada, bob := owner(t, s, "ada@example.com"), owner(t, s, "bob@example.com")
		old := create(t, s, ada, "old", at)
		say(t, s, ada, old.ID, "ancient words", at)
		revived := create(t, s, ada, "revived", at)
		say(t, s, ada, revived.ID, "still here", at.Add(48*time.Hour))
		bobs := create(t, s, bob, "bob's old", at.Add(time.Hour))
		fresh := create(t, s, bob, "fresh", at.Add(24*time.Hour))
		// Idle, but a turn holds it now (its answer is still coming).
		busy := create(t, s, bob, "busy", at)
		require.NoError(t, s.Store.BeginTurn(ctx, bob, busy.ID, "lease", at.Add(24*time.Hour), at.Add(25*time.Hour)))
		older := create(t, s, ada, "older", at.Add(-time.Hour))

		n, err := s.Store.PurgeIdleConversations(ctx, at.Add(24*time.Hour), at.Add(24*time.Hour), 1)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "in batches of one")
		for _, gone := range []domain.Conversation{old, bobs, older} {
			_, err := s.Store.Conversation(ctx, gone.UserID, gone.ID)
			assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), gone.Title)
		}
		for _, kept := range []domain.Conversation{revived, fresh, busy} {
			_, err := s.Store.Conversation(ctx, kept.UserID, kept.ID)
			assert.NoError(t, err, kept.Title)
		}
		found, err := s.Store.Conversations(ctx, domain.ConversationFilter{UserID: ada, Query: "ancient", Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, found)
		n, err = s.Store.PurgeIdleConversations(ctx, at.Add(24*time.Hour), at.Add(24*time.Hour), 1)
		require.NoError(t, err)
		assert.Zero(t, n)
		n, err = s.Store.PurgeIdleConversations(ctx, at.Add(24*time.Hour), at.Add(25*time.Hour), 10)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "once the lease expired")
	})

	t.Run("turns: one at a time, until the lease ends or expires", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "one", at, at.Add(time.Minute)))
		err := s.Store.BeginTurn(ctx, ada, c.ID, "two", at.Add(30*time.Second), at.Add(2*time.Minute))
		var busy *domain.ConversationBusyError
		require.ErrorAs(t, err, &busy)
		assert.Equal(t, c.ID, busy.ID)

		ok, err := s.Store.RenewTurn(ctx, ada, c.ID, "one", at.Add(2*time.Minute))
		require.NoError(t, err)
		assert.True(t, ok)
		require.ErrorAs(t, s.Store.BeginTurn(ctx, ada, c.ID, "two", at.Add(90*time.Second), at.Add(3*time.Minute)), &busy, "renewed")

		require.NoError(t, s.Store.EndTurn(ctx, ada, c.ID, "two"), "not the holder: nothing happens")
		require.ErrorAs(t, s.Store.BeginTurn(ctx, ada, c.ID, "two", at.Add(90*time.Second), at.Add(3*time.Minute)), &busy)

		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "two", at.Add(2*time.Minute), at.Add(3*time.Minute)), "expired")
		ok, err = s.Store.RenewTurn(ctx, ada, c.ID, "one", at.Add(5*time.Minute))
		require.NoError(t, err)
		assert.False(t, ok, "taken over")
		require.NoError(t, s.Store.EndTurn(ctx, ada, c.ID, "two"))
		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "three", at.Add(2*time.Minute), at.Add(3*time.Minute)), "ended")

		other := create(t, s, ada, "", at)
		require.NoError(t, s.Store.BeginTurn(ctx, ada, other.ID, "four", at.Add(2*time.Minute), at.Add(3*time.Minute)), "per conversation")
	})

	t.Run("a turn stores its messages only under its lease: all or none", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		turn := func(prompt, answer string, created time.Time) []domain.NewConversationMessage {
			return []domain.NewConversationMessage{
				{UserID: ada, TitleIfUntitled: prompt, Message: domain.ConversationMessage{
					ConversationID: c.ID, Role: domain.MessageFromUser, Content: prompt, Status: domain.MessageComplete, CreatedAt: created,
				}},
				{UserID: ada, Message: domain.ConversationMessage{
					ConversationID: c.ID, Role: domain.MessageFromAssistant, Content: answer, Status: domain.MessageInterrupted, CreatedAt: created,
				}},
			}
		}
		_, err := s.Store.AppendTurn(ctx, "one", turn("q0", "a0", at)...)
		require.ErrorIs(t, err, domain.ErrTurnLost, "no lease held")

		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "one", at, at.Add(time.Minute)))
		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "two", at.Add(2*time.Minute), at.Add(3*time.Minute)), "expired and taken")
		_, err = s.Store.AppendTurn(ctx, "one", turn("q1", "a1", at.Add(time.Minute))...)
		require.ErrorIs(t, err, domain.ErrTurnLost, "lost lease")

		got, err := s.Store.AppendTurn(ctx, "two", turn("q2", "a2", at.Add(3*time.Minute))...)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Less(t, got[0].ID, got[1].ID)

		// A second message outside the conversation stores neither.
		bad := turn("q3", "a3", at.Add(4*time.Minute))
		bad[1].Message.ConversationID = create(t, s, ada, "", at).ID
		_, err = s.Store.AppendTurn(ctx, "two", bad...)
		require.Error(t, err)

		msgs, err := s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, got, msgs, "only the turn under its lease, both messages")
		conv, err := s.Store.Conversation(ctx, ada, c.ID)
		require.NoError(t, err)
		assert.Equal(t, "q2", conv.Title)
		assert.Equal(t, at.Add(3*time.Minute), conv.UpdatedAt)
	})

	t.Run("a regenerated turn replaces the last prompt and its answer, under its lease", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		msg := func(role domain.MessageRole, content string, created time.Time) domain.NewConversationMessage {
			return domain.NewConversationMessage{UserID: ada, TitleIfUntitled: content, Message: domain.ConversationMessage{
				ConversationID: c.ID, Role: role, Content: content, Status: domain.MessageComplete, CreatedAt: created,
			}}
		}
		require.NoError(t, s.Store.BeginTurn(ctx, ada, c.ID, "one", at, at.Add(time.Hour)))
		// Replacing in an empty conversation only appends.
		first, err := s.Store.ReplaceTurn(ctx, "one",
			msg(domain.MessageFromUser, "q0", at), msg(domain.MessageFromAssistant, "a0", at))
		require.NoError(t, err)
		_, err = s.Store.AppendTurn(ctx, "one",
			msg(domain.MessageFromUser, "q1", at.Add(time.Minute)), msg(domain.MessageFromAssistant, "a1", at.Add(time.Minute)))
		require.NoError(t, err)

		_, err = s.Store.ReplaceTurn(ctx, "two", msg(domain.MessageFromUser, "q1", at.Add(2*time.Minute)))
		require.ErrorIs(t, err, domain.ErrTurnLost, "not under another lease")

		again, err := s.Store.ReplaceTurn(ctx, "one",
			msg(domain.MessageFromUser, "q1", at.Add(2*time.Minute)), msg(domain.MessageFromAssistant, "a1 again", at.Add(2*time.Minute)))
		require.NoError(t, err)
		msgs, err := s.Store.ConversationMessages(ctx, ada, c.ID, domain.MessagePage{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, append(first, again...), msgs, "the first turn, then the regenerated one: the prompt once")

		other := create(t, s, ada, "", at)
		require.NoError(t, s.Store.BeginTurn(ctx, ada, other.ID, "three", at, at.Add(time.Hour)))
		intruder := owner(t, s, "eve@example.com")
		bad := msg(domain.MessageFromUser, "q", at)
		bad.UserID = intruder
		bad.Message.ConversationID = other.ID
		_, err = s.Store.ReplaceTurn(ctx, "three", bad)
		require.ErrorIs(t, err, domain.ErrConversationNotFound, "another user's conversation")
	})

	t.Run("concurrent turns: exactly one begins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		var won, busy atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				err := s.Store.BeginTurn(ctx, ada, c.ID, fmt.Sprintf("lease-%d", i), at, at.Add(time.Minute))
				var be *domain.ConversationBusyError
				switch {
				case err == nil:
					won.Add(1)
				case assert.ErrorAs(t, err, &be):
					busy.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), won.Load())
		assert.Equal(t, int32(9), busy.Load())
	})

	t.Run("concurrent appends are all kept, in id order", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		ada := owner(t, s, "ada@example.com")
		c := create(t, s, ada, "", at)
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.Store.AppendMessage(ctx, domain.NewConversationMessage{UserID: ada, TitleIfUntitled: fmt.Sprintf("t%d", i), Message: domain.ConversationMessage{
					ConversationID: c.ID, Role: domain.MessageFromUser, Content: fmt.Sprintf("m%d", i), Status: domain.MessageComplete,
					CreatedAt: at.Add(time.Duration(i) * time.Second),
				}})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		msgs, err := s.Store.LatestMessages(ctx, ada, c.ID, 100)
		require.NoError(t, err)
		require.Len(t, msgs, n)
		seen := map[string]bool{}
		for i, m := range msgs {
			seen[m.Content] = true
			if i > 0 {
				assert.Greater(t, m.ID, msgs[i-1].ID)
			}
		}
		assert.Len(t, seen, n)
		got, err := s.Store.Conversation(ctx, ada, c.ID)
		require.NoError(t, err)
		assert.Equal(t, at.Add((n-1)*time.Second), got.UpdatedAt, "the latest message's time, whatever the order")
		assert.NotEmpty(t, got.Title)
	})
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
