package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
)

// OpenPoolConfig is Open with a pool configuration the test builds itself,
// for settings Open does not offer (notice handlers, session parameters).
func OpenPoolConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return &DB{pool: pool, q: sqlcgen.New(pool)}, nil
}
