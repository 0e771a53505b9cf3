package httpapi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/adapters/httpapi"
)

func TestAddressKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ip, want string
	}{
		{"IPv4 as itself", "203.0.113.7", "203.0.113.7"},
		{"IPv4 neighbours stay apart", "203.0.113.8", "203.0.113.8"},
		{"IPv4-mapped IPv6 is the IPv4 address", "::ffff:203.0.113.7", "203.0.113.7"},
		{"IPv6 by its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"another address of that /64", "2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"the next /64 is another key", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"upper case and zeros spelled out", "2001:0DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"},
		{"a zone is dropped", "fe80::1%eth0", "fe80::/64"},
		{"loopback", "::1", "::/64"},
		{"not an address is kept", "unknown", "unknown"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, httpapi.AddressKey(tc.ip))
		})
	}
}
