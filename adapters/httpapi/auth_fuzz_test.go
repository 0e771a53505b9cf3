package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/apikeys"
)

// tokenPlaceholder in a fuzzed header stands for the valid token of the
// fuzz server's user, which changes from run to run: committed seeds can
// then hold it, and the fuzzer can mutate around it.
const tokenPlaceholder = "{token}"

// Placeholders for the fuzz server user's personal API keys, made afresh
// on every run like the token: a key with the chat scope that the quota
// route needs, one that was revoked, and one with the admin scope only.
const (
	keyPlaceholder        = "{key}"
	revokedPlaceholder    = "{revoked}"
	wrongScopePlaceholder = "{adminkey}"
)

// fuzzKeys are the fuzz user's API keys, by placeholder.
type fuzzKeys struct{ chat, revoked, adminOnly string }

// newFuzzKeys makes the fuzz user's keys. The admin-only key is made as an
// admin (only admins may hold that scope) but the stored account is not
// one: what the route checks is the key's scope.
func newFuzzKeys(tb testing.TB, s *fuzzServer) fuzzKeys {
	tb.Helper()
	ctx := context.Background()
	_, chatKey, err := s.apiKeys.Create(ctx, s.user, "", apikeys.CreateRequest{Name: "chat"})
	require.NoError(tb, err)
	gone, revoked, err := s.apiKeys.Create(ctx, s.user, "", apikeys.CreateRequest{Name: "revoked"})
	require.NoError(tb, err)
	require.NoError(tb, s.apiKeys.Revoke(ctx, s.user, gone.ID))
	admin := s.user
	admin.IsAdmin = true
	_, adminOnly, err := s.apiKeys.Create(ctx, admin, "", apikeys.CreateRequest{Name: "admin", Scopes: []string{string(domain.ScopeAdmin)}})
	require.NoError(tb, err)
	return fuzzKeys{chat: chatKey, revoked: revoked, adminOnly: adminOnly}
}

func (k fuzzKeys) expand(header, token string) string {
	return strings.NewReplacer(tokenPlaceholder, token, keyPlaceholder, k.chat,
		revokedPlaceholder, k.revoked, wrongScopePlaceholder, k.adminOnly).Replace(header)
}

// FuzzAuthorization sends fuzzed Authorization headers to a protected route
// (GET /api/v1/quota, which API keys reach with the chat scope). Nothing
// may panic or answer 5xx; the request passes only when the header is the
// Bearer scheme (any case), one space, and the user's token or their
// unrevoked chat-scoped API key byte for byte (white space around it
// aside); the user's valid key without the chat scope is a 403; anything
// else is a 401 with a Bearer challenge.
func FuzzAuthorization(f *testing.F) {
	s := newFuzzServer(f)
	keys := newFuzzKeys(f, s)
	for _, h := range []string{
		"Bearer {token}", "bearer {token}", "BEARER   {token}  ", "Bearer\t{token}", "Bearer  \t{token}\t",
		"{token}", "Bearer", "Bearer ", " Bearer {token}", "", "Basic dXNlcjpwYXNz", "Token {token}",
		"Bearer {token}x", "Bearer x{token}", "Bearer {token} {token}", "Bearer {token}.", "Bearer {token}=",
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.", "Bearer a.b.c", "Bearer ....", "Bearer \x00",
		// Personal API keys: valid, revoked, lacking the route's scope, in
		// another scheme, doubled, and key-shaped strings that are no key.
		"Bearer {key}", "bearer {key} ", "Bearer {revoked}", "Bearer {adminkey}", "{key}", "Basic {key}",
		"Bearer {key}{key}", "Bearer {key} {key}", "Bearer {key}=", "Bearer x{key}", "Bearer {adminkey}x",
		"Bearer gz-", "Bearer gz-" + strings.Repeat("A", 43), "Bearer gz-" + strings.Repeat("!", 43),
		"Bearer GZ-" + strings.Repeat("A", 43), "Bearer gz-\x00" + strings.Repeat("A", 42),
	} {
		f.Add(h)
	}
	// The token and the key with a character changed, cut, and with a line
	// break inside.
	for _, cred := range []string{s.token, keys.chat} {
		f.Add("Bearer " + cred[:len(cred)-1])
		f.Add("Bearer " + cred[:len(cred)-1] + string(cred[len(cred)-1]^1))
		f.Add("Bearer " + cred[:len(cred)-4] + "\n" + cred[len(cred)-4:])
	}
	f.Add("Bearer " + keys.chat[:len(domain.APIKeyMarker)+8])
	f.Add("Bearer " + keys.chat[:len(keys.chat)-1] + "=")
	f.Fuzz(func(t *testing.T, header string) {
		header = keys.expand(header, s.token)
		rec := s.do(http.MethodGet, "/api/v1/quota", header, nil)
		require.Empty(t, s.problems.take(), "status %d", rec.Code)
		scheme, cred, ok := strings.Cut(header, " ")
		bearer := ok && strings.EqualFold(scheme, "Bearer")
		cred = strings.TrimSpace(cred)
		var e struct{ Code string }
		switch {
		case bearer && (cred == s.token || cred == keys.chat):
			assert.Equal(t, http.StatusOK, rec.Code, "the user's own credential refused: %s", rec.Body)
			return
		case bearer && cred == keys.adminOnly:
			require.Equal(t, http.StatusForbidden, rec.Code, "a key without the chat scope let in: %s", rec.Body)
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.Equal(t, "forbidden", e.Code)
			return
		}
		require.Equal(t, http.StatusUnauthorized, rec.Code, "header %q let in: %s", header, rec.Body)
		assert.True(t, strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer"))
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
		assert.Equal(t, "unauthorized", e.Code)
	})
}
