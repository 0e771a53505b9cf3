package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenPlaceholder in a fuzzed header stands for the valid token of the
// fuzz server's user, which changes from run to run: committed seeds can
// then hold it, and the fuzzer can mutate around it.
const tokenPlaceholder = "{token}"

// FuzzAuthorization sends fuzzed Authorization headers to a protected route
// (GET /api/v1/quota). Nothing may panic or answer 5xx; the request passes
// only when the header is the Bearer scheme (any case), one space, and the
// user's token byte for byte (white space around it aside); anything else
// is a 401 with a Bearer challenge.
func FuzzAuthorization(f *testing.F) {
	s := newFuzzServer(f)
	for _, h := range []string{
		"Bearer {token}", "bearer {token}", "BEARER   {token}  ", "Bearer\t{token}", "Bearer  \t{token}\t",
		"{token}", "Bearer", "Bearer ", " Bearer {token}", "", "Basic dXNlcjpwYXNz", "Token {token}",
		"Bearer {token}x", "Bearer x{token}", "Bearer {token} {token}", "Bearer {token}.", "Bearer {token}=",
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.", "Bearer a.b.c", "Bearer ....", "Bearer \x00",
	} {
		f.Add(h)
	}
	// The token with a character changed, cut, and with a line break inside.
	tok := s.token
	f.Add("Bearer " + tok[:len(tok)-1])
	f.Add("Bearer " + tok[:len(tok)-1] + string(tok[len(tok)-1]^1))
	f.Add("Bearer " + tok[:len(tok)-4] + "\n" + tok[len(tok)-4:])
	f.Fuzz(func(t *testing.T, header string) {
		header = strings.ReplaceAll(header, tokenPlaceholder, s.token)
		rec := s.do(http.MethodGet, "/api/v1/quota", header, nil)
		require.Empty(t, s.problems.take(), "status %d", rec.Code)
		scheme, token, ok := strings.Cut(header, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) == s.token {
			assert.Equal(t, http.StatusOK, rec.Code, "the user's own token refused: %s", rec.Body)
			return
		}
		require.Equal(t, http.StatusUnauthorized, rec.Code, "header %q let in: %s", header, rec.Body)
		assert.True(t, strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer"))
		var e struct{ Code string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
		assert.Equal(t, "unauthorized", e.Code)
	})
}
