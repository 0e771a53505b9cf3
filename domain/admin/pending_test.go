package admin_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/sqlite"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admin"
	"github.com/genzai/genzai/domain/email"
)

// sqliteService is a Service over a fresh migrated SQLite database, with
// three admins and a user.
func sqliteService(t *testing.T) (*admin.Service, *sqlite.DB, *memory.Clock, map[string]domain.User) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "genzai.db"), sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	m, err := db.NewMigrator(nil)
	require.NoError(t, err)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	m.Close()
	users := map[string]domain.User{}
	for _, name := range []string{"ada", "bob", "cat", "dan"} {
		u, err := db.CreateUser(ctx, domain.NewUser{Email: name + "@example.com", IsAdmin: name != "dan"})
		require.NoError(t, err)
		users[name] = u
	}
	clk := memory.NewClock(noon)
	return admin.New(db, db, clk, 50, email.New(idn.Lookup{}), nil), db, clk, users
}

func TestDemotingAnotherAdminWaitsForASecondAdmin(t *testing.T) {
	t.Parallel()
	no, yes := false, true
	for _, tc := range []struct {
		name   string
		target string
		patch  domain.UserPatch
		check  func(t *testing.T, u domain.User)
	}{
		{"demote", "bob", domain.UserPatch{IsAdmin: &no}, func(t *testing.T, u domain.User) { assert.False(t, u.IsAdmin) }},
		{"disable", "bob", domain.UserPatch{Disabled: &yes}, func(t *testing.T, u domain.User) { assert.True(t, u.Disabled) }},
		// One admin alone cannot mint an accomplice to confirm their changes.
		{"promote", "dan", domain.UserPatch{IsAdmin: &yes}, func(t *testing.T, u domain.User) { assert.True(t, u.IsAdmin) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, db, _, users := sqliteService(t)
			ada, bob, cat := users["ada"], users[tc.target], users["cat"]
			before := bob

			res, err := svc.UpdateUser(ctx, ada, "req-ask", bob.ID, tc.patch)
			require.NoError(t, err)
			require.NotNil(t, res.Pending, "not applied: pending")
			assert.Nil(t, res.User)
			c := *res.Pending
			assert.Equal(t, ada.ID, c.RequestedBy)
			assert.Equal(t, bob.ID, c.TargetID)
			assert.Equal(t, noon.Add(admin.PendingChangeTTL), c.ExpiresAt)
			still, err := db.UserByID(ctx, bob.ID)
			require.NoError(t, err)
			assert.Equal(t, before.IsAdmin, still.IsAdmin, "nothing changed yet")
			assert.False(t, still.Disabled)

			_, err = svc.ConfirmChange(ctx, ada, "", c.ID)
			assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "the requester cannot confirm")
			_, err = svc.ConfirmChange(ctx, users["dan"], "", c.ID)
			assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "a non-admin cannot confirm")

			done, err := svc.ConfirmChange(ctx, cat, "req-confirm", c.ID)
			require.NoError(t, err)
			assert.Equal(t, cat.ID, done.Change.ConfirmedBy)
			tc.check(t, done.User.User)
			after, err := db.UserByID(ctx, bob.ID)
			require.NoError(t, err)
			tc.check(t, after)
			_, err = svc.ConfirmChange(ctx, cat, "", c.ID)
			assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "once only")

			page, err := svc.Audit(ctx, cat, nil, "")
			require.NoError(t, err)
			require.Len(t, page.Entries, 2)
			confirmed, asked := page.Entries[0], page.Entries[1]
			assert.Equal(t, domain.AuditChangeConfirmed, confirmed.Action)
			assert.Equal(t, cat.ID, confirmed.ActorID)
			assert.Equal(t, "req-confirm", confirmed.RequestID)
			assert.Equal(t, string(c.ID), confirmed.Details["change_id"])
			assert.Equal(t, domain.AuditChangeRequested, asked.Action)
			assert.Equal(t, ada.ID, asked.ActorID)
			assert.Equal(t, bob.ID, asked.TargetID)
			assert.Equal(t, "req-ask", asked.RequestID)
		})
	}
}

func TestPendingChangeExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db, clk, users := sqliteService(t)
	no := false
	res, err := svc.UpdateUser(ctx, users["ada"], "", users["bob"].ID, domain.UserPatch{IsAdmin: &no})
	require.NoError(t, err)
	clk.Advance(admin.PendingChangeTTL)
	_, err = svc.ConfirmChange(ctx, users["cat"], "", res.Pending.ID)
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "expired")
	bob, err := db.UserByID(ctx, users["bob"].ID)
	require.NoError(t, err)
	assert.True(t, bob.IsAdmin)
	_, err = svc.ConfirmChange(ctx, users["cat"], "", "00000000-0000-4000-8000-000000000000")
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
}

// TestChangeOfARemovedAdminCannotBeConfirmed: once its requester is no
// longer an admin (or is disabled), a pending change cannot be confirmed.
func TestChangeOfARemovedAdminCannotBeConfirmed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db, _, users := sqliteService(t)
	no, yes := false, true
	for _, remove := range []domain.UserPatch{{IsAdmin: &no}, {Disabled: &yes}} {
		res, err := svc.UpdateUser(ctx, users["ada"], "", users["bob"].ID, domain.UserPatch{IsAdmin: &no})
		require.NoError(t, err)
		require.NotNil(t, res.Pending)
		_, err = db.UpdateUser(ctx, users["ada"].ID, remove)
		require.NoError(t, err)
		_, err = svc.ConfirmChange(ctx, users["cat"], "", res.Pending.ID)
		assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err))
		assert.ErrorContains(t, err, "is no longer an admin")
		bob, err := db.UserByID(ctx, users["bob"].ID)
		require.NoError(t, err)
		assert.True(t, bob.IsAdmin, "nothing applied")
		_, err = db.UpdateUser(ctx, users["ada"].ID, domain.UserPatch{IsAdmin: &yes, Disabled: &no})
		require.NoError(t, err)
	}
}

func TestChangesThatApplyAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, _, users := sqliteService(t)
	yes, no, five := true, false, 5
	for _, tc := range []struct {
		name   string
		target string
		patch  domain.UserPatch
		action domain.AuditAction
	}{
		{"disable a user", "dan", domain.UserPatch{Disabled: &yes}, domain.AuditUserDisabled},
		{"enable a user", "dan", domain.UserPatch{Disabled: &no}, domain.AuditUserEnabled},
		{"another admin's quota", "bob", domain.UserPatch{SetDailyQuota: true, DailyQuota: &five}, domain.AuditQuotaChanged},
		{"enable another admin", "bob", domain.UserPatch{Disabled: &no}, domain.AuditUserEnabled},
	} {
		res, err := svc.UpdateUser(ctx, users["ada"], "", users[tc.target].ID, tc.patch)
		require.NoError(t, err, tc.name)
		assert.NotNil(t, res.User, tc.name)
		assert.Nil(t, res.Pending, tc.name)
		page, err := svc.Audit(ctx, users["ada"], nil, "")
		require.NoError(t, err)
		assert.Equal(t, tc.action, page.Entries[0].Action, tc.name)
	}
}

func TestOperatorGrantAndRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, store, _, users := sqliteService(t)

	u, err := svc.SetAdminAsOperator(ctx, "  DAN@example.com ", true)
	require.NoError(t, err)
	assert.True(t, u.IsAdmin)
	u, err = svc.SetAdminAsOperator(ctx, "ada@example.com", false)
	require.NoError(t, err)
	assert.False(t, u.IsAdmin, "the operator needs no confirmation")
	_, err = svc.SetAdminAsOperator(ctx, "nobody@example.com", true)
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "No account with the email nobody@example.com")
	_, err = svc.SetAdminAsOperator(ctx, "not an email", true)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))

	// A squatter holds ops@'s mailbox key through a +tag spelling: granting
	// ops@ must not make the squatter admin.
	squatter, err := store.CreateUser(ctx, domain.NewUser{Email: "ops+x@example.com"})
	require.NoError(t, err)
	_, err = svc.SetAdminAsOperator(ctx, "ops@example.com", true)
	assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "ops+x@example.com holds it")
	again, err := store.UserByID(ctx, squatter.ID)
	require.NoError(t, err)
	assert.False(t, again.IsAdmin, "the squatter was not promoted")

	one := 1
	page, err := svc.AuditAsOperator(ctx, &one, "")
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, domain.AuditAdminRevoked, page.Entries[0].Action)
	assert.Equal(t, domain.OperatorActor, page.Entries[0].Actor)
	assert.Empty(t, page.Entries[0].ActorID)
	assert.Equal(t, users["ada"].ID, page.Entries[0].TargetID)
	require.NotEmpty(t, page.NextCursor)
	next, err := svc.AuditAsOperator(ctx, &one, page.NextCursor)
	require.NoError(t, err)
	require.Len(t, next.Entries, 1)
	assert.Equal(t, domain.AuditAdminGranted, next.Entries[0].Action)
	assert.Equal(t, users["dan"].ID, next.Entries[0].TargetID)
	assert.Empty(t, next.NextCursor, "the last page")

	for _, bad := range []string{"!!", "YWJj", "LTE"} {
		_, err = svc.AuditAsOperator(ctx, nil, bad)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), bad)
	}
	zero := 0
	_, err = svc.AuditAsOperator(ctx, &zero, "")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
}
