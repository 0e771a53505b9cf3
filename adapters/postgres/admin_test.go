package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

// newAdmin is a fresh database; request records go through the real
// writer, flushed by Log.
func newAdmin(t *testing.T) portstest.Admin {
	t.Helper()
	db := open(t)
	w := db.NewRequestLogWriter(nil, postgres.RequestLogConfig{FlushInterval: time.Hour})
	t.Cleanup(func() { closeWriter(t, w) }) // before db.Close, registered earlier
	return portstest.Admin{
		Users: db, Quota: db, Admin: db, Feedback: db, Keys: db, Conversations: db, Audit: db,
		Log: func(t *testing.T, records ...domain.RequestRecord) {
			t.Helper()
			for _, r := range records {
				w.Record(r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, w.Flush(ctx))
			require.Zero(t, w.Dropped())
		},
	}
}

func TestAdminStoreContract(t *testing.T)      { portstest.RunAdminStore(t, newAdmin) }
func TestFeedbackStoreContract(t *testing.T)   { portstest.RunFeedbackStore(t, newAdmin) }
func TestAccountDeletionContract(t *testing.T) { portstest.RunAccountDeletion(t, newAdmin) }

// TestEmptyTextsStoredAsNull checks the columns the contract cannot see: a
// request logged without an id and a rating without a comment store NULL.
func TestEmptyTextsStoredAsNull(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	ctx := context.Background()
	u := e.user(t, "null@example.com")
	w := e.db.NewRequestLogWriter(nil, postgres.RequestLogConfig{})
	w.Record(domain.RequestRecord{UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	w.Record(domain.RequestRecord{RequestID: "r-1", UserID: u, Tier: domain.TierFast, Outcome: domain.OutcomeSuccess, CreatedAt: at})
	closeWriter(t, w)
	_, err := e.db.SaveFeedback(ctx, domain.Feedback{UserID: u, RequestID: "r-1", Rating: domain.RatingUp})
	require.NoError(t, err)

	var nullIDs, ids, nullComments int
	require.NoError(t, e.conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE request_id IS NULL), count(request_id) FROM request_log`).Scan(&nullIDs, &ids))
	assert.Equal(t, 1, nullIDs)
	assert.Equal(t, 1, ids)
	require.NoError(t, e.conn.QueryRow(ctx, `SELECT count(*) FROM feedback WHERE comment IS NULL`).Scan(&nullComments))
	assert.Equal(t, 1, nullComments)
}

// TestAdminInvalidValues refuses values the tables would reject with
// CodeInvalid rather than a database error.
func TestAdminInvalidValues(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, domain.NewUser{Email: "invalid@example.com"})
	require.NoError(t, err)
	for _, q := range []int{-1, 1 << 40} {
		_, err := db.UpdateUser(ctx, u.ID, domain.UserPatch{SetDailyQuota: true, DailyQuota: &q})
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "quota %d: %v", q, err)
	}
	for _, f := range []domain.Feedback{
		{UserID: u.ID, RequestID: "r", Rating: "meh"},
		{UserID: u.ID, RequestID: "r", Rating: domain.RatingUp, Comment: "a\x00b"},
	} {
		_, err := db.SaveFeedback(ctx, f)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%+v: %v", f, err)
	}
}
