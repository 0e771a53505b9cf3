// Package email normalises email addresses to the one spelling under which
// the gateway stores, finds and mails an account.
package email

import (
	"net/mail"
	"strings"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// maxEmailLen is the longest address a mail path can carry (RFC 5321).
const maxEmailLen = 254

// Normalizer normalises addresses. Its zero value accepts ASCII domains
// only: without IDNA tables it cannot tell which spellings of a Unicode
// domain are one, and guessing would let two accounts share a mailbox.
type Normalizer struct {
	names ports.DomainNames
}

// New returns a Normalizer that converts internationalised domains with
// names; nil names accepts ASCII domains only.
func New(names ports.DomainNames) Normalizer {
	return Normalizer{names: names}
}

// Normalize trims and lower-cases an email address, converts an
// internationalised domain to its ASCII (punycode) form, so that
// carol@exämple.com and carol@xn--exmple-cua.com are one address, and
// checks that it is a plain address (no display name) with a dotted domain.
// Errors: CodeInvalid, with a message that starts "email: ".
func (n Normalizer) Normalize(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		return "", domain.Errorf(domain.CodeInvalid, "email: is required")
	}
	at := strings.LastIndexByte(email, '@')
	if at > 0 {
		ascii, err := n.toASCII(email[at+1:])
		if err != nil {
			return "", err
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

// toASCII spells a domain in ASCII. Even an ASCII domain goes through the
// IDNA tables when there are some: they refuse labels such as "xn--a"
// that only look encoded.
func (n Normalizer) toASCII(name string) (string, error) {
	if n.names == nil {
		if !isASCII(name) {
			return "", domain.Errorf(domain.CodeInvalid, "email: internationalised domains are not accepted here; use the domain's ASCII (xn--) form")
		}
		return name, nil
	}
	ascii, err := n.names.ToASCII(name)
	if err != nil {
		return "", domain.Errorf(domain.CodeInvalid, "email: the domain is not a valid internationalised domain name")
	}
	return ascii, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
