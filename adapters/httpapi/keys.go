package httpapi

import (
	"context"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/apikeys"
)

// errKeyMintsKey refuses key creation with a key: a leaked key must not be
// able to mint more keys that outlive its revocation.
var errKeyMintsKey = domain.Errorf(domain.CodeForbidden, "API keys cannot manage API keys; log in and use the access token")

func toAPIKey(k domain.APIKey) api.APIKey {
	id, _ := uuid.Parse(string(k.ID))
	return api.APIKey{
		Id: openapi_types.UUID(id), Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
		Scopes: toKeyScopes(k.Scopes), ExpiresAt: k.ExpiresAt,
	}
}

func toKeyScopes(scopes []domain.Scope) []api.KeyScope {
	out := make([]api.KeyScope, len(scopes))
	for i, s := range scopes {
		out[i] = api.KeyScope(s)
	}
	return out
}

// CreateAPIKey implements api.StrictServerInterface.
func (h *handlers) CreateAPIKey(ctx context.Context, req api.CreateAPIKeyRequestObject) (api.CreateAPIKeyResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, viaKey := APIKeyFrom(ctx); viaKey {
		return nil, errKeyMintsKey
	}
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return nil, err
	}
	b := req.Body
	cr := apikeys.CreateRequest{Name: b.Name, ExpiresInDays: b.ExpiresInDays, ExpiresAt: b.ExpiresAt}
	if b.Scopes != nil {
		if len(*b.Scopes) == 0 {
			return nil, domain.Errorf(domain.CodeInvalid, "scopes: give at least one (chat, admin), or leave it out for chat")
		}
		for _, sc := range *b.Scopes {
			cr.Scopes = append(cr.Scopes, string(sc))
		}
	}
	k, key, err := h.s.deps.APIKeys.Create(ctx, u, RequestIDFrom(ctx), cr)
	if err != nil {
		return nil, err
	}
	id, _ := uuid.Parse(string(k.ID))
	return api.CreateAPIKey201JSONResponse{
		Id: openapi_types.UUID(id), Name: k.Name, Key: key, Prefix: k.Prefix, CreatedAt: k.CreatedAt,
		Scopes: toKeyScopes(k.Scopes), ExpiresAt: k.ExpiresAt,
	}, nil
}

// ListAPIKeys implements api.StrictServerInterface.
func (h *handlers) ListAPIKeys(ctx context.Context, _ api.ListAPIKeysRequestObject) (api.ListAPIKeysResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := h.s.deps.APIKeys.List(ctx, u)
	if err != nil {
		return nil, err
	}
	out := api.ListAPIKeys200JSONResponse{Keys: make([]api.APIKey, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, toAPIKey(k))
	}
	return out, nil
}

// RevokeAPIKey implements api.StrictServerInterface.
func (h *handlers) RevokeAPIKey(ctx context.Context, req api.RevokeAPIKeyRequestObject) (api.RevokeAPIKeyResponseObject, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.s.deps.APIKeys.Revoke(ctx, u, domain.APIKeyID(uuid.UUID(req.Id).String())); err != nil {
		return nil, err
	}
	return api.RevokeAPIKey204Response{}, nil
}
