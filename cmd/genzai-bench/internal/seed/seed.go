// Package seed prepares the gateway's PostgreSQL database for a benchmark:
// a fresh database per run, registered users inserted in bulk (without the
// API, whose Argon2id hashing is deliberately slow), and access tokens
// minted with the gateway's own JWT code and secret.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/domain"
)

// tokenIssuer is the "iss" claim the gateway writes and requires.
const tokenIssuer = "genzai"

// User is a registered user.
type User struct {
	ID    string
	Email string
}

// WithDatabase returns rawURL with its database name replaced by name.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// CreateDatabase creates an empty database name on the server of adminURL
// and returns its URL.
func CreateDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if err := exec(ctx, adminURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return WithDatabase(adminURL, name)
}

// DropDatabase drops database name, closing its connections.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	if err := exec(ctx, adminURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// ServerVersion returns the server's version ("15.20 (Debian ...)").
func ServerVersion(ctx context.Context, dbURL string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("read server version: %w", err)
	}
	return v, nil
}

func exec(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// InsertUsers adds n users with COPY to the users table of a migrated
// gateway database, with emails bench-<run>-<i>@bench.example (so that
// runs sharing a database do not collide), and returns them.
func InsertUsers(ctx context.Context, dbURL, run string, n int) ([]User, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	users := make([]User, n)
	for i := range users {
		users[i] = User{ID: uuid.NewString(), Email: fmt.Sprintf("bench-%s-%d@bench.example", strings.ToLower(run), i)}
	}
	return users, copyUsers(ctx, conn, users)
}

// CopyUsers adds users (made by InsertUsers for another database) to the
// users table of a migrated gateway database, ids included, so that the
// same tokens open both.
func CopyUsers(ctx context.Context, dbURL string, users []User) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	return copyUsers(ctx, conn, users)
}

func copyUsers(ctx context.Context, conn *pgx.Conn, users []User) error {
	n := len(users)
	// The addresses have no +tag, so each is its own email key.
	rows := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{users[i].ID, users[i].Email, users[i].Email}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "email", "email_key"}, rows); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	// Fresh statistics, as a long-running database would have.
	if _, err := conn.Exec(ctx, "ANALYZE users"); err != nil {
		return fmt.Errorf("analyze users: %w", err)
	}
	return nil
}

// DeleteUsers removes the users of run (and, by cascade, their quota and
// request log rows).
func DeleteUsers(ctx context.Context, dbURL, run string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DELETE FROM users WHERE email LIKE $1", "bench-"+strings.ToLower(run)+"-%"); err != nil {
		return fmt.Errorf("delete users: %w", err)
	}
	return nil
}

// Tokens mints an access token for each user, signed with secret and
// valid for ttl.
func Tokens(users []User, secret string, ttl time.Duration) ([]string, error) {
	iss := jwt.New([]byte(secret), tokenIssuer)
	now := time.Now()
	out := make([]string, len(users))
	for i, u := range users {
		t, err := iss.Issue(domain.TokenClaims{UserID: domain.UserID(u.ID), Email: u.Email, IssuedAt: now, ExpiresAt: now.Add(ttl)})
		if err != nil {
			return nil, fmt.Errorf("issue token: %w", err)
		}
		out[i] = t
	}
	return out, nil
}

// Sample picks n of users at random (all of them if n >= len(users)),
// reproducibly for a given seed.
func Sample(users []User, n int, seed uint64) []User {
	if n >= len(users) {
		return users
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	idx := r.Perm(len(users))[:n]
	out := make([]User, n)
	for i, j := range idx {
		out[i] = users[j]
	}
	return out
}
