// Package conversations is the conversation use case: a user's threads kept
// by the server (create, list and search, read, rename, delete), the
// messages chat appends to them, the history a new turn is built from, the
// guard that keeps two chats on one conversation from interleaving, and
// the retention purge.
package conversations

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// The defaults of Config.
const (
	DefaultMaxPerUser      = 1000
	DefaultHistoryMaxChars = 32000
	DefaultTurnLease       = time.Minute
	// DefaultExportMaxBytes bounds the message text of one export: the
	// export is built in memory.
	DefaultExportMaxBytes = 64 << 20
	// DefaultPageSize is a page's size when the client names none.
	DefaultPageSize = 20
	// MaxQueryLen bounds a search query, in characters.
	MaxQueryLen = 200
	// maxHistoryMessages bounds how many stored messages a history reads:
	// every message holds at least one character, so the character budget
	// bounds it too.
	maxHistoryMessages = 500
)

// Config bounds conversations.
type Config struct {
	// MaxPerUser is the most conversations a user may have at once
	// (MAX_CONVERSATIONS_PER_USER).
	MaxPerUser int
	// HistoryMaxChars bounds, in characters, what a turn sends upstream:
	// the system prompt, the stored history and the new prompt
	// (CHAT_HISTORY_MAX_CHARS).
	HistoryMaxChars int
	// Retention is how long a conversation may stay idle before the purge
	// deletes it; 0 keeps conversations forever
	// (CONVERSATION_RETENTION_DAYS).
	Retention time.Duration
	// TurnLease is how long a turn holds its conversation without
	// renewal: the bound on how long a conversation stays busy after the
	// instance serving it died. A held turn renews at a third of it.
	TurnLease time.Duration
	// ExportMaxBytes bounds the message text (in bytes) one export of a
	// user's data may hold.
	ExportMaxBytes int
}

// Service manages conversations.
type Service struct {
	store  ports.ConversationStore
	clock  ports.Clock
	random io.Reader
	cfg    Config
}

// New builds a Service; random is crypto/rand's Reader unless given
// (tests). Zero limits take the defaults above.
func New(store ports.ConversationStore, clock ports.Clock, random io.Reader, cfg Config) *Service {
	if random == nil {
		random = rand.Reader
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = DefaultMaxPerUser
	}
	if cfg.HistoryMaxChars <= 0 {
		cfg.HistoryMaxChars = DefaultHistoryMaxChars
	}
	if cfg.TurnLease <= 0 {
		cfg.TurnLease = DefaultTurnLease
	}
	if cfg.ExportMaxBytes <= 0 {
		cfg.ExportMaxBytes = DefaultExportMaxBytes
	}
	return &Service{store: store, clock: clock, random: random, cfg: cfg}
}

// now is the clock's time as the stores keep it: UTC, to the microsecond.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// Create starts a conversation for user, titled when title is given (a
// blank or over-long title is CodeInvalid); CodeConflict when the user
// already has Config.MaxPerUser.
func (s *Service) Create(ctx context.Context, user domain.UserID, title *string) (domain.Conversation, error) {
	nc := domain.NewConversation{UserID: user, CreatedAt: s.now()}
	if title != nil {
		t, err := domain.NormalizeConversationTitle(*title)
		if err != nil {
			return domain.Conversation{}, err
		}
		nc.Title = t
	}
	c, err := s.store.CreateConversation(ctx, nc, s.cfg.MaxPerUser)
	if err != nil {
		return domain.Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	return c, nil
}

// ListRequest asks for a page of the caller's conversations.
type ListRequest struct {
	// Limit is the page size: 1 to domain.MaxConversationPage; 0 means
	// DefaultPageSize.
	Limit int
	// Cursor continues a list: the NextCursor of the page before.
	Cursor string
	// Query searches titles and message text (whole words, any case).
	Query string
}

// Page is a page of conversations, most recently active first.
type Page struct {
	Conversations []domain.Conversation
	// NextCursor continues the list; empty on its last page.
	NextCursor string
}

// List returns a page of user's conversations; CodeInvalid for a limit out
// of range, a cursor this service did not give, or an over-long query.
func (s *Service) List(ctx context.Context, user domain.UserID, r ListRequest) (Page, error) {
	limit, err := pageSize("limit", r.Limit, domain.MaxConversationPage)
	if err != nil {
		return Page{}, err
	}
	if utf8.RuneCountInString(r.Query) > MaxQueryLen {
		return Page{}, domain.Invalid("q", "must be at most %d characters", MaxQueryLen)
	}
	f := domain.ConversationFilter{UserID: user, Query: r.Query, Limit: limit + 1}
	if r.Cursor != "" {
		cur, err := decodeListCursor(r.Cursor)
		if err != nil {
			return Page{}, err
		}
		f.After = &cur
	}
	cs, err := s.store.Conversations(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("list conversations: %w", err)
	}
	p := Page{Conversations: cs}
	if len(cs) > limit {
		p.Conversations = cs[:limit]
		last := cs[limit-1]
		p.NextCursor = encodeCursor(listCursorTag, strconv.FormatInt(last.UpdatedAt.UnixMicro(), 10)+"."+string(last.ID))
	}
	return p, nil
}

// pageSize checks a page size, 0 standing for DefaultPageSize.
func pageSize(field string, n, max int) (int, error) {
	if n == 0 {
		return min(DefaultPageSize, max), nil
	}
	if n < 1 || n > max {
		return 0, domain.Invalid(field, "must be between 1 and %d", max)
	}
	return n, nil
}

// ThreadRequest asks for a conversation and a page of its messages.
type ThreadRequest struct {
	// Limit is the page size: 1 to domain.MaxMessagePage; 0 means
	// DefaultPageSize.
	Limit int
	// Cursor continues the messages: the NextCursor of the page before,
	// in that page's direction.
	Cursor string
	// Latest reads the thread from its end: the first page holds the
	// latest messages, and NextCursor continues toward the earlier ones.
	Latest bool
}

// Thread is a conversation with a page of its messages, oldest first.
type Thread struct {
	Conversation domain.Conversation
	Messages     []domain.ConversationMessage
	// NextCursor continues the messages; empty on the last page.
	NextCursor string
}

// Get returns one of user's conversations with a page of its messages;
// CodeNotFound when user has no such conversation, CodeInvalid for a limit
// out of range or a cursor this service did not give.
func (s *Service) Get(ctx context.Context, user domain.UserID, id domain.ConversationID, r ThreadRequest) (Thread, error) {
	limit, err := pageSize("limit", r.Limit, domain.MaxMessagePage)
	if err != nil {
		return Thread{}, err
	}
	page := domain.MessagePage{Limit: limit + 1}
	if r.Latest {
		page.BeforeID = domain.EndOfThread
	}
	if r.Cursor != "" {
		if page, err = decodeMessageCursor(r.Cursor); err != nil {
			return Thread{}, err
		}
		page.Limit = limit + 1
	}
	c, err := s.store.Conversation(ctx, user, id)
	if err != nil {
		return Thread{}, fmt.Errorf("get conversation: %w", err)
	}
	ms, err := s.store.ConversationMessages(ctx, user, id, page)
	if err != nil {
		return Thread{}, fmt.Errorf("get messages: %w", err)
	}
	t := Thread{Conversation: c, Messages: ms}
	switch {
	case len(ms) <= limit:
	case page.BeforeID > 0:
		// The extra message is the earliest: the page is the rest.
		t.Messages = ms[1:]
		t.NextCursor = encodeCursor(earlierCursorTag, strconv.FormatInt(int64(t.Messages[0].ID), 10))
	default:
		t.Messages = ms[:limit]
		t.NextCursor = encodeCursor(messageCursorTag, strconv.FormatInt(int64(ms[limit-1].ID), 10))
	}
	return t, nil
}

// Rename sets the title of one of user's conversations; CodeInvalid for a
// blank or over-long title, CodeNotFound when there is no such conversation.
func (s *Service) Rename(ctx context.Context, user domain.UserID, id domain.ConversationID, title string) (domain.Conversation, error) {
	t, err := domain.NormalizeConversationTitle(title)
	if err != nil {
		return domain.Conversation{}, err
	}
	c, err := s.store.RenameConversation(ctx, user, id, t)
	if err != nil {
		return domain.Conversation{}, fmt.Errorf("rename conversation: %w", err)
	}
	return c, nil
}

// Delete deletes one of user's conversations and its messages; CodeNotFound
// when there is no such conversation.
func (s *Service) Delete(ctx context.Context, user domain.UserID, id domain.ConversationID) error {
	if err := s.store.DeleteConversation(ctx, user, id); err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	return nil
}

// Purge deletes the conversations idle for longer than Config.Retention
// and returns how many; nothing when Retention is 0. One purge runs at a
// time across instances (the store's rule): a call that meets another
// returns 0.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	now := s.now()
	n, err := s.store.PurgeIdleConversations(ctx, now.Add(-s.cfg.Retention), now, purgeBatch)
	if err != nil {
		return 0, fmt.Errorf("purge conversations: %w", err)
	}
	return n, nil
}

// purgeBatch is how many conversations one purge write deletes.
const purgeBatch = 500

// The cursor kinds, so that a list's cursor is refused by a thread and
// back.
const (
	listCursorTag    = "c"
	messageCursorTag = "m"
	// earlierCursorTag continues a thread read from its end (Latest).
	earlierCursorTag = "e"
)

var errCursor = domain.Invalid("cursor", "is not a cursor this server gave")

// encodeCursor makes a position opaque: clients pass it back as given.
func encodeCursor(tag, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tag + ":" + pos))
}

func decodeCursor(tag, cursor string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), tag+":")
}

func decodeListCursor(cursor string) (domain.ConversationCursor, error) {
	pos, ok := decodeCursor(listCursorTag, cursor)
	if !ok {
		return domain.ConversationCursor{}, errCursor
	}
	us, id, ok := strings.Cut(pos, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || !isUUID(id) {
		return domain.ConversationCursor{}, errCursor
	}
	return domain.ConversationCursor{UpdatedAt: time.UnixMicro(n).UTC(), ID: domain.ConversationID(id)}, nil
}

// isUUID reports whether s is a UUID in its canonical text form (the ids
// the stores give): a cursor holding anything else is not one of ours,
// and the stores would refuse it as a server error.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// decodeMessageCursor reads a thread's cursor as the page it continues:
// after a message, or (a thread read from its end) before one.
func decodeMessageCursor(cursor string) (domain.MessagePage, error) {
	if pos, ok := decodeCursor(earlierCursorTag, cursor); ok {
		n, err := strconv.ParseInt(pos, 10, 64)
		if err != nil || n <= 0 {
			return domain.MessagePage{}, errCursor
		}
		return domain.MessagePage{BeforeID: domain.MessageID(n)}, nil
	}
	pos, ok := decodeCursor(messageCursorTag, cursor)
	if !ok {
		return domain.MessagePage{}, errCursor
	}
	n, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || n < 0 {
		return domain.MessagePage{}, errCursor
	}
	return domain.MessagePage{AfterID: domain.MessageID(n)}, nil
}
