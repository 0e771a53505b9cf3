package db

// One sqlc run generates the queries of both adapters (see sqlc.yaml):
// adapters/postgres/internal/sqlcgen and adapters/sqlite/internal/sqlcgen.
//go:generate go tool -modfile=../tools/go.mod sqlc generate -f ../sqlc.yaml
