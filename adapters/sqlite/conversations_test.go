package sqlite_test

import (
	"testing"

	"github.com/genzai/genzai/ports/portstest"
)

func TestConversationStoreContract(t *testing.T) {
	portstest.RunConversationStore(t, func(t *testing.T) portstest.Conversations {
		db := open(t)
		return portstest.Conversations{Users: db, Store: db}
	})
}
