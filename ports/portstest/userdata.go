package portstest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// RunAccountDeletion checks UserStore.DeleteUser on a store that keeps
// everything: the account and all that is tied to it go (keys, quota
// counts, feedback, conversations and messages) while the request log
// keeps its rows with the user anonymised, and nothing of another account
// changes.
func RunAccountDeletion(t *testing.T, newAdmin func(t *testing.T) Admin) {
	ctx := context.Background()
	at := adminDay.Add(9 * time.Hour)

	t.Run("everything of the account goes but its request log rows, anonymised", func(t *testing.T) {
		t.Parallel()
		a := newAdmin(t)
		alice, bob := a.user(t, "alice@example.com"), a.user(t, "bob@example.com")
		type owned struct {
			conv domain.ConversationID
			hash []byte
		}
		data := map[domain.UserID]owned{}
		for _, u := range []domain.UserID{alice, bob} {
			a.Log(t, domain.RequestRecord{RequestID: "r-" + string(u), UserID: u, Tier: domain.TierFast, Provider: domain.ProviderGroq, Outcome: domain.OutcomeSuccess, CreatedAt: at})
			_, err := a.Feedback.SaveFeedback(ctx, domain.Feedback{UserID: u, RequestID: "r-" + string(u), Rating: domain.RatingUp, CreatedAt: at, UpdatedAt: at})
			require.NoError(t, err)
			_, _, err = a.Quota.ConsumeQuota(ctx, u, adminDay, 10, 1)
			require.NoError(t, err)
			hash := keyHash("gz-key-of-" + string(u))
			_, err = a.Keys.CreateAPIKey(ctx, domain.NewAPIKey{UserID: u, Name: "k", Prefix: "gz-key", Hash: hash, CreatedAt: at}, 10)
			require.NoError(t, err)
			c, err := a.Conversations.CreateConversation(ctx, domain.NewConversation{UserID: u, Title: "t", CreatedAt: at}, 10)
			require.NoError(t, err)
			_, err = a.Conversations.AppendMessage(ctx, domain.NewConversationMessage{UserID: u, Message: domain.ConversationMessage{
				ConversationID: c.ID, Role: domain.MessageFromUser, Content: "hello", Status: domain.MessageComplete, CreatedAt: at,
			}})
			require.NoError(t, err)
			data[u] = owned{conv: c.ID, hash: hash}
		}

		audit := map[string]domain.AuditEntry{
			"by alice": {ActorID: alice, Actor: "alice@example.com", Action: domain.AuditQuotaChanged, TargetID: bob, Target: "bob@example.com", CreatedAt: at},
			"on alice": {ActorID: bob, Actor: "bob@example.com", Action: domain.AuditAdminGranted, TargetID: alice, Target: "alice@example.com", CreatedAt: at},
		}
		for _, name := range []string{"by alice", "on alice"} {
			_, err := a.Audit.RecordAudit(ctx, audit[name])
			require.NoError(t, err)
		}

		require.NoError(t, a.Users.DeleteUser(ctx, alice))

		entries, err := a.Audit.AuditEntries(ctx, domain.AuditFilter{Limit: 10})
		require.NoError(t, err)
		require.Len(t, entries, 2, "the audit log keeps its entries")
		byAction := map[domain.AuditAction]domain.AuditEntry{}
		for _, e := range entries {
			byAction[e.Action] = e
		}
		by, on := byAction[domain.AuditQuotaChanged], byAction[domain.AuditAdminGranted]
		assert.Equal(t, []string{domain.DeletedAccount, string(alice), "bob@example.com"}, []string{by.Actor, string(by.ActorID), by.Target}, "alice as actor")
		assert.Equal(t, []string{"bob@example.com", domain.DeletedAccount, string(alice)}, []string{on.Actor, on.Target, string(on.TargetID)}, "alice as target")

		_, err = a.Users.UserByID(ctx, alice)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, err = a.Users.UserByEmail(ctx, "alice@example.com")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		_, _, err = a.Keys.APIKeyOwner(ctx, data[alice].hash)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err), "the key stops working")
		_, err = a.Conversations.Conversation(ctx, alice, data[alice].conv)
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
		n, err := a.Conversations.CountConversations(ctx, alice)
		require.NoError(t, err)
		assert.Zero(t, n)
		used, err := a.Quota.QuotaUsed(ctx, alice, adminDay)
		require.NoError(t, err)
		assert.Zero(t, used)

		rows, err := a.Admin.ListRequests(ctx, domain.RequestFilter{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 2, "the request log keeps both rows")
		byRequest := map[string]domain.UserID{}
		for _, r := range rows {
			byRequest[r.RequestID] = r.UserID
		}
		assert.Equal(t, domain.UserID(""), byRequest["r-"+string(alice)], "anonymised")
		assert.Equal(t, bob, byRequest["r-"+string(bob)])
		mine, err := a.Admin.ListRequests(ctx, domain.RequestFilter{UserID: alice, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, mine)

		// Bob keeps everything.
		_, _, err = a.Keys.APIKeyOwner(ctx, data[bob].hash)
		assert.NoError(t, err)
		msgs, err := a.Conversations.ConversationMessages(ctx, bob, data[bob].conv, domain.MessagePage{Limit: 10})
		require.NoError(t, err)
		assert.Len(t, msgs, 1)
		used, err = a.Quota.QuotaUsed(ctx, bob, adminDay)
		require.NoError(t, err)
		assert.Equal(t, 1, used)

		// The address is free again, for an account that sees nothing old.
		again, err := a.Users.CreateUser(ctx, domain.NewUser{Email: "alice@example.com"})
		require.NoError(t, err)
		assert.NotEqual(t, alice, again.ID)
		n, err = a.Conversations.CountConversations(ctx, again.ID)
		require.NoError(t, err)
		assert.Zero(t, n)

		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(a.Users.DeleteUser(ctx, alice)), "twice")
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(a.Users.DeleteUser(ctx, "not-a-uuid")))
	})
}
