// Package login is the authentication use case: registration, login with a
// password or (where allowed) an email alone, and checking access tokens.
package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/genzai/genzai/domain"
	emailaddr "github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/ports"
)

// Config holds the rules the service applies.
type Config struct {
	// AdminEmails are normalised emails whose accounts become admins at the
	// moment their owner verifies the address (never on register or login,
	// so nobody becomes admin by claiming an address, and a demoted admin
	// stays demoted). Without Mail nobody is ever promoted by this list.
	AdminEmails []string
	// AllowEmailLogin enables login with an email alone, creating the account
	// on first login. Never true in production.
	AllowEmailLogin bool
	// TokenTTL is how long an access token stays valid.
	TokenTTL time.Duration
	// Emails normalises the addresses users type; its zero value accepts
	// ASCII domains only.
	Emails emailaddr.Normalizer
	// Mail turns on email verification and password reset by mail; a nil
	// Mail.Mailer leaves both off (accounts are usable at once).
	Mail MailConfig
	// Guard counts password attempts per account under Backoff, whatever
	// address they come from; nil turns the per-account limit off.
	Guard ports.LoginGuard
	// Backoff is the per-account rule the Guard applies.
	Backoff domain.LoginBackoff
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// Service registers and authenticates users.
type Service struct {
	users  ports.UserStore
	hasher ports.PasswordHasher
	tokens ports.TokenIssuer
	clock  ports.Clock
	cfg    Config

	// dummyMu guards dummy, the hash verified against when an account has
	// no usable password so that every failed login costs the same hashing
	// time. It is made on first need and kept only once made: a first
	// attempt refused for want of a hashing slot must not be remembered.
	dummyMu sync.Mutex
	dummy   string

	// links signs and checks mailed links; nil without Mail.
	links *linkSigner
	// mailing tracks password-reset mails sent after the answer; Close waits.
	mailing sync.WaitGroup
}

// New builds a Service from its dependencies.
func New(users ports.UserStore, hasher ports.PasswordHasher, tokens ports.TokenIssuer, clock ports.Clock, cfg Config) *Service {
	s := &Service{users: users, hasher: hasher, tokens: tokens, clock: clock, cfg: cfg}
	if cfg.Mail.Mailer != nil {
		s.links = newLinkSigner(cfg.Mail.Secret)
	}
	return s
}

var (
	// errInvalidCredentials answers a wrong email, a wrong password and a
	// disabled account alike, so that none reveals which it was.
	errInvalidCredentials = domain.Errorf(domain.CodeUnauthorized, "Invalid email or password")
	errDisabled           = domain.Errorf(domain.CodeForbidden, "Account is disabled")
	errWrongPassword      = domain.Errorf(domain.CodeUnauthorized, "Current password is incorrect")
)

// dummyHash returns the hash failed logins verify against, making it once.
func (s *Service) dummyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		// Detached from the request, which may end while others wait on it.
		h, err := s.hasher.Hash(context.WithoutCancel(ctx), rand.Text())
		if err != nil {
			return "", err
		}
		s.dummy = h
	}
	return s.dummy, nil
}

// Register creates an account with a password, never an admin. With Mail it
// mails a verification link; a mail that cannot be sent is logged and the
// account still created (its owner can ask for another).
// Errors: CodeInvalid, CodeConflict, CodeUnavailable.
func (s *Service) Register(ctx context.Context, email, password string) (domain.User, error) {
	email, err := s.cfg.Emails.Normalize(email)
	if err != nil {
		return domain.User{}, err
	}
	if err := domain.ValidatePassword(password); err != nil {
		return domain.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return domain.User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err := s.users.CreateUser(ctx, domain.NewUser{Email: email, PasswordHash: hash})
	if err != nil {
		return domain.User{}, fmt.Errorf("create user: %w", err)
	}
	if s.links != nil {
		if err := s.sendVerification(ctx, u); err != nil {
			s.cfg.Mail.logger().Error("send verification mail", "user_id", u.ID, "error", err)
		}
	}
	return u, nil
}

// Login checks credentials and issues an access token. A nil password asks
// for email-only login. Wrong email, wrong password and a disabled account
// fail alike, after the same hashing work. Password attempts on an account
// that failed too often are refused before any hashing (CodeRateLimited,
// with RetryAfter), its owner's included.
// Errors: CodeInvalid, CodeUnauthorized, CodeRateLimited, CodeUnavailable.
func (s *Service) Login(ctx context.Context, email string, password *string) (Token, error) {
	email, err := s.cfg.Emails.Normalize(email)
	if err != nil {
		return Token{}, err
	}
	var u domain.User
	if password == nil {
		u, err = s.emailOnly(ctx, email)
	} else {
		u, err = s.guardedCheck(ctx, email, *password)
	}
	if err != nil {
		return Token{}, err
	}
	now := s.clock.Now()
	u, err = s.users.RecordLogin(ctx, u.ID, now)
	if err != nil {
		return Token{}, fmt.Errorf("record login: %w", err)
	}
	return s.issue(u, now)
}

// guardedCheck checks a password under the per-account guard: the attempt
// is counted (or refused) before any hashing, and a success forgets the
// account's failures.
func (s *Service) guardedCheck(ctx context.Context, email, password string) (domain.User, error) {
	if len(password) == 0 {
		return domain.User{}, domain.Errorf(domain.CodeInvalid, "password: must not be empty")
	}
	var u domain.User
	err := s.guarded(ctx, email, func() (err error) {
		u, err = s.checkPassword(ctx, email, password)
		return err
	})
	return u, err
}

// guarded runs check, one password attempt on the account with email, under
// the per-account guard: counted (or refused with 429) before any hashing,
// whichever route it comes through, and forgotten when check succeeds.
func (s *Service) guarded(ctx context.Context, email string, check func() error) error {
	if s.cfg.Guard == nil || !s.cfg.Backoff.Enabled() {
		return check()
	}
	// Unknown emails are counted too, so that a lock says nothing about
	// whether an account exists.
	key := accountKey(email)
	a, err := s.cfg.Guard.Attempt(ctx, key, s.cfg.Backoff)
	if err != nil {
		return fmt.Errorf("count login attempt: %w", err)
	}
	if !a.Allowed {
		secs := max(int(math.Ceil(a.RetryAfter.Seconds())), 1)
		return &domain.Error{Code: domain.CodeRateLimited,
			Message:    fmt.Sprintf("Too many failed logins for this account; try again in %d s", secs),
			RetryAfter: time.Duration(secs) * time.Second}
	}
	if err := check(); err != nil {
		return err
	}
	if err := s.cfg.Guard.Reset(ctx, key); err != nil {
		return fmt.Errorf("reset login failures: %w", err)
	}
	return nil
}

// accountKey names an account in the login guard's store by a hash of its
// canonical address (domain.EmailKey: every +tag spelling of one mailbox is
// one account, and must share one budget), so that the store holds no
// addresses.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(domain.EmailKey(email)))
	return hex.EncodeToString(sum[:16])
}

// checkPassword returns the account whose password this is; every failure,
// a disabled account included, is errInvalidCredentials after one
// verification.
func (s *Service) checkPassword(ctx context.Context, email, password string) (domain.User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	switch {
	case domain.ErrorCode(err) == domain.CodeNotFound:
		return domain.User{}, s.failAfterDummyVerify(ctx, password)
	case err != nil:
		return domain.User{}, fmt.Errorf("find user: %w", err)
	case !u.HasPassword():
		return domain.User{}, s.failAfterDummyVerify(ctx, password)
	}
	ok, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return domain.User{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.Disabled {
		// A disabled account answers like a wrong password: a right one
		// must not confirm it to whoever guessed it.
		return domain.User{}, errInvalidCredentials
	}
	return u, nil
}

// failAfterDummyVerify spends the time a real verification would, then
// answers invalid credentials.
func (s *Service) failAfterDummyVerify(ctx context.Context, password string) error {
	hash, err := s.dummyHash(ctx)
	if err != nil {
		return fmt.Errorf("dummy hash: %w", err)
	}
	if _, err := s.hasher.Verify(ctx, password, hash); err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	return errInvalidCredentials
}

func (s *Service) emailOnly(ctx context.Context, email string) (domain.User, error) {
	if !s.cfg.AllowEmailLogin {
		return domain.User{}, domain.Errorf(domain.CodeInvalid, "password: is required")
	}
	u, err := s.users.UserByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		u, err = s.users.CreateUser(ctx, domain.NewUser{Email: email})
		if domain.ErrorCode(err) == domain.CodeConflict {
			// A concurrent first login created it; use that account.
			u, err = s.users.UserByEmail(ctx, email)
		}
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("find or create user: %w", err)
	}
	if u.HasPassword() || u.Disabled {
		// An account with a password must never be entered without it; a
		// disabled one answers like any refused login.
		return domain.User{}, errInvalidCredentials
	}
	return u, nil
}

// Authenticate checks an access token and returns its live account: a token
// of a deleted account is refused, a disabled account is forbidden, and a
// token issued at or before the account's TokensValidAfter (logout, password
// change, a change of disabled) is refused.
// Errors: CodeUnauthorized, CodeTokenExpired, CodeForbidden, CodeUnavailable.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.User, error) {
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return domain.User{}, err
	}
	u, err := s.users.UserByID(ctx, claims.UserID)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.Errorf(domain.CodeUnauthorized, "Invalid authentication token")
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("load user: %w", err)
	}
	if u.Disabled {
		return domain.User{}, errDisabled
	}
	if u.TokenRevoked(claims.IssuedAt) {
		// Logged out, password changed, or the account was disabled since.
		return domain.User{}, domain.Errorf(domain.CodeUnauthorized, "Invalid authentication token")
	}
	return u, nil
}

// Logout revokes every access token of u issued so far, on every device:
// the token in hand included. Personal API keys are separate credentials
// and keep working.
// Errors: CodeNotFound (the account is gone), CodeUnavailable.
func (s *Service) Logout(ctx context.Context, u domain.User) error {
	if err := s.users.RevokeTokens(ctx, u.ID, s.clock.Now()); err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	return nil
}

// issue signs an access token for u issued at.
func (s *Service) issue(u domain.User, at time.Time) (Token, error) {
	token, err := s.tokens.Issue(domain.TokenClaims{
		UserID:    u.ID,
		Email:     u.Email,
		IssuedAt:  at,
		ExpiresAt: at.Add(s.cfg.TokenTTL),
	})
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{AccessToken: token, ExpiresIn: s.cfg.TokenTTL}, nil
}

func (s *Service) isAdminEmail(email string) bool {
	return slices.Contains(s.cfg.AdminEmails, email)
}

// ErrInvalidCredentials reports whether err is the invalid-credentials error.
func ErrInvalidCredentials(err error) bool {
	return errors.Is(err, errInvalidCredentials)
}
