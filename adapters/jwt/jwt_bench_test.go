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

// BenchmarkVerify is the token check every authenticated request pays:
// split, base64, JSON claims, HMAC-SHA256 and the time and issuer checks.
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
