package login

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// MailConfig turns on the mailed links: address verification and password
// reset. Links are HMAC-signed with keys derived from Secret, one per
// purpose, so a verification link can never serve as a reset link (nor an
// access token as either).
type MailConfig struct {
	// Mailer sends the mails; nil turns verification and reset off.
	Mailer ports.Mailer
	// PublicURL is the base of the links (the web app's address), without a
	// trailing slash: links are PublicURL/verify-email?token=... and
	// PublicURL/reset-password?token=....
	PublicURL string
	// Secret is the server's signing secret (JWT_SECRET).
	Secret []byte
	// VerifyTTL is how long a verification link stays valid.
	VerifyTTL time.Duration
	// ResetTTL is how long a password-reset link stays valid.
	ResetTTL time.Duration
	// Limiter and Rate bound the mails per account (resend) and per address
	// (reset), so that nobody can make the server flood a mailbox.
	Limiter ports.RateLimiter
	Rate    domain.Rate
	// Log records mails that could not be sent after the answer went out.
	Log *slog.Logger
}

func (c MailConfig) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Link purposes: each signs with its own derived key.
const (
	purposeVerify = "verify-email"
	purposeReset  = "reset-password"
)

// mailSendTimeout bounds the sending of a reset mail after the answer.
const mailSendTimeout = 30 * time.Second

var (
	errMailOff = domain.Errorf(domain.CodeNotFound,
		"Email verification and password reset by mail are off on this server: the operator turns them on with SMTP_URL "+
			"(and PUBLIC_URL); until then the operator resets passwords with the genzai command line")
	errLinkInvalid   = domain.Errorf(domain.CodeInvalid, "token: not a valid link (it may have been used already); ask for a new one")
	errLinkExpired   = domain.Errorf(domain.CodeInvalid, "token: the link has expired; ask for a new one")
	errUnverified    = domain.Errorf(domain.CodeEmailUnverified, "Confirm your email address first: follow the link we mailed you, or ask for a new one with POST /api/v1/auth/verify/resend")
	errAlreadyProven = domain.Errorf(domain.CodeConflict, "Your email address is already confirmed")
)

// MailEnabled reports whether verification and reset by mail are on.
func (s *Service) MailEnabled() bool { return s.links != nil }

// RequireVerified answers CodeEmailUnverified when verification is on and
// u has not proven its address; chat and API key creation call it.
func (s *Service) RequireVerified(u domain.User) error {
	if s.links != nil && !u.EmailVerified() {
		return errUnverified
	}
	return nil
}

// Verify checks a verification link's token and marks the address proven.
// It is idempotent: a valid link used again changes nothing. newPassword,
// when given on the first confirmation, becomes the account's password as
// a reset would make it (every older token and key dies).
//
// An address in AdminEmails is promoted at its first verification only,
// and only with newPassword: the link proves who holds the mailbox, not who
// chose the password, and whoever registered the address first may have
// been someone else (they would otherwise become admin the moment the
// owner clicks). Errors: CodeNotFound (mail off), CodeInvalid,
// CodeConflict (newPassword on a confirmed address), CodeUnavailable.
func (s *Service) Verify(ctx context.Context, token string, newPassword *string) (domain.User, error) {
	if s.links == nil {
		return domain.User{}, errMailOff
	}
	if newPassword != nil {
		if err := domain.ValidatePassword(*newPassword); err != nil {
			return domain.User{}, domain.Errorf(domain.CodeInvalid, "new_password: must be %d to %d characters", domain.MinPasswordLen, domain.MaxPasswordLen)
		}
	}
	u, err := s.userByLink(ctx, purposeVerify, token, func(u domain.User) string { return u.Email })
	if err != nil {
		return domain.User{}, err
	}
	promote := s.isAdminEmail(u.Email) && !u.EmailVerified()
	switch {
	case newPassword != nil && u.EmailVerified():
		// Else a verification link would be a reset link for its whole life.
		return domain.User{}, domain.Errorf(domain.CodeConflict, "This address is already confirmed: change the password with POST /api/v1/auth/password-reset")
	case promote && newPassword == nil:
		return domain.User{}, domain.Errorf(domain.CodeInvalid,
			"new_password: is required: this address is listed in ADMIN_EMAILS, so confirming it makes the account an admin; choose the account's password with this link (whoever registered the address may not have been you)")
	case newPassword != nil:
		u, err = s.recoverAccount(ctx, u, *newPassword)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return domain.User{}, errLinkInvalid
		}
		if err != nil {
			return domain.User{}, err
		}
	}
	u, err = s.users.MarkEmailVerified(ctx, u.ID, s.clock.Now(), promote)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, errLinkInvalid
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("mark email verified: %w", err)
	}
	return u, nil
}

// ResendVerification mails u a new verification link, within the mail rate.
// Errors: CodeNotFound (mail off), CodeConflict (already verified),
// CodeRateLimited, CodeUnavailable.
func (s *Service) ResendVerification(ctx context.Context, u domain.User) error {
	if s.links == nil {
		return errMailOff
	}
	if u.EmailVerified() {
		return errAlreadyProven
	}
	if err := s.allowMail(ctx, "verify:"+string(u.ID)); err != nil {
		return err
	}
	return s.sendVerification(ctx, u)
}

// RequestPasswordReset mails a reset link to the account of email, if there
// is one. The answer never tells whether there is: the lookup runs for every
// address and the mail goes out after the answer, so both take the same time.
// Errors: CodeNotFound (mail off), CodeInvalid, CodeRateLimited, CodeUnavailable.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if s.links == nil {
		return errMailOff
	}
	email, err := s.cfg.Emails.Normalize(email)
	if err != nil {
		return err
	}
	// Limited per address whether or not it has an account, so the limit
	// itself reveals nothing.
	if err := s.allowMail(ctx, "reset:"+domain.EmailKey(email)); err != nil {
		return err
	}
	u, err := s.users.UserByEmail(ctx, email)
	switch {
	case domain.ErrorCode(err) == domain.CodeNotFound:
		return nil
	case err != nil:
		return fmt.Errorf("find user: %w", err)
	case u.Disabled:
		return nil
	}
	msg := s.resetMail(u)
	s.mailing.Add(1)
	go func() {
		defer s.mailing.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailSendTimeout)
		defer cancel()
		if err := s.cfg.Mail.Mailer.Send(ctx, msg); err != nil {
			s.cfg.Mail.logger().Error("send password reset mail", "user_id", u.ID, "error", err)
		}
	}()
	return nil
}

// ResetPasswordByLink sets a new password with a reset link's token. The link is
// signed over the password hash it was issued for, so it stops working once
// used (or once the password changed otherwise). Setting the password
// revokes every access token issued before.
// Errors: CodeNotFound (mail off), CodeInvalid, CodeUnavailable.
func (s *Service) ResetPasswordByLink(ctx context.Context, token, newPassword string) error {
	if s.links == nil {
		return errMailOff
	}
	if err := domain.ValidatePassword(newPassword); err != nil {
		return err
	}
	u, err := s.userByLink(ctx, purposeReset, token, func(u domain.User) string { return u.PasswordHash })
	if err != nil {
		return err
	}
	_, err = s.recoverAccount(ctx, u, newPassword)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return errLinkInvalid
	}
	return err
}

// Close waits for the mails still being sent after their answers.
func (s *Service) Close() { s.mailing.Wait() }

func (s *Service) allowMail(ctx context.Context, key string) error {
	if s.cfg.Mail.Limiter == nil || s.cfg.Mail.Rate.Limit <= 0 {
		return nil
	}
	d, err := s.cfg.Mail.Limiter.Allow(ctx, "mail:"+key, s.cfg.Mail.Rate)
	if err != nil {
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Rate limiter unavailable", Err: err}
	}
	if !d.Allowed {
		e := domain.Errorf(domain.CodeRateLimited, "Too many mails asked for this address; try again later")
		e.RetryAfter = d.RetryAfter
		return e
	}
	return nil
}

func (s *Service) sendVerification(ctx context.Context, u domain.User) error {
	token := s.links.sign(purposeVerify, u.ID, s.clock.Now().Add(s.cfg.Mail.VerifyTTL), u.Email)
	link := s.cfg.Mail.PublicURL + "/verify-email?token=" + url.QueryEscape(token)
	body := fmt.Sprintf("Hello,\n\nplease confirm that %s is your email address by opening this link:\n\n%s\n\n"+
		"The link is valid for %s. If the page does not open, send the token below as JSON {\"token\": \"...\"} "+
		"with POST /api/v1/auth/verify:\n\n%s\n\nIf you did not create an account, ignore this mail.\n",
		u.Email, link, s.cfg.Mail.VerifyTTL, token)
	if s.isAdminEmail(u.Email) && !u.EmailVerified() {
		body += "\nThis address is one of the server's administrator addresses: confirming it makes the account an admin, " +
			"so the page asks you to choose the account's password (as JSON, add \"new_password\"). " +
			"The password chosen at registration stops working, whoever chose it.\n"
	}
	if err := s.cfg.Mail.Mailer.Send(ctx, domain.Mail{To: u.Email, Subject: "Confirm your email address", Body: body}); err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	return nil
}

func (s *Service) resetMail(u domain.User) domain.Mail {
	token := s.links.sign(purposeReset, u.ID, s.clock.Now().Add(s.cfg.Mail.ResetTTL), u.PasswordHash)
	link := s.cfg.Mail.PublicURL + "/reset-password?token=" + url.QueryEscape(token)
	body := fmt.Sprintf("Hello,\n\nsomeone asked to reset the password of the account %s. To choose a new password, open:\n\n%s\n\n"+
		"The link is valid for %s and works once. If the page does not open, send {\"token\": \"...\", \"new_password\": \"...\"} "+
		"with POST /api/v1/auth/password-reset/confirm, with this token:\n\n%s\n\n"+
		"If you did not ask for this, ignore this mail: your password stays as it is.\n",
		u.Email, link, s.cfg.Mail.ResetTTL, token)
	return domain.Mail{To: u.Email, Subject: "Reset your password", Body: body}
}

// userByLink checks a link token of purpose and returns its live account;
// binding gives the account state the signature covers.
func (s *Service) userByLink(ctx context.Context, purpose, token string, binding func(domain.User) string) (domain.User, error) {
	id, expires, ok := parseLink(token)
	if !ok {
		return domain.User{}, errLinkInvalid
	}
	u, err := s.users.UserByID(ctx, id)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, errLinkInvalid
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("load user: %w", err)
	}
	if !s.links.valid(purpose, token, binding(u)) {
		return domain.User{}, errLinkInvalid
	}
	// Checked after the signature, so that only a genuine link hears it expired.
	if !s.clock.Now().Before(expires) {
		return domain.User{}, errLinkExpired
	}
	return u, nil
}

// linkSigner signs link tokens: base64url("<user id>.<expiry unix>") "."
// base64url(HMAC-SHA256(purpose key, payload "." binding)). The binding
// (the address, or the password hash) is signed but never sent.
type linkSigner struct {
	keys map[string][]byte
}

func newLinkSigner(secret []byte) *linkSigner {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("genzai mailed link v1: " + purpose))
		return m.Sum(nil)
	}
	return &linkSigner{keys: map[string][]byte{purposeVerify: derive(purposeVerify), purposeReset: derive(purposeReset)}}
}

var b64 = base64.RawURLEncoding

func (l *linkSigner) sign(purpose string, id domain.UserID, expires time.Time, binding string) string {
	payload := b64.EncodeToString([]byte(string(id) + "." + strconv.FormatInt(expires.Unix(), 10)))
	return payload + "." + b64.EncodeToString(l.mac(purpose, payload, binding))
}

func (l *linkSigner) valid(purpose, token, binding string) bool {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, l.mac(purpose, payload, binding))
}

func (l *linkSigner) mac(purpose, payload, binding string) []byte {
	m := hmac.New(sha256.New, l.keys[purpose])
	m.Write([]byte(payload))
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)
}

// maxLinkLen bounds tokens before any decoding (real ones are ~110 bytes).
const maxLinkLen = 512

// parseLink reads a token's user id and expiry, without checking its
// signature.
func parseLink(token string) (domain.UserID, time.Time, bool) {
	if len(token) > maxLinkLen {
		return "", time.Time{}, false
	}
	payload, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", time.Time{}, false
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return "", time.Time{}, false
	}
	id, exp, ok := strings.Cut(string(raw), ".")
	if !ok || id == "" {
		return "", time.Time{}, false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return domain.UserID(id), time.Unix(unix, 0), true
}

// forgetFailures clears the account's failed logins once its owner has set
// a new password, so that a lock kept alive by someone guessing does not
// outlast the recovery. A guard that cannot be reached only delays that.
func (s *Service) forgetFailures(ctx context.Context, email string) {
	if s.cfg.Guard == nil || !s.cfg.Backoff.Enabled() {
		return
	}
	if err := s.cfg.Guard.Reset(ctx, accountKey(email)); err != nil {
		s.cfg.Mail.logger().Warn("reset login failures after a new password", "error", err)
	}
}
