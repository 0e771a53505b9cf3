package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Connections is what a PostgreSQL server admits and who holds its
// connections now, as one client sees it.
type Connections struct {
	// MaxConnections is the server's max_connections.
	MaxConnections int
	// Reserved counts the slots ordinary roles cannot take:
	// superuser_reserved_connections plus reserved_connections (PostgreSQL
	// 16 and later).
	Reserved int
	// Here counts the client connections to the URL's database open now
	// by their application_name, the reader's own left out.
	Here map[string]int
	// Elsewhere counts the client connections to the server's other
	// databases.
	Elsewhere int
}

// ReadConnections reads the server's connection limits and the client
// connections open now, on one read-only connection that it closes.
func ReadConnections(ctx context.Context, rawURL, applicationName string) (Connections, error) {
	c := Connections{Here: map[string]int{}}
	dsn, err := NormalizeURL(rawURL)
	if err != nil {
		return c, fmt.Errorf("database url: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return c, fmt.Errorf("database url: %w", redactErr(err))
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["application_name"] = applicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return c, fmt.Errorf("connect: %w", redactErr(err))
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
	current_setting('superuser_reserved_connections')::int
	+ coalesce(current_setting('reserved_connections', true), '0')::int`).Scan(&c.MaxConnections, &c.Reserved)
	if err != nil {
		return c, fmt.Errorf("read connection settings: %w", err)
	}
	// Without pg_read_all_stats a role sees other roles' sessions with a
	// NULL backend_type; background processes have no user.
	rows, err := conn.Query(ctx, `SELECT coalesce(application_name, ''), datname IS NOT DISTINCT FROM current_database(), count(*)::int
	FROM pg_stat_activity
	WHERE pid <> pg_backend_pid() AND usesysid IS NOT NULL
	AND coalesce(backend_type, 'client backend') = 'client backend'
	GROUP BY 1, 2`)
	if err != nil {
		return c, fmt.Errorf("read connections: %w", err)
	}
	for rows.Next() {
		var name string
		var here bool
		var n int
		if err := rows.Scan(&name, &here, &n); err != nil {
			rows.Close()
			return c, fmt.Errorf("read connections: %w", err)
		}
		if here {
			c.Here[name] += n
		} else {
			c.Elsewhere += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read connections: %w", err)
	}
	return c, nil
}
