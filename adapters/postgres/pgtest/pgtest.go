// Package pgtest gives each test a fresh PostgreSQL database built from the
// migrations.
//
// With TEST_DATABASE_URL set (any database on the server; the role must be
// allowed to create databases) it migrates a template database once per
// migration set and clones it per test. Otherwise it starts a PostgreSQL
// container with testcontainers-go. When neither works the test is skipped,
// unless CI or TEST_REQUIRE_DB is set: then it fails.
//
// Test databases are named after the time they were made (genzai_t_... and
// genzai_e_..., see newName). A run that dies before its cleanups leaves
// them behind; the first test of a later run on the same server drops those
// older than StaleAfter that nobody is connected to.
//
// A PostgreSQL server admits a fixed number of connections (100 by
// default) for every test binary running at once: a test keeps the pools it
// opens on its database within MaxConns in total.
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

// MaxConns is the most connections one test opens to its database, summed
// over every pool it opens (several pools stand for several instances).
// make test runs at most two database test binaries with two tests each at
// once, so that the whole suite stays far below a server's 100 connections.
const MaxConns = 10

// StaleAfter is the age past which a test database is left over from a
// run that ended without dropping it: no test runs that long (go test's
// default -timeout is ten minutes).
const StaleAfter = time.Hour

// NewURL creates a fresh migrated database for t, drops it when t ends and
// returns its connection URL.
func NewURL(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sweepOnce(t, admin)
	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: build template database: %v", err)
	}
	name := newName(prefixTemplated, time.Now())
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
	sweepOnce(t, admin)
	name := newName(prefixEmpty, time.Now())
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

// Name prefixes of the databases tests get; dropStale looks at these only.
const (
	prefixTemplated = "genzai_t_"
	prefixEmpty     = "genzai_e_"
	// nameTime is the creation time in a name, in UTC to the second.
	nameTime = "20060102_150405"
)

// newName names a test database made at now: the prefix, the time, and a
// random part that keeps names made in the same second apart.
func newName(prefix string, now time.Time) string {
	return prefix + now.UTC().Format(nameTime) + "_" + strings.ToLower(rand.Text()[:10])
}

// createdAt reads the creation time from a name newName made; ok is false
// for any other name (other databases, and names of earlier versions of
// this package, which carry no time and are never dropped here).
func createdAt(name string) (created time.Time, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(name, prefixTemplated):
		rest = name[len(prefixTemplated):]
	case strings.HasPrefix(name, prefixEmpty):
		rest = name[len(prefixEmpty):]
	default:
		return time.Time{}, false
	}
	if len(rest) <= len(nameTime) || rest[len(nameTime)] != '_' {
		return time.Time{}, false
	}
	created, err := time.Parse(nameTime, rest[:len(nameTime)])
	return created, err == nil
}

// sweep drops stale test databases once per test binary.
var sweep sync.Once

func sweepOnce(t testing.TB, admin string) {
	sweep.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dropped, err := dropStale(ctx, admin, time.Now(), StaleAfter)
		if err != nil {
			// Leftovers cost disk space, not correctness: the test goes on.
			t.Logf("pgtest: drop stale test databases: %v", err)
		}
		if len(dropped) > 0 {
			t.Logf("pgtest: dropped %d test databases left over from earlier runs: %s", len(dropped), strings.Join(dropped, ", "))
		}
	})
}

// dropStale drops the test databases on the server at admin that were made
// more than maxAge before now and returns their names. A database someone
// is connected to is kept whatever its name says (it is dropped without
// FORCE), so that a run still using one never loses it.
func dropStale(ctx context.Context, admin string, now time.Time, maxAge time.Duration) ([]string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'genzai\_t\_%' OR datname LIKE 'genzai\_e\_%'`)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	var dropped []string
	var errs []error
	for _, name := range names {
		created, ok := createdAt(name)
		if !ok || now.Sub(created) <= maxAge {
			continue
		}
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			dropped = append(dropped, name)
		case errors.As(err, &pgErr) && pgErr.Code == "55006":
			// In use (object_in_use): whoever holds it still needs it.
		default:
			errs = append(errs, fmt.Errorf("drop %s: %w", name, err))
		}
	}
	return dropped, errors.Join(errs...)
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

// prefixRole names the roles NewLimitedRole creates, which log in with
// rolePassword (a server that trusts local connections ignores it).
const (
	prefixRole   = "genzai_r_"
	rolePassword = "pgtest"
)

// NewLimitedRole creates a login role allowed limit connections at once
// (CONNECTION LIMIT, refused with SQLSTATE 53300 like a full server) and
// every privilege on the tables of the database at dbURL, which NewURL
// made; it drops the role when t ends (register it after the pools that
// use it, so that they close first) and returns dbURL as that role. It
// lets a test fill "the server" without touching max_connections.
func NewLimitedRole(t testing.TB, dbURL string, limit int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	role := pgx.Identifier{newName(prefixRole, time.Now())}.Sanitize()
	stmts := fmt.Sprintf(`CREATE ROLE %[1]s LOGIN CONNECTION LIMIT %[2]d PASSWORD '%[3]s';
GRANT USAGE ON SCHEMA public TO %[1]s;
GRANT ALL ON ALL TABLES IN SCHEMA public TO %[1]s;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %[1]s`, role, limit, rolePassword)
	if err := exec(ctx, dbURL, stmts); err != nil {
		t.Fatalf("pgtest: create limited role: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, dbURL, "DROP OWNED BY "+role+"; DROP ROLE "+role); err != nil {
			t.Errorf("pgtest: drop role: %v", err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: database url: %v", err)
	}
	u.User = url.UserPassword(strings.Trim(role, `"`), rolePassword)
	return u.String()
}
