package httpapi

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// TestKeyScopesOfTheSpec pins what a personal API key may open, as the
// spec's x-key-scope says: every admin route needs the admin scope, the
// key and account routes (logout, password, verification mail, the
// export and deletion of the account) take access tokens only, and the rest of the bearer routes
// need the chat scope. A new bearer route without x-key-scope takes no key
// at all, so forgetting it fails closed.
func TestKeyScopesOfTheSpec(t *testing.T) {
	t.Parallel()
	routes, err := bearerRoutes()
	require.NoError(t, err)
	require.NotEmpty(t, routes)
	for route, scope := range routes {
		path := route[strings.IndexByte(route, ' ')+1:]
		switch {
		case strings.HasPrefix(path, "/api/v1/admin/"):
			assert.Equal(t, domain.ScopeAdmin, scope, route)
		case strings.HasPrefix(path, "/api/v1/keys"), path == "/api/v1/auth/logout", path == "/api/v1/me/password",
			path == "/api/v1/auth/verify/resend", path == "/api/v1/me/export", route == "DELETE /api/v1/me":
			assert.Equal(t, domain.Scope(""), scope, "%s: the account and its keys are managed with access tokens", route)
		default:
			assert.Equal(t, domain.ScopeChat, scope, route)
		}
	}
	for _, route := range []string{
		"POST /api/v1/chat", "POST /v1/chat/completions", "GET /api/v1/quota", "GET /api/v1/models",
		"GET /v1/models", "GET /v1/models/:model", "POST /api/v1/feedback", "GET /api/v1/web-search",
		"GET /api/v1/admin/audit", "POST /api/v1/admin/changes/:id/confirm", "PATCH /api/v1/admin/users/:id",
		"POST /api/v1/keys", "GET /api/v1/keys", "DELETE /api/v1/keys/:id",
		"GET /api/v1/me", "GET /api/v1/me/export", "DELETE /api/v1/me",
	} {
		_, ok := routes[route]
		assert.True(t, ok, "%s is a bearer route", route)
	}
}
