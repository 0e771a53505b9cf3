package login_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/login"
)

// BenchmarkAuthenticate is what every authenticated request costs the
// login use case: verify the token, then load the live account (from the
// in-memory store, so the store's own cost is only a map lookup under a
// mutex; the database's is measured in the store adapters).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	store := memory.NewStore()
	// Other accounts make the map realistic; only one is looked up.
	for i := range 1000 {
		if _, err := store.CreateUser(ctx, domain.NewUser{Email: fmt.Sprintf("user%d@example.com", i)}); err != nil {
			b.Fatal(err)
		}
	}
	u, err := store.CreateUser(ctx, domain.NewUser{Email: "ada@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	tokens := jwt.New([]byte("0123456789abcdef0123456789abcdef"), "genzai")
	svc := login.New(store, argon2id.New(argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1),
		tokens, memory.NewClock(time.Now()), login.Config{TokenTTL: 24 * time.Hour})
	now := time.Now()
	tok, err := tokens.Issue(domain.TokenClaims{UserID: u.ID, Email: u.Email, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Authenticate(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
