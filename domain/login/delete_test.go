package login_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		password *string
		code     domain.Code
		message  string
	}{
		{name: "deleted", password: ptr(password)},
		{name: "wrong password", password: ptr("not my password"), code: domain.CodeUnauthorized, message: "Current password is incorrect"},
		{name: "password missing", code: domain.CodeInvalid, message: "password: is required"},
		{name: "password empty", password: ptr(""), code: domain.CodeInvalid, message: "password: is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false)
			_, err := f.svc.Register(ctx, "ada@example.com", password)
			require.NoError(t, err)
			tok, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
			require.NoError(t, err)
			u, err := f.svc.Authenticate(ctx, tok.AccessToken)
			require.NoError(t, err)

			err = f.svc.DeleteAccount(ctx, u, tc.password)
			if tc.code != "" {
				assert.Equal(t, tc.code, domain.ErrorCode(err), "err: %v", err)
				assert.ErrorContains(t, err, tc.message)
				_, err = f.svc.Authenticate(ctx, tok.AccessToken)
				assert.NoError(t, err, "a refused deletion deletes nothing")
				return
			}
			require.NoError(t, err)
			_, err = f.svc.Authenticate(ctx, tok.AccessToken)
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "the token is refused: %v", err)
			_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
			assert.NoError(t, f.svc.DeleteAccount(ctx, u, ptr(password)), "already gone: what was asked")
		})
	}
}

func TestDeleteEmailOnlyAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	tok, err := f.svc.Login(ctx, "dev@example.com", nil)
	require.NoError(t, err)
	u, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.DeleteAccount(ctx, u, nil), "no password to confirm with")
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
}

// TestDeleteAccountSharesTheLoginBudget: a stolen token does not buy
// unlimited guesses at the password through deletion.
func TestDeleteAccountSharesTheLoginBudget(t *testing.T) {
	t.Parallel()
	f := guardedFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	tok, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
	require.NoError(t, err)
	u, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	for i := range 3 {
		err := f.svc.DeleteAccount(ctx, u, ptr("a guess"))
		require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "guess %d", i+1)
	}
	err = f.svc.DeleteAccount(ctx, u, ptr(password))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "the right password waits too")
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "and so does login")
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.NoError(t, err, "nothing deleted")
}
