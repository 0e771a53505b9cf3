package seed_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/cmd/genzai-bench/internal/seed"
	"github.com/genzai/genzai/domain"
)

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	got, err := seed.WithDatabase("postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable", "genzai_bench_x")
	require.NoError(t, err)
	assert.Equal(t, "postgres://postgres:pw@127.0.0.1:5432/genzai_bench_x?sslmode=disable", got)
}

func TestTokensAreTheGatewaysOwn(t *testing.T) {
	t.Parallel()
	users := []seed.User{{ID: "3f1f5c1e-1111-4222-8333-944455556666", Email: "a@bench.example"}}
	tokens, err := seed.Tokens(users, "a-secret-of-at-least-32-characters!!", time.Hour)
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	claims, err := jwt.New([]byte("a-secret-of-at-least-32-characters!!"), "genzai").Verify(tokens[0])
	require.NoError(t, err, "the gateway's verifier accepts them")
	assert.Equal(t, domain.UserID(users[0].ID), claims.UserID)
	assert.Equal(t, users[0].Email, claims.Email)
	_, err = jwt.New([]byte("another-secret-of-32-characters!!!!!"), "genzai").Verify(tokens[0])
	assert.Error(t, err)
}

func TestSample(t *testing.T) {
	t.Parallel()
	users := make([]seed.User, 100)
	for i := range users {
		users[i] = seed.User{ID: fmt.Sprint(i)}
	}
	a, b := seed.Sample(users, 10, 1), seed.Sample(users, 10, 1)
	assert.Equal(t, a, b, "reproducible")
	seen := map[string]bool{}
	for _, u := range a {
		seen[u.ID] = true
	}
	assert.Len(t, seen, 10, "no user twice")
	assert.NotEqual(t, users[:10], a, "spread, not the first ten")
	assert.Len(t, seed.Sample(users, 500, 1), 100, "asking for more gives all")
}
