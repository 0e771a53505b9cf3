package quotacount_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/quotacount"
	"github.com/genzai/genzai/domain"
)

// TestSinkContract runs what quotacount.Sink promises over every store that
// implements it: each delta grows its user's row for the day (created when
// missing), deltas that cannot be written are skipped without failing the
// rest, and batches written at once by several instances all count.
func TestSinkContract(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2025, 12, 25, 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	newUser := func(t *testing.T, db database, email string) domain.UserID {
		t.Helper()
		u, err := db.CreateUser(ctx, domain.NewUser{Email: email})
		require.NoError(t, err)
		return u.ID
	}
	used := func(t *testing.T, db database, id domain.UserID, day time.Time) int {
		t.Helper()
		n, err := db.QuotaUsed(ctx, id, day)
		require.NoError(t, err)
		return n
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Run("adds to each user's row for the day", func(t *testing.T) {
				t.Parallel()
				db := e.open(t)
				ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")
				for range 2 {
					_, ok, err := db.ConsumeQuota(ctx, ada, day, 10, 1)
					require.NoError(t, err)
					require.True(t, ok)
				}
				require.NoError(t, db.AddQuotaUsage(ctx, []quotacount.Delta{
					{UserID: ada, Day: day, N: 3},
					{UserID: bob, Day: day, N: 1},
					{UserID: ada, Day: next, N: 4},
				}))
				assert.Equal(t, 5, used(t, db, ada, day), "added to the row the database counted")
				assert.Equal(t, 1, used(t, db, bob, day), "a missing row is created")
				assert.Equal(t, 4, used(t, db, ada, next), "each day has its own row")
				assert.Equal(t, 0, used(t, db, bob, next))

				require.NoError(t, db.AddQuotaUsage(ctx, nil), "an empty batch writes nothing")
				assert.Equal(t, 5, used(t, db, ada, day))
			})

			t.Run("skips what cannot be written and writes the rest", func(t *testing.T) {
				t.Parallel()
				db := e.open(t)
				ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")
				require.NoError(t, db.AddQuotaUsage(ctx, []quotacount.Delta{
					{UserID: domain.UserID(uuid.NewString()), Day: day, N: 2}, // deleted meanwhile, or never there
					{UserID: "not-an-id", Day: day, N: 1},
					{UserID: ada, Day: day, N: 0},
					{UserID: ada, Day: next, N: -1}, // a batch never counts down
					{UserID: bob, Day: day, N: 2},
				}))
				assert.Equal(t, 0, used(t, db, ada, day))
				assert.Equal(t, 0, used(t, db, ada, next))
				assert.Equal(t, 2, used(t, db, bob, day))
			})

			t.Run("batches of several instances at once all count", func(t *testing.T) {
				t.Parallel()
				db := e.open(t)
				ids := make([]domain.UserID, 5)
				for i := range ids {
					ids[i] = newUser(t, db, fmt.Sprintf("u%d@example.com", i))
				}
				const instances, rounds = 4, 10
				var wg sync.WaitGroup
				for range instances {
					wg.Go(func() {
						for range rounds {
							batch := make([]quotacount.Delta, len(ids))
							for i, id := range ids {
								batch[i] = quotacount.Delta{UserID: id, Day: day, N: i + 1}
							}
							assert.NoError(t, db.AddQuotaUsage(ctx, batch))
						}
					})
				}
				wg.Wait()
				for i, id := range ids {
					assert.Equal(t, instances*rounds*(i+1), used(t, db, id, day), "user %d", i)
				}
			})
		})
	}
}
