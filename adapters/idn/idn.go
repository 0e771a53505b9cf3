// Package idn spells internationalised domain names in ASCII for the
// domain (ports.DomainNames), with golang.org/x/net/idna: the standard
// library's own IDNA code (net/http vendors it), kept out of the domain so
// that the domain imports only the standard library.
package idn

import (
	"golang.org/x/net/idna"

	"github.com/genzai/genzai/ports"
)

// Lookup maps and validates names with IDNA's lookup profile, the way a
// resolver would.
type Lookup struct{}

var _ ports.DomainNames = Lookup{}

// ToASCII implements ports.DomainNames.
func (Lookup) ToASCII(name string) (string, error) {
	return idna.Lookup.ToASCII(name)
}
