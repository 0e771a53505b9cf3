package email_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/email"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ada@example.com", "ada@example.com", true},
		{"  Ada@Example.COM \t", "ada@example.com", true},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk", true},
		{"", "", false},
		{"   ", "", false},
		{"ada", "", false},
		{"ada@", "", false},
		{"@example.com", "", false},
		{"ada@localhost", "", false},
		{"ada@example.", "", false},
		{"ada@.example.com", "", false},
		{"Ada <ada@example.com>", "", false},
		{"ada@exa mple.com", "", false},
		{"ada@@example.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
		// Internationalised domains have one (ASCII) spelling.
		{"carol@exämple.com", "carol@xn--exmple-cua.com", true},
		{"Carol@EXÄMPLE.com", "carol@xn--exmple-cua.com", true},
		{"carol@xn--exmple-cua.com", "carol@xn--exmple-cua.com", true},
		{"carol@ＥＸＡＭＰＬＥ.com", "carol@example.com", true},
		{"carol@xn--a.com", "", false},
		{"carol@xn--exmple-cua.com.", "", false},
		{"carol@ex_ample.com", "", false},
		{"carol@exa\u200bmple.com", "carol@example.com", true}, // UTS 46 ignores zero-width spaces
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := email.New(idn.Lookup{}).Normalize(tt.in)
			if !tt.ok {
				assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
				assert.True(t, strings.HasPrefix(domain.ErrorMessage(err), "email: "), domain.ErrorMessage(err))
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// Without IDNA tables a Unicode domain is refused, not guessed at; ASCII
// addresses normalise as with them.
func TestNormalizeWithoutDomainNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"  Ada@Example.COM ", "ada@example.com", true},
		{"carol@xn--exmple-cua.com", "carol@xn--exmple-cua.com", true},
		{"carol@exämple.com", "", false},
		{"carol@ＥＸＡＭＰＬＥ.com", "", false},
		{"ada", "", false},
	}
	var zero email.Normalizer
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			for _, n := range []email.Normalizer{zero, email.New(nil)} {
				got, err := n.Normalize(tt.in)
				if !tt.ok {
					assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
					assert.True(t, strings.HasPrefix(domain.ErrorMessage(err), "email: "), domain.ErrorMessage(err))
					continue
				}
				assert.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}
