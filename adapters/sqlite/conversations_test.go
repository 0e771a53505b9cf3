package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

func TestConversationStoreContract(t *testing.T) {
	portstest.RunConversationStore(t, func(t *testing.T) portstest.Conversations {
		db := open(t)
		return portstest.Conversations{Users: db, Store: db}
	})
}

// TestConversationSearchIndexStaysInSync checks what the contract cannot
// see: after renames, deletes, a purge and an account's deletion (which
// cascades through conversations to messages), FTS5's external-content
// indexes still agree with their tables, and hold nothing of what is gone.
func TestConversationSearchIndexStaysInSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newPath(t)
	db := openAt(t, path, 0)
	migrate(t, db)
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		u, err := db.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		for i := range 3 {
			c, err := db.CreateConversation(ctx, domain.NewConversation{UserID: u.ID, Title: "walrus title", CreatedAt: at.Add(time.Duration(i) * time.Hour)}, 10)
			require.NoError(t, err)
			_, err = db.AppendMessage(ctx, domain.NewConversationMessage{UserID: u.ID, Message: domain.ConversationMessage{
				ConversationID: c.ID, Role: domain.MessageFromUser, Content: "carpenter text", Status: domain.MessageComplete, CreatedAt: at.Add(time.Duration(i) * time.Hour),
			}})
			require.NoError(t, err)
			switch i {
			case 0:
				_, err = db.RenameConversation(ctx, u.ID, c.ID, "renamed")
			case 1:
				err = db.DeleteConversation(ctx, u.ID, c.ID)
			}
			require.NoError(t, err)
		}
	}
	_, err := db.PurgeIdleConversations(ctx, at.Add(30*time.Minute), at.Add(30*time.Minute), 100) // the renamed ones
	require.NoError(t, err)
	conn := rawConn(t, path)
	_, err = conn.ExecContext(ctx, "DELETE FROM users WHERE email = 'bob@example.com'")
	require.NoError(t, err)

	for _, table := range []string{"conversations_fts", "messages_fts"} {
		// rank 1: check the index against the content table too.
		_, err := conn.ExecContext(ctx, "INSERT INTO "+table+" ("+table+", rank) VALUES ('integrity-check', 1)")
		assert.NoError(t, err, table)
	}
	assert.Equal(t, 1, count(t, conn, "SELECT count(*) FROM conversations"))
	assert.Equal(t, 1, count(t, conn, "SELECT count(*) FROM conversations_fts WHERE conversations_fts MATCH 'walrus'"))
	assert.Equal(t, 1, count(t, conn, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'carpenter'"))
	assert.Zero(t, count(t, conn, "SELECT count(*) FROM conversations_fts WHERE conversations_fts MATCH 'renamed'"))
}
