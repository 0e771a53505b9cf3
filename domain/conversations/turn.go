package conversations

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// Turn is one chat turn holding its conversation: while it is held, a
// second chat on the conversation gets *domain.ConversationBusyError (409)
// rather than waiting, on this instance or any other sharing the store.
// The hold is a lease in the store that the Turn renews at a third of
// Config.TurnLease, so that an instance that dies frees the conversation
// within one lease. End it once the answer is stored.
type Turn struct {
	s     *Service
	user  domain.UserID
	id    domain.ConversationID
	lease string

	stop chan struct{}
	done chan struct{}
	lost chan struct{}
	once sync.Once
}

// BeginTurn takes user's conversation id for one turn; CodeNotFound when
// user has no such conversation, *domain.ConversationBusyError when another
// turn holds it.
func (s *Service) BeginTurn(ctx context.Context, user domain.UserID, id domain.ConversationID) (*Turn, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return nil, fmt.Errorf("turn lease: %w", err)
	}
	t := &Turn{
		s: s, user: user, id: id, lease: hex.EncodeToString(b[:]),
		stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{}),
	}
	now := s.now()
	if err := s.store.BeginTurn(ctx, user, id, t.lease, now, now.Add(s.cfg.TurnLease)); err != nil {
		return nil, fmt.Errorf("begin turn: %w", err)
	}
	go t.renew()
	return t, nil
}

// renew keeps the lease until End, or until a renewal finds it gone (the
// store was unreachable for a whole lease and another turn took it).
func (t *Turn) renew() {
	defer close(t.done)
	tick := time.NewTicker(t.s.cfg.TurnLease / 3)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), t.s.cfg.TurnLease/3)
			held, err := t.s.store.RenewTurn(ctx, t.user, t.id, t.lease, t.s.now().Add(t.s.cfg.TurnLease))
			cancel()
			if err == nil && !held {
				close(t.lost)
				return
			}
		}
	}
}

// Lost is closed when the turn lost its hold on the conversation: another
// turn may be writing to it now.
func (t *Turn) Lost() <-chan struct{} { return t.lost }

// End releases the conversation; later calls do nothing. Give it a context
// that outlives the request (context.WithoutCancel): a client that went
// away must not leave the conversation busy until the lease expires.
func (t *Turn) End(ctx context.Context) error {
	var err error
	t.once.Do(func() {
		close(t.stop)
		<-t.done
		if e := t.s.store.EndTurn(ctx, t.user, t.id, t.lease); e != nil {
			err = fmt.Errorf("end turn: %w", e)
		}
	})
	return err
}

// Append stores a message in user's conversation at the clock's time and
// returns it as stored. A user message names an untitled conversation
// after itself (domain.TitleFromPrompt). An empty message is CodeInvalid:
// a turn that produced nothing stores nothing.
func (s *Service) Append(ctx context.Context, user domain.UserID, m domain.ConversationMessage) (domain.ConversationMessage, error) {
	if m.Content == "" {
		return domain.ConversationMessage{}, domain.Invalid("content", "must not be empty")
	}
	nm := domain.NewConversationMessage{UserID: user, Message: m}
	nm.Message.CreatedAt = s.now()
	if m.Role == domain.MessageFromUser {
		nm.TitleIfUntitled = domain.TitleFromPrompt(m.Content)
	}
	out, err := s.store.AppendMessage(ctx, nm)
	if err != nil {
		return domain.ConversationMessage{}, fmt.Errorf("append message: %w", err)
	}
	return out, nil
}

// Store keeps the turn's messages (its prompt, then its answer) in its
// conversation at the clock's time, in one store write that holds only
// while the turn still has its lease: all of them or none.
// domain.ErrTurnLost when another turn took the conversation; an empty
// message is CodeInvalid (a turn that produced nothing stores nothing).
func (t *Turn) Store(ctx context.Context, msgs ...domain.ConversationMessage) ([]domain.ConversationMessage, error) {
	return t.store(ctx, false, msgs)
}

// Replace is Store for a regenerated turn: the messages take the place of
// the conversation's last turn (its last prompt and the answer to it), in
// the same one write, so that the thread holds the prompt once.
func (t *Turn) Replace(ctx context.Context, msgs ...domain.ConversationMessage) ([]domain.ConversationMessage, error) {
	return t.store(ctx, true, msgs)
}

func (t *Turn) store(ctx context.Context, replace bool, msgs []domain.ConversationMessage) ([]domain.ConversationMessage, error) {
	now := t.s.now()
	nms := make([]domain.NewConversationMessage, len(msgs))
	for i, m := range msgs {
		if m.Content == "" {
			return nil, domain.Invalid("content", "must not be empty")
		}
		m.ConversationID, m.CreatedAt = t.id, now
		nms[i] = domain.NewConversationMessage{UserID: t.user, Message: m}
		if m.Role == domain.MessageFromUser {
			nms[i].TitleIfUntitled = domain.TitleFromPrompt(m.Content)
		}
	}
	write := t.s.store.AppendTurn
	if replace {
		write = t.s.store.ReplaceTurn
	}
	out, err := write(ctx, t.lease, nms...)
	if err != nil {
		return nil, fmt.Errorf("store turn: %w", err)
	}
	return out, nil
}

// History builds what a new turn sends upstream: the system prompt (when
// not empty), then as many of the conversation's latest messages as fit
// Config.HistoryMaxChars beside the system prompt and the new prompt, in
// order, then the prompt. CodeNotFound when user has no such conversation.
func (s *Service) History(ctx context.Context, user domain.UserID, id domain.ConversationID, system, prompt string) ([]domain.Message, error) {
	stored, err := s.store.LatestMessages(ctx, user, id, min(s.cfg.HistoryMaxChars, maxHistoryMessages))
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return BuildHistory(system, stored, prompt, s.cfg.HistoryMaxChars), nil
}

// RegenerateHistory is History for a turn that replaces the conversation's
// last one (Turn.Replace): the last prompt and what follows it are left
// out, the prompt takes their place. CodeInvalid when the conversation
// holds no prompt to answer again; CodeConflict when its last prompt is not
// prompt (the caller's view of the thread is stale: another turn came
// after the one it means, and replacing that one would lose it);
// CodeNotFound as History.
func (s *Service) RegenerateHistory(ctx context.Context, user domain.UserID, id domain.ConversationID, system, prompt string) ([]domain.Message, error) {
	stored, err := s.store.LatestMessages(ctx, user, id, min(s.cfg.HistoryMaxChars, maxHistoryMessages))
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	last := len(stored) - 1
	for last >= 0 && stored[last].Role != domain.MessageFromUser {
		last--
	}
	if last < 0 {
		return nil, domain.Invalid("regenerate", "the conversation has no prompt to answer again")
	}
	if stored[last].Content != prompt {
		return nil, domain.Errorf(domain.CodeConflict, "The conversation's last prompt is not this one: read the conversation again, then regenerate its last answer")
	}
	return BuildHistory(system, stored[:last], prompt, s.cfg.HistoryMaxChars), nil
}

// BuildHistory is History's rule over stored messages (oldest first): the
// system prompt and the prompt always go; the budget, in characters,
// takes the latest messages whole, newest first, and stops at the first
// that does not fit, so that the history has no gap and no message is cut
// in half. A history never opens on an assistant message: the answer
// goes with its question or not at all.
func BuildHistory(system string, stored []domain.ConversationMessage, prompt string, maxChars int) []domain.Message {
	left := maxChars - utf8.RuneCountInString(system) - utf8.RuneCountInString(prompt)
	from := len(stored)
	for from > 0 {
		n := utf8.RuneCountInString(stored[from-1].Content)
		if n > left {
			break
		}
		left -= n
		from--
	}
	for from < len(stored) && stored[from].Role != domain.MessageFromUser {
		from++
	}
	out := make([]domain.Message, 0, len(stored)-from+2)
	if system != "" {
		out = append(out, domain.Message{Role: domain.RoleSystem, Content: system})
	}
	for _, m := range stored[from:] {
		out = append(out, domain.Message{Role: string(m.Role), Content: m.Content})
	}
	return append(out, domain.Message{Role: domain.RoleUser, Content: prompt})
}
