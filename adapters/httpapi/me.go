package httpapi

import (
	"context"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
	"github.com/genzai/genzai/domain/userdata"
)

// exportDisposition names the file a browser saves an export under.
const exportDisposition = `attachment; filename="genzai-export.json"`

// GetMe implements api.StrictServerInterface.
func (h *handlers) GetMe(ctx context.Context, _ api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	acc, err := h.s.deps.UserData.Account(ctx, u)
	if err != nil {
		return nil, err
	}
	return api.GetMe200JSONResponse(toMe(acc)), nil
}

// ExportMe implements api.StrictServerInterface. API keys are refused by
// the spec (no x-key-scope): the export holds every conversation.
func (h *handlers) ExportMe(ctx context.Context, _ api.ExportMeRequestObject) (api.ExportMeResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	x, err := h.s.deps.UserData.Export(ctx, u)
	if err != nil {
		return nil, err
	}
	body := api.AccountExport{
		ExportedAt:    x.At,
		Account:       toMe(x.Account),
		Conversations: make([]api.ExportedConversation, 0, len(x.Conversations)),
		Feedback:      make([]api.Feedback, 0, len(x.Feedback)),
		ApiKeys:       make([]api.APIKey, 0, len(x.APIKeys)),
	}
	for _, t := range x.Conversations {
		body.Conversations = append(body.Conversations, toExportedConversation(t))
	}
	for _, f := range x.Feedback {
		body.Feedback = append(body.Feedback, api.Feedback{
			RequestId: f.RequestID, Rating: api.Rating(f.Rating), Comment: optional(f.Comment),
			CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		})
	}
	for _, k := range x.APIKeys {
		body.ApiKeys = append(body.ApiKeys, toAPIKey(k))
	}
	disposition := exportDisposition
	return api.ExportMe200JSONResponse{Body: body, Headers: api.ExportMe200ResponseHeaders{ContentDisposition: &disposition}}, nil
}

// DeleteMe implements api.StrictServerInterface. API keys are refused by
// the spec (no x-key-scope): a leaked key must not delete the account.
func (h *handlers) DeleteMe(ctx context.Context, req api.DeleteMeRequestObject) (api.DeleteMeResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.s.deps.Login.DeleteAccount(ctx, u, req.Body.Password); err != nil {
		return nil, err
	}
	return api.DeleteMe204Response{}, nil
}

func toMe(a userdata.Account) api.Me {
	id, _ := uuid.Parse(string(a.User.ID))
	return api.Me{
		Id: openapi_types.UUID(id), Email: a.User.Email, CreatedAt: a.User.CreatedAt, IsAdmin: a.User.IsAdmin,
		EmailVerified: a.User.EmailVerified(), HasPassword: a.User.HasPassword(),
		Quota: api.Quota{
			Used: a.Quota.Used, Limit: a.Quota.Limit, Remaining: a.Quota.Remaining(),
			ResetsAt: a.Quota.ResetsAt, ResetTimeUtc: domain.ResetTimeUTC,
		},
	}
}

func toExportedConversation(t conversations.Thread) api.ExportedConversation {
	c := t.Conversation
	id, _ := uuid.Parse(string(c.ID))
	out := api.ExportedConversation{
		Id: openapi_types.UUID(id), Title: optional(c.Title), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Messages: make([]api.ExportedMessage, 0, len(t.Messages)),
	}
	for _, m := range t.Messages {
		em := api.ExportedMessage{
			Id: int64(m.ID), Role: api.ExportedMessageRole(m.Role), Content: m.Content,
			Status: api.ExportedMessageStatus(m.Status), CreatedAt: m.CreatedAt,
			UpstreamModel: optional(m.UpstreamModel), RequestId: optional(m.RequestID),
		}
		if m.Role == domain.MessageFromAssistant {
			if m.Tier != "" {
				tier := api.Tier(m.Tier)
				em.Model = &tier
			}
			if m.Provider != "" {
				provider := api.Provider(m.Provider)
				em.Provider = &provider
			}
			sources := []api.Source{}
			if s := toSources(m.Sources); s != nil {
				sources = *s
			}
			em.Sources = &sources
			em.Usage = &api.Usage{PromptTokens: m.Usage.PromptTokens, CompletionTokens: m.Usage.CompletionTokens}
		}
		out.Messages = append(out.Messages, em)
	}
	return out
}
