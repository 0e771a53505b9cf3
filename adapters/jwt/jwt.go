// Package jwt issues and verifies HS256 access tokens. The algorithm is
// pinned: tokens signed any other way (including "none") are refused.
package jwt

import (
	"errors"
	"fmt"
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

type claims struct {
	Email string `json:"email"`
	gojwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one secret.
type Issuer struct {
	secret []byte
	issuer string
	parser *gojwt.Parser
}

// New returns an Issuer; issuer is the "iss" claim written and required.
func New(secret []byte, issuer string) *Issuer {
	return &Issuer{
		secret: secret,
		issuer: issuer,
		parser: gojwt.NewParser(
			gojwt.WithValidMethods([]string{Algorithm}),
			gojwt.WithExpirationRequired(),
			gojwt.WithIssuedAt(),
			gojwt.WithIssuer(issuer),
			gojwt.WithLeeway(leeway),
			// The unused low bits of a segment's last character must be zero,
			// so that a signature has one spelling (see canonical).
			gojwt.WithStrictDecoding(),
		),
	}
}

// Issue implements ports.TokenIssuer.
func (i *Issuer) Issue(c domain.TokenClaims) (string, error) {
	t := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims{
		Email: c.Email,
		RegisteredClaims: gojwt.RegisteredClaims{
			Subject:   string(c.UserID),
			Issuer:    i.issuer,
			IssuedAt:  gojwt.NewNumericDate(c.IssuedAt),
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
		IssuedAt:  c.IssuedAt.Time,
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
