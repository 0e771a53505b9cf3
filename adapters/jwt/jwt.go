// Package jwt issues and verifies HS256 access tokens. The algorithm is
// pinned: tokens signed any other way (including "none") are refused.
//
// The "iat" claim carries microseconds ("1765079417.123456"; RFC 7519's
// NumericDate may be fractional) so that a token issued in the same second as
// a revocation can still be told apart from one issued after it.
package jwt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.TokenIssuer = (*Issuer)(nil)

// Algorithm is the only signing algorithm genzai accepts.
const Algorithm = "HS256"

// leeway tolerates small clock differences between instances.
const leeway = 30 * time.Second

// claims are the token's claims. IssuedAt shadows the embedded iat (the
// outer field wins in encoding/json) to keep its microseconds: golang-jwt
// rounds NumericDate to a package-wide precision, a global this package must
// not change.
type claims struct {
	Email    string     `json:"email"`
	IssuedAt *microDate `json:"iat,omitempty"`
	gojwt.RegisteredClaims
}

// GetIssuedAt implements gojwt.Claims for the parser's "not issued in the
// future" check, which needs no more than seconds.
func (c claims) GetIssuedAt() (*gojwt.NumericDate, error) {
	if c.IssuedAt == nil {
		return nil, nil
	}
	return gojwt.NewNumericDate(c.IssuedAt.Time), nil
}

// microDate is a NumericDate kept to the microsecond.
type microDate struct{ time.Time }

// MarshalJSON writes whole seconds, with six decimals when there is a
// fraction of a second.
func (d microDate) MarshalJSON() ([]byte, error) {
	us := d.UnixMicro()
	sec, frac := us/1e6, us%1e6
	if frac < 0 { // before 1970: keep the fraction positive
		sec, frac = sec-1, frac+1e6
	}
	if frac == 0 {
		return strconv.AppendInt(nil, sec, 10), nil
	}
	return fmt.Appendf(nil, "%d.%06d", sec, frac), nil
}

// UnmarshalJSON reads a JSON number exactly when it is plain decimal
// seconds (digits beyond the sixth decimal are dropped); other numbers
// (exponents, a sign) through float64, like golang-jwt.
func (d *microDate) UnmarshalJSON(b []byte) error {
	whole, frac, dotted := bytes.Cut(b, []byte("."))
	if digits(whole) && (!dotted || digits(frac)) && len(whole) <= 12 {
		sec, err := strconv.ParseInt(string(whole), 10, 64)
		if err != nil {
			return fmt.Errorf("parse iat: %w", err)
		}
		micros := string(frac[:min(len(frac), 6)])
		micros += "000000"[len(micros):]
		us, err := strconv.ParseInt(micros, 10, 64)
		if err != nil {
			return fmt.Errorf("parse iat: %w", err)
		}
		d.Time = time.UnixMicro(sec*1e6 + us)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e12 {
		return errors.New("parse iat: not a number of seconds")
	}
	sec, fr := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(fr*1e9)).Truncate(time.Microsecond)
	return nil
}

// digits reports whether b is one or more ASCII digits.
func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Issuer signs and verifies tokens with one secret.
type Issuer struct {
	secret []byte
	issuer string
	parser *gojwt.Parser
	now    func() time.Time // time.Now; tests move it
	// verified holds the claims of tokens that passed Verify, by token:
	// a client sends the same token on every request until it expires, and
	// checking it again (base64, JSON, HMAC-SHA256) was the same work with
	// the same answer. An entry serves only before the token's exp; from
	// then on the full check answers (the leeway, the expired error).
	mu       sync.RWMutex
	verified map[string]domain.TokenClaims
}

// maxVerified bounds Issuer.verified: about 1.5 MiB of tokens and claims.
const maxVerified = 4096

// New returns an Issuer; issuer is the "iss" claim written and required.
func New(secret []byte, issuer string) *Issuer {
	i := &Issuer{secret: secret, issuer: issuer, now: time.Now, verified: map[string]domain.TokenClaims{}}
	i.parser = gojwt.NewParser(
		gojwt.WithTimeFunc(func() time.Time { return i.now() }),
		gojwt.WithValidMethods([]string{Algorithm}),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithIssuer(issuer),
		gojwt.WithLeeway(leeway),
		// The unused low bits of a segment's last character must be zero,
		// so that a signature has one spelling (see canonical).
		gojwt.WithStrictDecoding(),
	)
	return i
}

// Issue implements ports.TokenIssuer.
func (i *Issuer) Issue(c domain.TokenClaims) (string, error) {
	t := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims{
		Email:    c.Email,
		IssuedAt: &microDate{c.IssuedAt},
		RegisteredClaims: gojwt.RegisteredClaims{
			Subject:   string(c.UserID),
			Issuer:    i.issuer,
			ExpiresAt: gojwt.NewNumericDate(c.ExpiresAt),
		},
	})
	s, err := t.SignedString(i.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify implements ports.TokenIssuer.
func (i *Issuer) Verify(token string) (domain.TokenClaims, error) {
	if c, ok := i.cached(token); ok {
		return c, nil
	}
	c, err := i.verify(token)
	if err == nil {
		i.remember(token, c)
	}
	return c, err
}

// cached returns the claims of a token verified before, while it has not
// expired.
func (i *Issuer) cached(token string) (domain.TokenClaims, bool) {
	i.mu.RLock()
	c, ok := i.verified[token]
	i.mu.RUnlock()
	switch {
	case !ok:
		return domain.TokenClaims{}, false
	case !i.now().Before(c.ExpiresAt):
		i.mu.Lock()
		delete(i.verified, token)
		i.mu.Unlock()
		return domain.TokenClaims{}, false
	}
	return c, true
}

// remember keeps a verified token's claims until it expires. A full cache
// forgets an arbitrary entry (map order is random) to make room; expired
// entries go when they are next looked up.
func (i *Issuer) remember(token string, c domain.TokenClaims) {
	if !i.now().Before(c.ExpiresAt) {
		return // valid only within the leeway: verified every time
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.verified) >= maxVerified {
		for k := range i.verified {
			delete(i.verified, k)
			break
		}
	}
	i.verified[token] = c
}

// verify checks a token's spelling, signature and claims.
func (i *Issuer) verify(token string) (domain.TokenClaims, error) {
	if !canonical(token) {
		return domain.TokenClaims{}, domain.Errorf(domain.CodeUnauthorized, "Invalid authentication token")
	}
	var c claims
	_, err := i.parser.ParseWithClaims(token, &c, func(*gojwt.Token) (any, error) { return i.secret, nil })
	switch {
	case errors.Is(err, gojwt.ErrTokenExpired):
		return domain.TokenClaims{}, &domain.Error{Code: domain.CodeTokenExpired, Message: "Token has expired", Err: err}
	case err != nil:
		return domain.TokenClaims{}, &domain.Error{Code: domain.CodeUnauthorized, Message: "Invalid authentication token", Err: err}
	case c.Subject == "", c.IssuedAt == nil:
		// Issue always writes sub and iat; a token without them was not made
		// by us (and a nil IssuedAt would be dereferenced below).
		return domain.TokenClaims{}, domain.Errorf(domain.CodeUnauthorized, "Invalid authentication token")
	}
	return domain.TokenClaims{
		UserID:    domain.UserID(c.Subject),
		Email:     c.Email,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// canonical reports whether token holds only base64url characters and dots.
// Base64 decoders skip line breaks, so without this check a signature with
// CR or LF inserted (another text, the same bytes) would verify too.
func canonical(token string) bool {
	for _, c := range []byte(token) {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
