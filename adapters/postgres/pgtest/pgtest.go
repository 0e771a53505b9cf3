// Package pgtest gives each test a fresh PostgreSQL database built from the
// migrations.
//
// With TEST_DATABASE_URL set (any database on the server; the role must be
// allowed to create databases) it migrates a template database once per
// migration set and clones it per test. Otherwise it starts a PostgreSQL
// container with testcontainers-go. When neither works the test is skipped,
// unless CI or TEST_REQUIRE_DB is set: then it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/genzai/genzai/adapters/postgres"
	"github.com/genzai/genzai/db"
)

// NewURL creates a fresh migrated database for t, drops it when t ends and
// returns its connection URL.
func NewURL(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: build template database: %v", err)
	}
	name := "genzai_t_" + strings.ToLower(rand.Text()[:16])
	if err := createFromTemplate(ctx, admin, name, tmpl); err != nil {
		t.Fatalf("pgtest: create test database: %v", err)
	}
	t.Cleanup(func() { drop(t, admin, name) })
	return withDatabase(admin, name)
}

// NewEmptyURL creates an empty database (no migrations applied) for t,
// drops it when t ends and returns its connection URL.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "genzai_e_" + strings.ToLower(rand.Text()[:16])
	if err := exec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create empty database: %v", err)
	}
	t.Cleanup(func() { drop(t, admin, name) })
	return withDatabase(admin, name)
}

func drop(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop %s: %v", name, err)
	}
}

// Required reports whether a missing database must fail the test run.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_DB") != ""
}

var container struct {
	once sync.Once
	url  string
	err  error
}

// adminURL returns a URL of the server tests create databases on.
func adminURL(t testing.TB) string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		norm, err := postgres.NormalizeURL(u)
		if err != nil {
			t.Fatalf("pgtest: TEST_DATABASE_URL: %v", err)
		}
		return norm
	}
	// One container serves every test of this test binary; Ryuk removes it
	// when the process exits.
	container.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var c *tcpostgres.PostgresContainer
		func() {
			defer func() {
				if r := recover(); r != nil {
					container.err = fmt.Errorf("docker: %v", r)
				}
			}()
			c, container.err = tcpostgres.Run(ctx, "postgres:15-alpine",
				tcpostgres.WithDatabase("genzai"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
				tcpostgres.BasicWaitStrategies())
		}()
		if container.err == nil {
			container.url, container.err = c.ConnectionString(ctx, "sslmode=disable")
		}
	})
	if container.err != nil {
		msg := fmt.Sprintf("pgtest: no database: TEST_DATABASE_URL is unset and testcontainers failed: %v", container.err)
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set TEST_DATABASE_URL to run database tests)")
	}
	return container.url
}

// ensureTemplate creates and migrates the template database for the current
// migrations unless it exists. An advisory lock keeps parallel test binaries
// from building it twice; the template is built under a temporary name and
// renamed when complete, so a crashed build is never used.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "genzai_tmpl_" + sum[:16]
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext('genzai-pgtest-template'))"); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext('genzai-pgtest-template'))") //nolint:errcheck

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrate(ctx, withDatabase(admin, building)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func migrate(ctx context.Context, url string) error {
	d, err := postgres.Open(ctx, url, postgres.PoolConfig{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("open template: %w", err)
	}
	// Every connection to the template must be closed before it is cloned.
	defer d.Close()
	m, err := d.NewMigrator(nil)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		return err
	}
	return nil
}

// createFromTemplate clones the template, retrying while another session
// briefly holds it (SQLSTATE 55006).
func createFromTemplate(ctx context.Context, admin, name, tmpl string) error {
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{tmpl}.Sanitize()
	for attempt := 0; ; attempt++ {
		err := exec(ctx, admin, stmt)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 50 {
			return err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func exec(ctx context.Context, url, stmt string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// migrationsHash names the template after the migration files' contents, so
// a changed migration gets a new template.
func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(db.PostgresMigrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(db.PostgresMigrations, n)
		if err != nil {
			return "", fmt.Errorf("read migration: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}
