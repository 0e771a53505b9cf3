package postgres_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/adapters/postgres"
)

// TestUnreachable retries a server that is absent or starting, and nothing
// that waiting would not change.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Op: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("connect: %w", refused), true},
		{"host unreachable", fmt.Errorf("connect: %w", syscall.EHOSTUNREACH), true},
		{"network unreachable", fmt.Errorf("connect: %w", syscall.ENETUNREACH), true},
		{"closed while connecting", fmt.Errorf("connect: %w", io.ErrUnexpectedEOF), true},
		{"starting up (57P03)", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"no slot left (53300)", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "53300"}), true},
		{"bad password (28P01)", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28P01"}), false},
		{"no such role (28000)", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28000"}), false},
		{"no such database (3D000)", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "3D000"}), false},
		{"unknown host", &net.OpError{Op: "dial", Err: &net.DNSError{Name: "db.invalid", IsNotFound: true}}, false},
		{"bad url", errors.New("database url: cannot parse connection string"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, postgres.Unreachable(tc.err))
		})
	}
}
