// Package email normalises email addresses to the one spelling under which
// the gateway stores, finds and mails an account. It is apart from domain
// because it needs golang.org/x/net/idna, so that package domain itself
// imports only the standard library.
package email

import (
	"net/mail"
	"strings"

	// The one dependency of the domain layer outside the standard library,
	// on purpose: IDNA (UTS #46 mapping, NFC, the IDNA2008 tables) is the
	// standard library's own code (net/http vendors this package), and a
	// hand-written approximation took 700 lines of Unicode tables to agree
	// with it. Both ends of a mailbox must agree on one spelling.
	"golang.org/x/net/idna"

	"github.com/genzai/genzai/domain"
)

// maxEmailLen is the longest address a mail path can carry (RFC 5321).
const maxEmailLen = 254

// Normalize trims and lower-cases an email address, converts an
// internationalised domain to its ASCII (punycode) form, so that
// carol@exämple.com and carol@xn--exmple-cua.com are one address, and
// checks that it is a plain address (no display name) with a dotted domain.
func Normalize(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		return "", domain.Errorf(domain.CodeInvalid, "email: is required")
	}
	at := strings.LastIndexByte(email, '@')
	if at > 0 {
		// The IDNA lookup profile maps (case, width, compatibility forms)
		// and validates the labels the way a resolver would; an error means
		// no resolver could look the domain up.
		ascii, err := idna.Lookup.ToASCII(email[at+1:])
		if err != nil {
			return "", domain.Errorf(domain.CodeInvalid, "email: the domain is not a valid internationalised domain name")
		}
		email = email[:at+1] + strings.ToLower(ascii)
	}
	if len(email) > maxEmailLen {
		return "", domain.Errorf(domain.CodeInvalid, "email: must be at most %d characters", maxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", domain.Errorf(domain.CodeInvalid, "email: not a valid email address")
	}
	domainPart := email[at+1:]
	if !strings.Contains(domainPart, ".") || strings.HasPrefix(domainPart, ".") || strings.HasSuffix(domainPart, ".") {
		return "", domain.Errorf(domain.CodeInvalid, "email: not a valid email address")
	}
	return email, nil
}
