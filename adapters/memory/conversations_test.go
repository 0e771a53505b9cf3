package memory_test

import (
	"testing"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/ports/portstest"
)

func TestConversationStoreContract(t *testing.T) {
	portstest.RunConversationStore(t, func(*testing.T) portstest.Conversations {
		return portstest.Conversations{Store: memory.NewConversationStore()}
	})
}
