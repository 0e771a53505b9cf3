package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ConversationStore = (*ConversationStore)(nil)

// ConversationStore is an in-memory ports.ConversationStore for tests,
// safe for concurrent use. It knows no accounts: any owner id may create.
type ConversationStore struct {
	mu     sync.Mutex
	convs  map[domain.ConversationID]*memConversation
	nextID domain.MessageID
}

type memConversation struct {
	c        domain.Conversation
	messages []domain.ConversationMessage
	lease    string
	expires  time.Time
}

// NewConversationStore returns an empty ConversationStore.
func NewConversationStore() *ConversationStore {
	return &ConversationStore{convs: map[domain.ConversationID]*memConversation{}}
}

// owned is the user's conversation, nil when it is missing or another's.
// The caller holds mu.
func (s *ConversationStore) owned(user domain.UserID, id domain.ConversationID) *memConversation {
	mc, ok := s.convs[id]
	if !ok || mc.c.UserID != user {
		return nil
	}
	return mc
}

// CreateConversation implements ports.ConversationStore.
func (s *ConversationStore) CreateConversation(_ context.Context, nc domain.NewConversation, max int) (domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count(nc.UserID) >= max {
		return domain.Conversation{}, domain.ConversationLimitError(max)
	}
	at := nc.CreatedAt.UTC().Truncate(time.Microsecond)
	c := domain.Conversation{ID: domain.ConversationID(newUUID()), UserID: nc.UserID, Title: nc.Title, CreatedAt: at, UpdatedAt: at}
	s.convs[c.ID] = &memConversation{c: c}
	return c, nil
}

func (s *ConversationStore) count(user domain.UserID) int {
	n := 0
	for _, mc := range s.convs {
		if mc.c.UserID == user {
			n++
		}
	}
	return n
}

// Conversations implements ports.ConversationStore.
func (s *ConversationStore) Conversations(_ context.Context, f domain.ConversationFilter) ([]domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	words := domain.SearchWords(f.Query)
	out := []domain.Conversation{}
	for _, mc := range s.convs {
		if mc.c.UserID != f.UserID || !after(mc.c, f.After) || !mc.matches(words) {
			continue
		}
		out = append(out, mc.c)
	}
	slices.SortFunc(out, func(a, b domain.Conversation) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
	return out[:min(len(out), max(f.Limit, 0))], nil
}

// after reports whether c comes after the cursor in the list's order.
func after(c domain.Conversation, cur *domain.ConversationCursor) bool {
	if cur == nil {
		return true
	}
	return c.UpdatedAt.Before(cur.UpdatedAt) || (c.UpdatedAt.Equal(cur.UpdatedAt) && c.ID < cur.ID)
}

func (mc *memConversation) matches(words []string) bool {
	if len(words) == 0 {
		return true
	}
	if hasWords(mc.c.Title, words) {
		return true
	}
	return slices.ContainsFunc(mc.messages, func(m domain.ConversationMessage) bool { return hasWords(m.Content, words) })
}

func hasWords(text string, words []string) bool {
	have := domain.SearchWords(text)
	for _, w := range words {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// CountConversations implements ports.ConversationStore.
func (s *ConversationStore) CountConversations(_ context.Context, user domain.UserID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count(user), nil
}

// Conversation implements ports.ConversationStore.
func (s *ConversationStore) Conversation(_ context.Context, user domain.UserID, id domain.ConversationID) (domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	return mc.c, nil
}

// ConversationMessages implements ports.ConversationStore.
func (s *ConversationStore) ConversationMessages(_ context.Context, user domain.UserID, id domain.ConversationID, p domain.MessagePage) ([]domain.ConversationMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil {
		return nil, domain.ErrConversationNotFound
	}
	out := []domain.ConversationMessage{}
	if p.BeforeID > 0 {
		for _, m := range slices.Backward(mc.messages) {
			if m.ID < p.BeforeID && len(out) < p.Limit {
				out = append(out, cloneMessage(m))
			}
		}
		slices.Reverse(out)
		return out, nil
	}
	for _, m := range mc.messages {
		if m.ID > p.AfterID && len(out) < p.Limit {
			out = append(out, cloneMessage(m))
		}
	}
	return out, nil
}

// LatestMessages implements ports.ConversationStore.
func (s *ConversationStore) LatestMessages(_ context.Context, user domain.UserID, id domain.ConversationID, limit int) ([]domain.ConversationMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil {
		return nil, domain.ErrConversationNotFound
	}
	from := max(len(mc.messages)-max(limit, 0), 0)
	out := make([]domain.ConversationMessage, 0, len(mc.messages)-from)
	for _, m := range mc.messages[from:] {
		out = append(out, cloneMessage(m))
	}
	return out, nil
}

func cloneMessage(m domain.ConversationMessage) domain.ConversationMessage {
	m.Sources = slices.Clone(m.Sources)
	if m.Sources == nil {
		m.Sources = []domain.SearchResult{}
	}
	return m
}

// RenameConversation implements ports.ConversationStore.
func (s *ConversationStore) RenameConversation(_ context.Context, user domain.UserID, id domain.ConversationID, title string) (domain.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	mc.c.Title = title
	return mc.c, nil
}

// DeleteConversation implements ports.ConversationStore.
func (s *ConversationStore) DeleteConversation(_ context.Context, user domain.UserID, id domain.ConversationID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owned(user, id) == nil {
		return domain.ErrConversationNotFound
	}
	delete(s.convs, id)
	return nil
}

// AppendMessage implements ports.ConversationStore.
func (s *ConversationStore) AppendMessage(_ context.Context, nm domain.NewConversationMessage) (domain.ConversationMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(nm.UserID, nm.Message.ConversationID)
	if mc == nil {
		return domain.ConversationMessage{}, domain.ErrConversationNotFound
	}
	return s.appendLocked(mc, nm), nil
}

// AppendTurn implements ports.ConversationStore under one lock.
func (s *ConversationStore) AppendTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	return s.storeTurn(ctx, lease, false, msgs)
}

// ReplaceTurn implements ports.ConversationStore under one lock.
func (s *ConversationStore) ReplaceTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	return s.storeTurn(ctx, lease, true, msgs)
}

// storeTurn appends a turn's messages, first dropping the last turn when
// replace is set.
func (s *ConversationStore) storeTurn(_ context.Context, lease string, replace bool, msgs []domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var mc *memConversation
	for _, nm := range msgs {
		c := s.owned(nm.UserID, nm.Message.ConversationID)
		if c == nil || (mc != nil && c != mc) {
			return nil, domain.ErrConversationNotFound
		}
		mc = c
	}
	if mc != nil && mc.lease != lease {
		return nil, domain.ErrTurnLost
	}
	if mc != nil && replace {
		for i := len(mc.messages) - 1; i >= 0; i-- {
			if mc.messages[i].Role == domain.MessageFromUser {
				mc.messages = mc.messages[:i]
				break
			}
		}
	}
	out := make([]domain.ConversationMessage, 0, len(msgs))
	for _, nm := range msgs {
		out = append(out, s.appendLocked(mc, nm))
	}
	return out, nil
}

func (s *ConversationStore) appendLocked(mc *memConversation, nm domain.NewConversationMessage) domain.ConversationMessage {
	s.nextID++
	m := cloneMessage(nm.Message)
	m.ID = s.nextID
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Microsecond)
	mc.messages = append(mc.messages, m)
	if m.CreatedAt.After(mc.c.UpdatedAt) {
		mc.c.UpdatedAt = m.CreatedAt
	}
	if mc.c.Title == "" {
		mc.c.Title = nm.TitleIfUntitled
	}
	return cloneMessage(m)
}

// BeginTurn implements ports.ConversationStore.
func (s *ConversationStore) BeginTurn(_ context.Context, user domain.UserID, id domain.ConversationID, lease string, now, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil {
		return domain.ErrConversationNotFound
	}
	if mc.lease != "" && mc.expires.After(now) {
		return &domain.ConversationBusyError{ID: id}
	}
	mc.lease, mc.expires = lease, until
	return nil
}

// RenewTurn implements ports.ConversationStore.
func (s *ConversationStore) RenewTurn(_ context.Context, user domain.UserID, id domain.ConversationID, lease string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.owned(user, id)
	if mc == nil || mc.lease != lease {
		return false, nil
	}
	mc.expires = until
	return true, nil
}

// EndTurn implements ports.ConversationStore.
func (s *ConversationStore) EndTurn(_ context.Context, user domain.UserID, id domain.ConversationID, lease string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mc := s.owned(user, id); mc != nil && mc.lease == lease {
		mc.lease, mc.expires = "", time.Time{}
	}
	return nil
}

// PurgeIdleConversations implements ports.ConversationStore.
func (s *ConversationStore) PurgeIdleConversations(_ context.Context, before, now time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, domain.Invalid("batch", "must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, mc := range s.convs {
		held := mc.lease != "" && mc.expires.After(now)
		if mc.c.UpdatedAt.Before(before) && !held {
			delete(s.convs, id)
			n++
		}
	}
	return n, nil
}
