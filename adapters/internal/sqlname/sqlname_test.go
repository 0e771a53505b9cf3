package sqlname_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/adapters/internal/sqlname"
)

func TestOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sql, want string
	}{
		{"-- name: ConsumeQuota :one\nINSERT INTO quota_usage ...", "ConsumeQuota"},
		{"-- name: GetUserByID :one", "GetUserByID"},
		{"-- name: Lonely", "Lonely"},
		{"-- name: bad-name :one\nSELECT 1", sqlname.Other},
		{"-- name: 9lives :one", sqlname.Other},
		{"-- name:  :one", sqlname.Other},
		{"begin", sqlname.Begin},
		{"BEGIN ISOLATION LEVEL SERIALIZABLE", sqlname.Begin},
		{" commit", sqlname.Commit},
		{"rollback;", sqlname.Rollback},
		{"SELECT * FROM users WHERE email = 'ada@example.com'", sqlname.Other},
		{"", sqlname.Other},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sqlname.Of(tt.sql), tt.sql)
	}
}

func TestOfDoesNotAllocate(t *testing.T) {
	sql := "-- name: ConsumeQuota :one\nINSERT INTO quota_usage (user_id) VALUES ($1)"
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = sqlname.Of(sql) }))
}
