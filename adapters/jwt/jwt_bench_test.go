package jwt_test

import (
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/domain"
)

// benchToken is a valid HS256 token of newIssuer with the claims Issue
// writes, good for an hour.
func benchToken(b *testing.B, iss *jwt.Issuer) string {
	b.Helper()
	now := time.Now()
	tok, err := iss.Issue(domain.TokenClaims{
		UserID:    "0b7f3c1e-5d2a-4c8e-9f61-3a2b1c0d9e8f",
		Email:     "ada@example.com",
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkVerify is the token check every authenticated request pays
// for a token it sent before: a look-up of the verified tokens and the
// expiry check. The first request with a token pays the whole check
// (split, base64, JSON claims, HMAC-SHA256, the time and issuer checks):
// about 7 µs and 47 allocations on a 2-core VM, 2026-12-07.
func BenchmarkVerify(b *testing.B) {
	iss := newIssuer()
	tok := benchToken(b, iss)
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := iss.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := iss.Verify(tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkIssue is the signing half, paid once per login.
func BenchmarkIssue(b *testing.B) {
	iss := newIssuer()
	now := time.Now()
	c := domain.TokenClaims{UserID: "0b7f3c1e-5d2a-4c8e-9f61-3a2b1c0d9e8f", Email: "ada@example.com", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}
