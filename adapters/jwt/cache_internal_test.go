package jwt

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// fakeNow is a clock the test moves.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func TestVerifiedTokensServeUntilTheyExpire(t *testing.T) {
	t.Parallel()
	clock := &fakeNow{t: time.Now()}
	iss := New([]byte("cache-test-secret-0123456789abcdef-0123"), "genzai-test")
	iss.now = clock.now
	start := clock.t
	token, err := iss.Issue(domain.TokenClaims{UserID: "user-1", Email: "ada@example.com", IssuedAt: start, ExpiresAt: start.Add(time.Hour)})
	require.NoError(t, err)

	first, err := iss.Verify(token)
	require.NoError(t, err)
	assert.Len(t, iss.verified, 1, "a verified token is kept")
	again, err := iss.Verify(token)
	require.NoError(t, err)
	assert.Equal(t, first, again, "the kept claims are the verified ones")

	for _, tc := range []struct {
		name     string
		at       time.Duration
		wantCode domain.Code
		kept     bool
	}{
		{"just before exp", time.Hour - time.Second, "", true},
		{"past exp, within the leeway: checked in full", time.Hour + 10*time.Second, "", false},
		{"past the leeway", time.Hour + time.Minute, domain.CodeTokenExpired, false},
	} {
		clock.t = start.Add(tc.at)
		_, err := iss.Verify(token)
		assert.Equal(t, tc.wantCode, domain.ErrorCode(err), tc.name)
		assert.Equal(t, tc.kept, len(iss.verified) == 1, tc.name)
	}

	// Another spelling of the token is not the kept one: checked in full.
	clock.t = start
	_, err = iss.Verify(token + "A")
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
}

func TestVerifiedTokensAreBounded(t *testing.T) {
	t.Parallel()
	iss := New([]byte("cache-test-secret-0123456789abcdef-0123"), "genzai-test")
	now := time.Now()
	for n := range maxVerified + 10 {
		token, err := iss.Issue(domain.TokenClaims{UserID: domain.UserID(fmt.Sprint("user-", n)), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		require.NoError(t, err)
		_, err = iss.Verify(token)
		require.NoError(t, err)
	}
	assert.Len(t, iss.verified, maxVerified)
}
