package sqlite_test

import (
	"testing"

	"github.com/genzai/genzai/ports/portstest"
)

func TestAPIKeyStoreContract(t *testing.T) {
	portstest.RunAPIKeyStore(t, func(t *testing.T) portstest.APIKeys {
		db := open(t)
		return portstest.APIKeys{Users: db, Keys: db}
	})
}
