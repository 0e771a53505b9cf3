// Package db embeds the database migrations so that the binary carries its
// schema; sqlc reads the same files.
package db

import "embed"

// Migrations holds schema/*.sql in goose format.
//
//go:embed schema/*.sql
var Migrations embed.FS
