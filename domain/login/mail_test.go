package login_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/domain/login"
)

// outbox is a Mailer that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	mail []domain.Mail
}

func (o *outbox) Send(_ context.Context, m domain.Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mail = append(o.mail, m)
	return nil
}

func (o *outbox) all() []domain.Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]domain.Mail(nil), o.mail...)
}

var linkRE = regexp.MustCompile(`https://chat\.example\.com(/[a-z-]+)\?token=([A-Za-z0-9_.-]+)`)

// token returns the token of the last mail's link to path.
func (o *outbox) token(t *testing.T, path string) string {
	t.Helper()
	all := o.all()
	require.NotEmpty(t, all)
	m := linkRE.FindStringSubmatch(all[len(all)-1].Body)
	require.NotNil(t, m, all[len(all)-1].Body)
	require.Equal(t, path, m[1])
	return m[2]
}

type mailFixture struct {
	fixture
	out *outbox
}

func newMailFixture(t *testing.T) mailFixture {
	t.Helper()
	f := mailFixture{
		fixture: fixture{
			store:  memory.NewStore(),
			clock:  memory.NewClock(now),
			hasher: &countingHasher{Hasher: argon2id.New(cheap, 4)},
			tokens: jwt.New(secret, "genzai"),
		},
		out: &outbox{},
	}
	f.svc = login.New(f.store, f.hasher, f.tokens, f.clock, login.Config{
		Emails:      email.New(idn.Lookup{}),
		AdminEmails: []string{adminEmail},
		TokenTTL:    24 * time.Hour,
		Mail: login.MailConfig{
			Mailer: f.out, PublicURL: "https://chat.example.com", Secret: secret,
			VerifyTTL: 24 * time.Hour, ResetTTL: time.Hour,
			Limiter: memory.NewRateLimiter(f.clock), Rate: domain.Rate{Limit: 2, Period: time.Hour},
		},
	})
	t.Cleanup(f.svc.Close)
	return f
}

func TestVerifyPromotesListedAddressOnce(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	u, err := f.svc.Register(ctx, "Boss@example.com", password)
	require.NoError(t, err)
	assert.False(t, u.IsAdmin)
	assert.Equal(t, domain.CodeEmailUnverified, domain.ErrorCode(f.svc.RequireVerified(u)))
	require.Len(t, f.out.all(), 1)
	assert.Equal(t, adminEmail, f.out.all()[0].To)
	token := f.out.token(t, "/verify-email")

	// Whoever registered the address chose its password: confirming it
	// without choosing a new one would hand them admin rights.
	_, err = f.svc.Verify(ctx, token, nil)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "new_password: is required")
	got, err := f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, got.IsAdmin || got.EmailVerified(), "nothing changed")

	const ownerPassword = "the owner's own password"
	got, err = f.svc.Verify(ctx, token, ptr(ownerPassword))
	require.NoError(t, err)
	assert.True(t, got.IsAdmin, "a listed address is promoted when verified with a password")
	assert.NoError(t, f.svc.RequireVerified(got))
	_, err = f.svc.Login(ctx, adminEmail, ptr(password))
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "the registrant's password is gone")
	_, err = f.svc.Verify(ctx, token, ptr("yet another password"))
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "the link is no reset link once used")

	// The operator demotes; the same link again, and logins, never promote.
	require.NoError(t, f.store.UpdateUser(u.ID, func(u *domain.User) { u.IsAdmin = false }))
	got, err = f.svc.Verify(ctx, token, nil)
	require.NoError(t, err, "verification is idempotent")
	assert.False(t, got.IsAdmin, "demotion sticks")
	_, err = f.svc.Login(ctx, adminEmail, ptr(ownerPassword))
	require.NoError(t, err)
	got, err = f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, got.IsAdmin, "demotion sticks across logins")
}

func TestVerifyRefusesBadLinks(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	token := f.out.token(t, "/verify-email")
	payload, sig, _ := strings.Cut(token, ".")
	flipped := []byte(sig)
	flipped[0] ^= 1
	if flipped[0] == '.' || flipped[0] > 'z' {
		flipped[0] = 'A'
	}

	// A reset link of the same account is not a verification link.
	_, err = f.svc.Register(ctx, "eve@example.com", password)
	require.NoError(t, err)
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "ada@example.com"))
	f.svc.Close()
	resetToken := f.out.token(t, "/reset-password")

	for name, tok := range map[string]string{
		"empty":           "",
		"garbage":         "not a token",
		"tampered":        payload + "." + string(flipped),
		"other user":      strings.Replace(token, payload, f.out.token(t, "/reset-password")[:len(payload)], 1),
		"reset link":      resetToken,
		"very long":       strings.Repeat("a", 10_000) + "." + sig,
		"payload only":    payload,
		"signature moved": sig + "." + payload,
	} {
		_, err := f.svc.Verify(ctx, tok, nil)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), name)
	}

	f.clock.Advance(24*time.Hour + time.Second)
	_, err = f.svc.Verify(ctx, token, nil)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "expired")
}

func TestPasswordResetIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	u, err := f.svc.Register(ctx, "carol@example.com", password)
	require.NoError(t, err)
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "carol+x@example.com"), "any spelling finds the account")
	f.svc.Close()
	token := f.out.token(t, "/reset-password")
	assert.Equal(t, "carol@example.com", f.out.all()[1].To)

	err = f.svc.ResetPasswordByLink(ctx, token, "short")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	require.NoError(t, f.svc.ResetPasswordByLink(ctx, token, "a brand new password"))
	_, err = f.svc.Login(ctx, "carol@example.com", ptr("a brand new password"))
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, "carol@example.com", ptr(password))
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))

	err = f.svc.ResetPasswordByLink(ctx, token, "yet another password")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "a used link is dead")
	got, err := f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.TokensValidAfter, "older access tokens are revoked")
}

func TestPasswordResetRevealsNothing(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	_, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	assert.NoError(t, f.svc.RequestPasswordReset(ctx, "nobody@example.com"))
	assert.NoError(t, f.svc.RequestPasswordReset(ctx, "ada@example.com"))
	f.svc.Close()
	assert.Len(t, f.out.all(), 2, "the registration mail and one reset mail")

	assert.NoError(t, f.svc.RequestPasswordReset(ctx, "nobody@example.com"))
	err = f.svc.RequestPasswordReset(ctx, "nobody@example.com")
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "the limit applies to unknown addresses too")

	err = f.svc.RequestPasswordReset(ctx, "not an address")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
}

func TestResendVerification(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	require.NoError(t, f.svc.ResendVerification(ctx, u))
	require.NoError(t, f.svc.ResendVerification(ctx, u))
	err = f.svc.ResendVerification(ctx, u)
	assert.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err))
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Positive(t, de.RetryAfter)

	got, err := f.svc.Verify(ctx, f.out.token(t, "/verify-email"), nil)
	require.NoError(t, err)
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(f.svc.ResendVerification(ctx, got)))
}

func TestMailOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	u, err := f.svc.Register(ctx, "ada@example.com", password)
	require.NoError(t, err)
	assert.NoError(t, f.svc.RequireVerified(u), "without mail, accounts are usable at once")
	assert.False(t, f.svc.MailEnabled())
	for name, err := range map[string]error{
		"resend":  f.svc.ResendVerification(ctx, u),
		"reset":   f.svc.RequestPasswordReset(ctx, "ada@example.com"),
		"confirm": f.svc.ResetPasswordByLink(ctx, "x.y", "a brand new password"),
	} {
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), name)
		assert.Contains(t, domain.ErrorMessage(err), "SMTP_URL", name)
	}
	_, err = f.svc.Verify(ctx, "x.y", nil)
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
}

// slowMailer takes its time, as a distant SMTP server does.
type slowMailer struct{ outbox }

func (m *slowMailer) Send(ctx context.Context, msg domain.Mail) error {
	time.Sleep(300 * time.Millisecond)
	return m.outbox.Send(ctx, msg)
}

func TestPasswordResetAnswersBeforeMailing(t *testing.T) {
	t.Parallel()
	// The answer for an existing account must not wait for the mail server,
	// or its timing would tell existing accounts from unknown addresses.
	store := memory.NewStore()
	clock := memory.NewClock(now)
	mailer := &slowMailer{}
	svc := login.New(store, argon2id.New(cheap, 4), jwt.New(secret, "genzai"), clock, login.Config{
		Emails:   email.New(idn.Lookup{}),
		TokenTTL: time.Hour,
		Mail:     login.MailConfig{Mailer: mailer, PublicURL: "https://chat.example.com", Secret: secret, VerifyTTL: time.Hour, ResetTTL: time.Hour},
	})
	_, err := store.CreateUser(ctx, domain.NewUser{Email: "ada@example.com", PasswordHash: "$argon2id$x"})
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, svc.RequestPasswordReset(ctx, "ada@example.com"))
	assert.Less(t, time.Since(start), 150*time.Millisecond, "the answer does not wait for the mail")
	svc.Close()
	assert.Len(t, mailer.all(), 1, "Close waits for the mail")
}
