package admin

import (
	"context"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/routing"
)

// Router is what the use case reads of the provider router
// (*routing.Router): its read-only view of the providers' breakers and keys.
type Router interface {
	// Providers reports each configured provider's breaker, health verdict
	// and keys (by index, never the key).
	Providers() []routing.ProviderStatus
}

// Providers reports the configured providers' breakers, health verdicts and
// keys as this instance's router sees them (cooldowns and rejections other
// instances shared count once this instance has tried the provider since).
// Without a router (the operator's service) the list is empty.
// Errors: CodeForbidden.
func (s *Service) Providers(_ context.Context, actor domain.User) ([]routing.ProviderStatus, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if s.router == nil {
		return nil, nil
	}
	return s.router.Providers(), nil
}
