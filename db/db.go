// Package db embeds the database migrations so that the binary carries its
// schema; sqlc reads the same files. Each engine has its own folder of goose
// migrations with the same versions, so that both databases go through the
// same steps: schema/postgres for the PostgreSQL adapter and schema/sqlite
// for the SQLite adapter.
package db

import (
	"embed"
	"io/fs"
)

//go:embed schema/postgres/*.sql schema/sqlite/*.sql
var migrations embed.FS

// PostgresMigrations holds the PostgreSQL migrations (goose format) at its root.
var PostgresMigrations = sub("schema/postgres")

// SQLiteMigrations holds the SQLite migrations (goose format) at its root.
var SQLiteMigrations = sub("schema/sqlite")

func sub(dir string) fs.FS {
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		// fs.Sub fails only for an invalid path, which the embed line rules out.
		panic(err)
	}
	return fsys
}
