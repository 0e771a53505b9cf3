package chat

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
)

// NewConversation as Request.ConversationID starts a conversation for the
// request.
const NewConversation domain.ConversationID = "new"

// Conversations keeps the threads chat continues (conversations.Service).
type Conversations interface {
	Create(ctx context.Context, user domain.UserID, title *string) (domain.Conversation, error)
	Delete(ctx context.Context, user domain.UserID, id domain.ConversationID) error
	BeginTurn(ctx context.Context, user domain.UserID, id domain.ConversationID) (*conversations.Turn, error)
	History(ctx context.Context, user domain.UserID, id domain.ConversationID, system, prompt string) ([]domain.Message, error)
	RegenerateHistory(ctx context.Context, user domain.UserID, id domain.ConversationID, system, prompt string) ([]domain.Message, error)
}

var _ Conversations = (*conversations.Service)(nil)

// thread is the conversation a request continues, held for its turn.
type thread struct {
	id      domain.ConversationID
	turn    *conversations.Turn
	created bool // by this request ("new")
}

// converse answers a request, in its conversation when it names one: the
// turn holds the conversation (a second chat on it gets
// *domain.ConversationBusyError), the upstream messages are its history,
// and the prompt and the answer are stored once the answer ends.
func (s *Service) converse(ctx context.Context, u *domain.User, req *Request, sink Sink, began time.Time, sv *served) (Result, error) {
	if req.ConversationID == "" {
		return s.answer(ctx, u, req, sink, began, sv)
	}
	th, err := s.openThread(ctx, *u, req)
	if err != nil {
		return Result{}, err
	}
	rec := &recordingSink{Sink: sink, id: th.id}
	res, err := s.answer(ctx, u, req, rec, began, sv)
	s.closeThread(ctx, *u, th, req, rec, sv, err)
	if err != nil {
		return Result{}, err
	}
	res.ConversationID = th.id
	return res, nil
}

// openThread takes the request's conversation (a new one for
// NewConversation) for the turn and puts its stored history into
// req.Messages. Errors: CodeInvalid, CodeNotFound for a conversation that
// is not the user's, *domain.ConversationBusyError, CodeConflict past the
// user's most conversations.
func (s *Service) openThread(ctx context.Context, u domain.User, req *Request) (*thread, error) {
	switch {
	case s.cfg.Conversations == nil:
		return nil, domain.Errorf(domain.CodeFeatureDisabled, "Conversations are not available on this server")
	case req.API != domain.APINative:
		return nil, domain.Invalid("conversation_id", "not used by this API")
	case len(req.Messages) > 0:
		return nil, domain.Invalid("messages", "not used with conversation_id: the server sends the conversation's history")
	}
	th := &thread{id: req.ConversationID}
	if th.id == NewConversation {
		c, err := s.cfg.Conversations.Create(ctx, u.ID, nil)
		if err != nil {
			return nil, err
		}
		th.id, th.created = c.ID, true
	}
	turn, err := s.cfg.Conversations.BeginTurn(ctx, u.ID, th.id)
	if err != nil {
		s.forgetThread(ctx, u, th)
		return nil, err
	}
	th.turn = turn
	history := s.cfg.Conversations.History
	if req.Regenerate {
		history = s.cfg.Conversations.RegenerateHistory
	}
	hist, err := history(ctx, u.ID, th.id, req.System, req.Prompt)
	if err != nil {
		s.endTurn(ctx, u, th)
		s.forgetThread(ctx, u, th)
		return nil, err
	}
	// The history opens with the system prompt and ends with the prompt:
	// the request adds both itself (with the search results between).
	if req.System != "" {
		hist = hist[1:]
	}
	req.Messages = hist[:len(hist)-1]
	return th, nil
}

// closeThread stores the turn once its answer ended: the prompt, then
// what arrived of the answer, interrupted when it did not end well. A
// turn that produced nothing stores nothing (and a conversation it
// started goes). The client may be gone: the writes outlive its context.
func (s *Service) closeThread(ctx context.Context, u domain.User, th *thread, req *Request, rec *recordingSink, sv *served, answerErr error) {
	ctx = context.WithoutCancel(ctx)
	content := rec.content.String()
	if content == "" {
		s.endTurn(ctx, u, th)
		s.forgetThread(ctx, u, th)
		return
	}
	defer s.endTurn(ctx, u, th)
	status := domain.MessageComplete
	if answerErr != nil {
		status = domain.MessageInterrupted
	}
	m := rec.meta
	// One write, guarded by the turn's lease: if another turn took the
	// conversation (the store was out of reach for a whole lease), this
	// one stores nothing rather than interleave.
	store := th.turn.Store
	if req.Regenerate {
		store = th.turn.Replace
	}
	_, err := store(ctx,
		domain.ConversationMessage{Role: domain.MessageFromUser, Content: req.Prompt, Status: domain.MessageComplete},
		domain.ConversationMessage{
			Role: domain.MessageFromAssistant, Content: content, Status: status,
			Tier: m.Tier, Provider: m.Provider, UpstreamModel: m.UpstreamModel, RequestID: req.RequestID,
			Usage: sv.usage, Sources: m.Sources,
		})
	switch {
	case errors.Is(err, domain.ErrTurnLost):
		s.log.Warn("conversation turn lost: turn not stored", "user_id", u.ID, "conversation_id", th.id)
	case err != nil:
		s.log.Error("store turn", "user_id", u.ID, "conversation_id", th.id, "error", err)
	}
}

func (s *Service) endTurn(ctx context.Context, u domain.User, th *thread) {
	if err := th.turn.End(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("end conversation turn", "user_id", u.ID, "conversation_id", th.id, "error", err)
	}
}

// forgetThread deletes a conversation the request started and stored
// nothing in.
func (s *Service) forgetThread(ctx context.Context, u domain.User, th *thread) {
	if !th.created {
		return
	}
	if err := s.cfg.Conversations.Delete(context.WithoutCancel(ctx), u.ID, th.id); err != nil {
		s.log.Warn("delete empty conversation", "user_id", u.ID, "conversation_id", th.id, "error", err)
	}
}

// recordingSink keeps what a conversation's answer delivered, to store it,
// and names the conversation in its meta.
type recordingSink struct {
	Sink
	id      domain.ConversationID
	meta    Meta
	content strings.Builder
}

// Begin implements Sink.
func (r *recordingSink) Begin(m Meta) error {
	m.ConversationID = r.id
	r.meta = m
	return r.Sink.Begin(m)
}

// Token implements Sink: what arrived is kept even when the client is gone.
func (r *recordingSink) Token(text string) error {
	r.content.WriteString(text)
	return r.Sink.Token(text)
}
