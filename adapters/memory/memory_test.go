package memory_test

import (
	"testing"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/ports/portstest"
)

func newStores(*testing.T) portstest.Stores {
	s := memory.NewStore()
	return portstest.Stores{Users: s, Quota: s}
}

func TestUserStoreContract(t *testing.T)  { portstest.RunUserStore(t, newStores) }
func TestQuotaStoreContract(t *testing.T) { portstest.RunQuotaStore(t, newStores) }

func TestAPIKeyStoreContract(t *testing.T) {
	portstest.RunAPIKeyStore(t, func(*testing.T) portstest.APIKeys {
		s := memory.NewStore()
		return portstest.APIKeys{Users: s, Keys: s}
	})
}
