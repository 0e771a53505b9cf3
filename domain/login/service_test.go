package login_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/domain/login"
)

var (
	// Tokens are checked against the wall clock, so the fake clock starts at now.
	now        = time.Now().UTC().Truncate(time.Second)
	cheap      = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	secret     = []byte("0123456789abcdef0123456789abcdef")
	ctx        = context.Background()
	password   = "correct horse"
	adminEmail = "boss@example.com"
)

// countingHasher counts verifications, to prove every failed login does
// the same hashing work.
type countingHasher struct {
	*argon2id.Hasher
	verifies atomic.Int32
}

func (h *countingHasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	h.verifies.Add(1)
	return h.Hasher.Verify(ctx, password, encoded)
}

type fixture struct {
	store  *memory.Store
	clock  *memory.Clock
	hasher *countingHasher
	tokens *jwt.Issuer
	svc    *login.Service
}

func newFixture(t *testing.T, allowEmailLogin bool) fixture {
	t.Helper()
	f := fixture{
		store:  memory.NewStore(),
		clock:  memory.NewClock(now),
		hasher: &countingHasher{Hasher: argon2id.New(cheap, 4)},
		tokens: jwt.New(secret, "genzai"),
	}
	f.svc = login.New(f.store, f.hasher, f.tokens, f.clock, login.Config{
		Emails:          email.New(idn.Lookup{}),
		AdminEmails:     []string{adminEmail},
		AllowEmailLogin: allowEmailLogin,
		TokenTTL:        24 * time.Hour,
	})
	return f
}

func ptr(s string) *string { return &s }

func TestRegister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, email, password string
		code                  domain.Code
		wantEmail             string
		wantAdmin             bool
	}{
		{"normalises the email", "  Ada@Example.COM ", password, "", "ada@example.com", false},
		{"admin emails are not admins at registration", "Boss@example.com", password, "", adminEmail, false},
		{"internationalised domains in ASCII", "carol@EXÄMPLE.com", password, "", "carol@xn--exmple-cua.com", false},
		{"invalid internationalised domain", "carol@xn--a.com", password, domain.CodeInvalid, "", false},
		{"invalid email", "ada", password, domain.CodeInvalid, "", false},
		{"short password", "ada@example.com", "1234567", domain.CodeInvalid, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false)
			u, err := f.svc.Register(ctx, tt.email, tt.password)
			if tt.code != "" {
				assert.Equal(t, tt.code, domain.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantEmail, u.Email)
			assert.Equal(t, tt.wantAdmin, u.IsAdmin)
			assert.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$`, u.PasswordHash)
			assert.NotContains(t, u.PasswordHash, tt.password)
		})
	}
}

func TestRegisterDuplicateIgnoresCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	_, err = f.svc.Register(ctx, "ADA@example.com", "another password")
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
}

func TestLoginWithPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)

	tok, err := f.svc.Login(ctx, " ADA@example.com", ptr(password))
	require.NoError(t, err)
	assert.Equal(t, 24*time.Hour, tok.ExpiresIn)
	claims, err := f.tokens.Verify(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, claims.UserID)
	assert.Equal(t, "ada@example.com", claims.Email)
	assert.True(t, now.Equal(claims.IssuedAt))
	assert.True(t, now.Add(24*time.Hour).Equal(claims.ExpiresAt))

	stored, err := f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	require.NotNil(t, stored.LastLoginAt)
	assert.True(t, now.Equal(*stored.LastLoginAt))
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		email    string
		password string
	}{
		{"wrong password", "ada@example.com", "wrong password"},
		{"unknown email", "nobody@example.com", password},
		{"account without password", "nopass@example.com", password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			_, err := f.svc.Register(ctx, "ada@example.com", password)
			require.NoError(t, err)
			_, err = f.svc.Login(ctx, "nopass@example.com", nil) // email-only account
			require.NoError(t, err)
			f.hasher.verifies.Store(0)

			_, err = f.svc.Login(ctx, tt.email, ptr(tt.password))
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
			assert.Equal(t, "Invalid email or password", domain.ErrorMessage(err))
			assert.True(t, login.ErrInvalidCredentials(err))
			assert.Equal(t, int32(1), f.hasher.verifies.Load(), "each failure runs exactly one hash verification")
		})
	}
}

func TestLoginValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	_, err := f.svc.Login(ctx, "not-an-email", ptr(password))
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(""))
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = f.svc.Login(ctx, "ada@example.com", nil)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "email-only login is off")
	assert.Equal(t, "password: is required", domain.ErrorMessage(err))
}

func TestDisabledAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	tok, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
	require.NoError(t, err)
	require.NoError(t, f.store.UpdateUser(u.ID, func(u *domain.User) { u.Disabled = true }))
	_, err = f.store.CreateUser(ctx, domain.NewUser{Email: "nopw@example.com"})
	require.NoError(t, err)
	nopw, err := f.store.UserByEmail(ctx, "nopw@example.com")
	require.NoError(t, err)
	require.NoError(t, f.store.UpdateUser(nopw.ID, func(u *domain.User) { u.Disabled = true }))

	before := f.hasher.verifies.Load()
	_, right := f.svc.Login(ctx, "ada@example.com", ptr(password))
	_, wrong := f.svc.Login(ctx, "ada@example.com", ptr("wrong password"))
	assert.Equal(t, int32(2), f.hasher.verifies.Load()-before, "the same hashing work")
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(right), "a right password does not reveal that the account is disabled")
	assert.Equal(t, wrong, right, "the very same error as a wrong password")
	_, err = f.svc.Login(ctx, "nopw@example.com", nil)
	assert.Equal(t, wrong, err, "nor does email-only login")
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "existing tokens stop working")
}

// guardedFixture has a per-account guard on a fake clock: 3 attempts, then
// 1 s doubling.
func guardedFixture(t *testing.T) fixture {
	t.Helper()
	f := newFixture(t, false)
	f.svc = login.New(f.store, f.hasher, f.tokens, f.clock, login.Config{
		Emails:   email.New(idn.Lookup{}),
		TokenTTL: time.Hour,
		Guard:    memory.NewLoginGuard(f.clock),
		Backoff:  domain.LoginBackoff{MaxFailures: 3, Base: time.Second, Max: time.Minute, Window: time.Hour},
	})
	return f
}

func TestLoginGuardLocksAccount(t *testing.T) {
	t.Parallel()
	f := guardedFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	for i := range 3 {
		_, err := f.svc.Login(ctx, "ada@example.com", ptr("wrong password"))
		require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "attempt %d", i+1)
	}
	before := f.hasher.verifies.Load()
	_, err = f.svc.Login(ctx, "ADA@example.com", ptr(password))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "the owner's right password is refused too, whatever the email's case")
	assert.Equal(t, "Too many failed logins for this account; try again in 1 s", domain.ErrorMessage(err))
	assert.Equal(t, time.Second, domain.RetryAfter(err))
	assert.Equal(t, before, f.hasher.verifies.Load(), "refused before any hashing")

	f.clock.Advance(time.Second)
	_, err = f.svc.Login(ctx, "ada@example.com", ptr("wrong again"))
	require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
	assert.Equal(t, "Too many failed logins for this account; try again in 2 s", domain.ErrorMessage(err), "the lock doubled")

	f.clock.Advance(2 * time.Second)
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
	require.NoError(t, err, "the right password once the lock ends")
	for i := range 3 {
		_, err := f.svc.Login(ctx, "ada@example.com", ptr("wrong password"))
		assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "a success forgot the failures: attempt %d", i+1)
	}
}

func TestLoginGuardCountsUnknownEmails(t *testing.T) {
	t.Parallel()
	f := guardedFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	answers := map[string][]string{}
	for _, email := range []string{"ada@example.com", "ghost@example.com"} {
		for range 4 {
			_, err := f.svc.Login(ctx, email, ptr("wrong password"))
			answers[email] = append(answers[email], string(domain.ErrorCode(err))+": "+domain.ErrorMessage(err))
		}
	}
	assert.Equal(t, answers["ada@example.com"], answers["ghost@example.com"], "a lock does not tell whether the account exists")
	assert.Equal(t, "rate_limited: Too many failed logins for this account; try again in 1 s", answers["ghost@example.com"][3])

	_, err = f.svc.Login(ctx, "bob@example.com", ptr("wrong password"))
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "other accounts are not affected")
}

// TestLoginGuardOneBudgetPerMailbox: +tag spellings of one address are one
// account (one email_key), so cycling tags buys no fresh guesses.
func TestLoginGuardOneBudgetPerMailbox(t *testing.T) {
	t.Parallel()
	f := guardedFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	for i, email := range []string{"ada+1@example.com", "ada+2@example.com", "ADA+x@example.com"} {
		_, err := f.svc.Login(ctx, email, ptr("wrong password"))
		require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "attempt %d", i+1)
	}
	_, err = f.svc.Login(ctx, "ada+fresh@example.com", ptr("wrong password"))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "a new tag is the same account's budget")
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err))
}

// TestLoginGuardCountsPasswordChanges: guesses at the current password with
// a stolen access token share the account's budget with logins.
func TestLoginGuardCountsPasswordChanges(t *testing.T) {
	t.Parallel()
	f := guardedFixture(t)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	for i := range 3 {
		_, err := f.svc.ChangePassword(ctx, u, ptr("a guess"), "new password 1")
		require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "guess %d", i+1)
	}
	before := f.hasher.verifies.Load()
	_, err = f.svc.ChangePassword(ctx, u, ptr(password), "new password 1")
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "locked like a login")
	assert.Equal(t, before, f.hasher.verifies.Load(), "refused before any hashing")
	_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "the login budget is the same one")

	f.clock.Advance(time.Second)
	_, err = f.svc.ChangePassword(ctx, u, ptr(password), "new password 1")
	require.NoError(t, err, "the right password once the lock ends")
}

func TestLoginGuardUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	f.svc = login.New(f.store, f.hasher, f.tokens, f.clock, login.Config{
		Emails:   email.New(idn.Lookup{}),
		TokenTTL: time.Hour, Guard: brokenGuard{}, Backoff: domain.DefaultLoginBackoff,
	})
	_, err := f.svc.Login(ctx, "ada@example.com", ptr("a password"))
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.Zero(t, f.hasher.verifies.Load(), "no hashing without a decision")
}

// brokenGuard is a guard whose store never answers.
type brokenGuard struct{}

func (brokenGuard) Attempt(context.Context, string, domain.LoginBackoff) (domain.LoginAttempt, error) {
	return domain.LoginAttempt{}, domain.Errorf(domain.CodeUnavailable, "Login guard unavailable")
}

func (brokenGuard) Reset(context.Context, string) error {
	return domain.Errorf(domain.CodeUnavailable, "Login guard unavailable")
}

// TestBusyHasherIsNotRemembered fills the only hashing slot while the
// first unknown-email login makes the dummy hash: that login gets the
// hasher's 503, and later ones work (the failure was not cached).
func TestBusyHasherIsNotRemembered(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	held := make(chan struct{})
	kdf := func(pw, salt []byte, it, mem uint32, par uint8, kl uint32) []byte {
		if string(pw) == "hold the slot" {
			close(held)
			<-release
		}
		return argon2.IDKey(pw, salt, it, mem, par, kl)
	}
	h := argon2id.NewWithOptions(cheap, argon2id.Options{Concurrency: 1, Wait: 50 * time.Millisecond, KDF: kdf})
	svc := login.New(memory.NewStore(), h, jwt.New(secret, "genzai"), memory.NewClock(now), login.Config{TokenTTL: time.Hour, Emails: email.New(idn.Lookup{})})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.Hash(ctx, "hold the slot")
	}()
	<-held
	_, err := svc.Login(ctx, "ghost@example.com", ptr("a password"))
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.ErrorIs(t, err, argon2id.ErrBusy)
	close(release)
	<-done
	_, err = svc.Login(ctx, "ghost@example.com", ptr("a password"))
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
}

func TestEmailOnlyLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	tok, err := f.svc.Login(ctx, "New@Example.com", nil)
	require.NoError(t, err)
	u, err := f.store.UserByEmail(ctx, "new@example.com")
	require.NoError(t, err, "the account is created on first login")
	assert.False(t, u.HasPassword())
	claims, err := f.tokens.Verify(tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, claims.UserID)

	tok2, err := f.svc.Login(ctx, "new@example.com", nil)
	require.NoError(t, err, "later logins use the same account")
	claims2, err := f.tokens.Verify(tok2.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, claims2.UserID)

	_, err = f.svc.Register(ctx, "pw@example.com", password)
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, "pw@example.com", nil)
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "an account with a password needs it")
}

func TestEmailOnlyFirstLoginsRace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ids := make(chan domain.UserID, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			tok, err := f.svc.Login(ctx, "race@example.com", nil)
			if !assert.NoError(t, err) {
				return
			}
			c, err := f.tokens.Verify(tok.AccessToken)
			if assert.NoError(t, err) {
				ids <- c.UserID
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[domain.UserID]bool{}
	for id := range ids {
		seen[id] = true
	}
	assert.Len(t, seen, 1, "every concurrent first login lands in one account")
}

func TestAdminEmailsNeverPromoteOnLogin(t *testing.T) {
	t.Parallel()
	// Claiming a listed address proves nothing: neither email-only login
	// (which creates the account) nor a password login promotes it.
	f := newFixture(t, true)
	_, err := f.svc.Login(ctx, "BOSS@example.com", nil)
	require.NoError(t, err)
	got, err := f.store.UserByEmail(ctx, adminEmail)
	require.NoError(t, err)
	assert.False(t, got.IsAdmin)

	g := newFixture(t, false)
	_, err = g.svc.Register(ctx, adminEmail, password)
	require.NoError(t, err)
	_, err = g.svc.Login(ctx, adminEmail, ptr(password))
	require.NoError(t, err)
	got, err = g.store.UserByEmail(ctx, adminEmail)
	require.NoError(t, err)
	assert.False(t, got.IsAdmin)
}

func TestVariantsOfOneAddressAreOneAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	carol, err := f.svc.Register(ctx, "carol@exämple.com", password)
	require.NoError(t, err)
	for _, variant := range []string{"carol@xn--exmple-cua.com", "carol+1@exämple.com", "Carol+free@XN--EXMPLE-CUA.COM"} {
		_, err := f.svc.Register(ctx, variant, password)
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), variant)
		tok, err := f.svc.Login(ctx, variant, ptr(password))
		require.NoError(t, err, "login with %s", variant)
		claims, err := f.tokens.Verify(tok.AccessToken)
		require.NoError(t, err)
		assert.Equal(t, carol.ID, claims.UserID, variant)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	tok, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
	require.NoError(t, err)

	got, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)

	ghost, err := f.tokens.Issue(domain.TokenClaims{UserID: "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", Email: "ghost@example.com", IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	expired, err := f.tokens.Issue(domain.TokenClaims{UserID: u.ID, Email: u.Email, IssuedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	foreign, err := jwt.New([]byte("another secret, 32 characters..."), "genzai").Issue(domain.TokenClaims{UserID: u.ID, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	tests := []struct {
		name, token string
		code        domain.Code
	}{
		{"account gone", ghost, domain.CodeUnauthorized},
		{"expired", expired, domain.CodeTokenExpired},
		{"other secret", foreign, domain.CodeUnauthorized},
		{"garbage", "not.a.token", domain.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Authenticate(ctx, tt.token)
			assert.Equal(t, tt.code, domain.ErrorCode(err))
		})
	}
}

// TestRevocationToTheMicrosecond pins the edge JWT's whole-second iat
// would blur: with a controlled clock, a token issued earlier in the same
// second as a logout or a password change is refused, one issued at the
// same instant is refused, and one issued a moment after is accepted.
func TestRevocationToTheMicrosecond(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// revoke returns the token it handed back ("" for none) and the
		// password from then on.
		revoke func(t *testing.T, f fixture, u domain.User) (fresh, pw string)
	}{
		{name: "logout", revoke: func(t *testing.T, f fixture, u domain.User) (string, string) {
			require.NoError(t, f.svc.Logout(ctx, u))
			return "", password
		}},
		{name: "password change", revoke: func(t *testing.T, f fixture, u domain.User) (string, string) {
			tok, err := f.svc.ChangePassword(ctx, u, ptr(password), "a brand new secret")
			require.NoError(t, err)
			return tok.AccessToken, "a brand new secret"
		}},
		{name: "operator reset", revoke: func(t *testing.T, f fixture, u domain.User) (string, string) {
			_, err := f.svc.ResetPassword(ctx, u.Email, "a brand new secret")
			require.NoError(t, err)
			return "", "a brand new secret"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false)
			_, err := f.svc.Register(ctx, "ada@example.com", password)
			require.NoError(t, err)
			pw := password
			login := func() string {
				tok, err := f.svc.Login(ctx, "ada@example.com", &pw)
				require.NoError(t, err)
				return tok.AccessToken
			}

			f.clock.Set(now.Add(100 * time.Millisecond))
			earlier := login() // same second as the revocation, earlier
			f.clock.Set(now.Add(500 * time.Millisecond))
			sameInstant := login()
			u, err := f.svc.Authenticate(ctx, sameInstant)
			require.NoError(t, err)

			fresh, newPW := tc.revoke(t, f, u) // at now+500ms, clock unchanged
			pw = newPW
			for name, tok := range map[string]string{"earlier in the second": earlier, "at the same instant": sameInstant} {
				_, err := f.svc.Authenticate(ctx, tok)
				assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "%s: %v", name, err)
				assert.ErrorContains(t, err, "Invalid authentication token")
			}
			if fresh != "" {
				_, err := f.svc.Authenticate(ctx, fresh)
				assert.NoError(t, err, "the token the change hands back works at once")
			}

			f.clock.Advance(time.Millisecond) // still the same second
			_, err = f.svc.Authenticate(ctx, login())
			assert.NoError(t, err, "a login right after the revocation works")
		})
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		current     *string
		newPassword string
		code        domain.Code
		message     string
	}{
		{name: "changed", current: ptr(password), newPassword: "another good one"},
		{name: "wrong current password", current: ptr("not my password"), newPassword: "another good one", code: domain.CodeUnauthorized, message: "Current password is incorrect"},
		{name: "current password missing", newPassword: "another good one", code: domain.CodeInvalid, message: "current_password: is required"},
		{name: "current password empty", current: ptr(""), newPassword: "another good one", code: domain.CodeInvalid, message: "current_password: is required"},
		{name: "new password too short", current: ptr(password), newPassword: "1234567", code: domain.CodeInvalid, message: "new_password: must be 8 to 128 characters"},
		{name: "new password too long", current: ptr(password), newPassword: string(make([]byte, 129)), code: domain.CodeInvalid, message: "new_password: must be 8 to 128 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false)
			_, err := f.svc.Register(ctx, "ada@example.com", password)
			require.NoError(t, err)
			old, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
			require.NoError(t, err)
			u, err := f.svc.Authenticate(ctx, old.AccessToken)
			require.NoError(t, err)

			tok, err := f.svc.ChangePassword(ctx, u, tc.current, tc.newPassword)
			if tc.code != "" {
				assert.Equal(t, tc.code, domain.ErrorCode(err), "err: %v", err)
				assert.ErrorContains(t, err, tc.message)
				_, err = f.svc.Authenticate(ctx, old.AccessToken)
				assert.NoError(t, err, "a refused change revokes nothing")
				_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
				assert.NoError(t, err, "the old password still works")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 24*time.Hour, tok.ExpiresIn)
			_, err = f.svc.Authenticate(ctx, tok.AccessToken)
			assert.NoError(t, err)
			_, err = f.svc.Authenticate(ctx, old.AccessToken)
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
			_, err = f.svc.Login(ctx, "ada@example.com", ptr(password))
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "the old password is gone")
			_, err = f.svc.Login(ctx, "ada@example.com", ptr(tc.newPassword))
			assert.NoError(t, err)
		})
	}
}

func TestChangePasswordOfEmailOnlyAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	tok, err := f.svc.Login(ctx, "dev@example.com", nil)
	require.NoError(t, err)
	u, err := f.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.False(t, u.HasPassword())

	fresh, err := f.svc.ChangePassword(ctx, u, nil, "first password")
	require.NoError(t, err, "an account without a password sets one without current_password")
	_, err = f.svc.Authenticate(ctx, fresh.AccessToken)
	assert.NoError(t, err)
	_, err = f.svc.Login(ctx, "dev@example.com", nil)
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "email-only login is over once a password is set")
	_, err = f.svc.Login(ctx, "dev@example.com", ptr("first password"))
	assert.NoError(t, err)
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)

	for _, tc := range []struct {
		email, password string
		code            domain.Code
	}{
		{"nobody@example.com", "long enough", domain.CodeNotFound},
		{"not an email", "long enough", domain.CodeInvalid},
		{"ada@example.com", "short", domain.CodeInvalid},
	} {
		_, err := f.svc.ResetPassword(ctx, tc.email, tc.password)
		assert.Equal(t, tc.code, domain.ErrorCode(err), "%s: %v", tc.email, err)
	}
	// Another spelling of the mailbox is not the account the operator named.
	_, err = f.svc.ResetPassword(ctx, "ada+x@example.com", "long enough")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "ada@example.com holds it")
	u, err := f.svc.ResetPassword(ctx, " ADA@example.com ", "reset by the operator")
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", u.Email)
	_, err = f.svc.Login(ctx, "ada@example.com", ptr("reset by the operator"))
	assert.NoError(t, err)
}

func TestDisableThenEnableKeepsOldTokensDead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	old, err := f.svc.Login(ctx, "ada@example.com", ptr(password))
	require.NoError(t, err)
	u, err := f.svc.Authenticate(ctx, old.AccessToken)
	require.NoError(t, err)

	// What the admin stores do in one update: a change of disabled revokes.
	require.NoError(t, f.store.UpdateUser(u.ID, func(u *domain.User) { u.Disabled = true }))
	require.NoError(t, f.store.RevokeTokens(ctx, u.ID, f.clock.Now()))
	_, err = f.svc.Authenticate(ctx, old.AccessToken)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "a disabled account says so")

	require.NoError(t, f.store.UpdateUser(u.ID, func(u *domain.User) { u.Disabled = false }))
	_, err = f.svc.Authenticate(ctx, old.AccessToken)
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "re-enabling does not revive the old token")
}
