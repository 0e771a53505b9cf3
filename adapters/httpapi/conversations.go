package httpapi

import (
	"context"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
	"github.com/genzai/genzai/domain/conversations"
)

func toConversation(c domain.Conversation) api.Conversation {
	return api.Conversation{Id: conversationUUID(c.ID), Title: optional(c.Title), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// conversationUUID is the wire id of a conversation; the stores make them
// UUIDs.
func conversationUUID(id domain.ConversationID) openapi_types.UUID {
	u, _ := uuid.Parse(string(id))
	return openapi_types.UUID(u)
}

func conversationID(id openapi_types.UUID) domain.ConversationID {
	return domain.ConversationID(uuid.UUID(id).String())
}

func toConversationMessage(m domain.ConversationMessage) api.ConversationMessage {
	out := api.ConversationMessage{
		Id: int64(m.ID), Role: api.MessageRole(m.Role), Content: m.Content, Status: api.MessageStatus(m.Status),
		CreatedAt: m.CreatedAt,
	}
	// The answer's provenance: only assistant messages have one.
	if m.Role == domain.MessageFromAssistant {
		if m.Tier != "" {
			tier := api.Tier(m.Tier)
			out.Model = &tier
		}
		if m.Provider != "" {
			p := api.Provider(m.Provider)
			out.Provider = &p
		}
		out.UpstreamModel, out.RequestId = optional(m.UpstreamModel), optional(m.RequestID)
		out.Usage = &api.Usage{PromptTokens: m.Usage.PromptTokens, CompletionTokens: m.Usage.CompletionTokens}
		out.Sources = toSources(m.Sources)
	}
	return out
}

// pageLimit is a page size as the service reads it: 0 there means "the
// default", so a limit=0 the client sent explicitly becomes out of range.
func pageLimit(p *int) int {
	switch {
	case p == nil:
		return 0
	case *p == 0:
		return -1
	default:
		return *p
	}
}

// CreateConversation implements api.StrictServerInterface.
func (h *handlers) CreateConversation(ctx context.Context, req api.CreateConversationRequestObject) (api.CreateConversationResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.s.deps.Conversations.Create(ctx, u.ID, req.Body.Title)
	if err != nil {
		return nil, err
	}
	return api.CreateConversation201JSONResponse(toConversation(c)), nil
}

// ListConversations implements api.StrictServerInterface.
func (h *handlers) ListConversations(ctx context.Context, req api.ListConversationsRequestObject) (api.ListConversationsResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	page, err := h.s.deps.Conversations.List(ctx, u.ID, conversations.ListRequest{
		Limit: pageLimit(p.Limit), Cursor: deref(p.Cursor), Query: deref(p.Q),
	})
	if err != nil {
		return nil, err
	}
	out := api.ListConversations200JSONResponse{
		Conversations: make([]api.Conversation, 0, len(page.Conversations)), NextCursor: optional(page.NextCursor),
	}
	for _, c := range page.Conversations {
		out.Conversations = append(out.Conversations, toConversation(c))
	}
	return out, nil
}

// GetConversation implements api.StrictServerInterface.
func (h *handlers) GetConversation(ctx context.Context, req api.GetConversationRequestObject) (api.GetConversationResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.s.deps.Conversations.Get(ctx, u.ID, conversationID(req.Id), conversations.ThreadRequest{
		Limit: pageLimit(req.Params.Limit), Cursor: deref(req.Params.Cursor), Latest: deref(req.Params.Latest),
	})
	if err != nil {
		return nil, err
	}
	c := t.Conversation
	out := api.GetConversation200JSONResponse{
		Id: conversationUUID(c.ID), Title: optional(c.Title), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Messages: make([]api.ConversationMessage, 0, len(t.Messages)), NextCursor: optional(t.NextCursor),
	}
	for _, m := range t.Messages {
		out.Messages = append(out.Messages, toConversationMessage(m))
	}
	return out, nil
}

// RenameConversation implements api.StrictServerInterface.
func (h *handlers) RenameConversation(ctx context.Context, req api.RenameConversationRequestObject) (api.RenameConversationResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.s.deps.Conversations.Rename(ctx, u.ID, conversationID(req.Id), req.Body.Title)
	if err != nil {
		return nil, err
	}
	return api.RenameConversation200JSONResponse(toConversation(c)), nil
}

// DeleteConversation implements api.StrictServerInterface.
func (h *handlers) DeleteConversation(ctx context.Context, req api.DeleteConversationRequestObject) (api.DeleteConversationResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.s.deps.Conversations.Delete(ctx, u.ID, conversationID(req.Id)); err != nil {
		return nil, err
	}
	return api.DeleteConversation204Response{}, nil
}

// chatConversation reads a chat's conversation_id: absent, "new" or one
// of the caller's conversation ids (a UUID, whatever its case).
func chatConversation(id *string) (domain.ConversationID, error) {
	switch {
	case id == nil:
		return "", nil
	case *id == string(chat.NewConversation):
		return chat.NewConversation, nil
	}
	u, err := uuid.Parse(*id)
	if err != nil || len(*id) != 36 {
		return "", domain.Invalid("conversation_id", `must be a conversation id or "new"`)
	}
	return domain.ConversationID(u.String()), nil
}

// conversationRef is an answer's conversation_id; nil without one.
func conversationRef(id domain.ConversationID) *openapi_types.UUID {
	if id == "" {
		return nil
	}
	u := conversationUUID(id)
	return &u
}
