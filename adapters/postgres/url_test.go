package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres"
)

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantSSL string // sslmode pgx should read from the result; "" to skip
	}{
		{
			name:    "asyncpg ssl=require",
			in:      "postgresql+asyncpg://u:p@h:5432/db?ssl=require",
			want:    "postgresql://u:p@h:5432/db?sslmode=require",
			wantSSL: "require",
		},
		{
			name: "asyncpg ssl=true",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=true",
			want: "postgresql://u:p@h:5432/db?sslmode=require",
		},
		{
			name: "asyncpg ssl=TRUE",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=TRUE",
			want: "postgresql://u:p@h:5432/db?sslmode=require",
		},
		{
			name: "asyncpg ssl=1",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=1",
			want: "postgresql://u:p@h:5432/db?sslmode=require",
		},
		{
			name:    "asyncpg ssl=false",
			in:      "postgresql+asyncpg://u:p@h:5432/db?ssl=false",
			want:    "postgresql://u:p@h:5432/db?sslmode=disable",
			wantSSL: "disable",
		},
		{
			name: "asyncpg ssl=0",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=0",
			want: "postgresql://u:p@h:5432/db?sslmode=disable",
		},
		{
			name: "asyncpg ssl=verify-full passes through",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=verify-full",
			want: "postgresql://u:p@h:5432/db?sslmode=verify-full",
		},
		{
			name: "existing sslmode kept over ssl",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=true&sslmode=disable",
			want: "postgresql://u:p@h:5432/db?sslmode=disable",
		},
		{
			name: "asyncpg without ssl",
			in:   "postgresql+asyncpg://u:p@h:5432/db",
			want: "postgresql://u:p@h:5432/db",
		},
		{
			name: "asyncpg keeps other parameters",
			in:   "postgresql+asyncpg://u:p@h:5432/db?ssl=true&application_name=genzai",
			want: "postgresql://u:p@h:5432/db?application_name=genzai&sslmode=require",
		},
		{
			name: "postgres+asyncpg",
			in:   "postgres+asyncpg://u:p@h/db",
			want: "postgresql://u:p@h/db",
		},
		{
			name: "postgresql+psycopg",
			in:   "postgresql+psycopg://u:p@h/db",
			want: "postgresql://u:p@h/db",
		},
		{
			name: "postgresql+psycopg2",
			in:   "postgresql+psycopg2://u:p@h/db",
			want: "postgresql://u:p@h/db",
		},
		{
			name:    "postgres unchanged",
			in:      "postgres://u:p@h:5432/db?sslmode=disable",
			want:    "postgres://u:p@h:5432/db?sslmode=disable",
			wantSSL: "disable",
		},
		{
			name: "postgresql unchanged",
			in:   "postgresql://u:p@h/db",
			want: "postgresql://u:p@h/db",
		},
		{
			name: "no password",
			in:   "postgres://postgres@127.0.0.1:5432/genzai?sslmode=disable",
			want: "postgres://postgres@127.0.0.1:5432/genzai?sslmode=disable",
		},
		{
			name: "socket host in the query",
			in:   "postgres:///db?host=/var/run/postgresql",
			want: "postgres:///db?host=/var/run/postgresql",
		},
		{
			name: "escaped password kept",
			in:   "postgres://u:p%40ss%2Fw@h/db",
			want: "postgres://u:p%40ss%2Fw@h/db",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := postgres.NormalizeURL(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			// The result is for pgx: it must parse there.
			cfg, err := pgconn.ParseConfig(got)
			require.NoError(t, err)
			if tc.wantSSL == "disable" {
				assert.Nil(t, cfg.TLSConfig)
			}
			if tc.wantSSL == "require" {
				assert.NotNil(t, cfg.TLSConfig)
			}
		})
	}
}

func TestNormalizeURLErrors(t *testing.T) {
	t.Parallel()
	const password = "sup3rs3cret"
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ""},
		{name: "colons", in: "::"},
		{name: "mysql", in: "mysql://u:" + password + "@h:3306/db"},
		{name: "sqlite", in: "sqlite:///tmp/genzai.db"},
		{name: "http", in: "http://u:" + password + "@h/db"},
		{name: "no scheme", in: "u:" + password + "@h/db"},
		{name: "plain words", in: "not a url"},
		{name: "missing host", in: "postgres://u:" + password + "@/db"},
		{name: "missing host, no user", in: "postgres:///db"},
		{name: "asyncpg missing host", in: "postgresql+asyncpg://u:" + password + "@/db?ssl=true"},
		{name: "bad port", in: "postgres://u:" + password + "@h:port/db"},
		{name: "bad escape", in: "postgres://u:" + password + "@h/db%zz"},
		{name: "control character", in: "postgres://u:" + password + "@h/db\x7f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := postgres.NormalizeURL(tc.in)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.NotContains(t, err.Error(), password)
		})
	}
}
