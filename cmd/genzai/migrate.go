package main

import (
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
)

func (c *cli) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
		Example: `  genzai migrate status
  genzai migrate up
  genzai migrate down`,
	}
	cmd.AddCommand(
		c.migrateSub("up", "Apply every pending migration", func(m *app.Migrator, cmd *cobra.Command) error {
			applied, err := m.Up(cmd.Context())
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(c.stdout, "no pending migrations")
			}
			for _, v := range applied {
				fmt.Fprintf(c.stdout, "applied %05d\n", v)
			}
			return nil
		}),
		c.migrateSub("down", "Roll back the newest applied migration", func(m *app.Migrator, cmd *cobra.Command) error {
			v, err := m.Down(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "rolled back %05d\n", v)
			return nil
		}),
		c.migrateSub("status", "List migrations and whether each is applied", func(m *app.Migrator, cmd *cobra.Command) error {
			st, err := m.Status(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
			for _, s := range st {
				state, at := "pending", ""
				if s.Applied {
					state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", s.Version, s.Name, state, at)
			}
			return tw.Flush()
		}),
	)
	return cmd
}

func (c *cli) migrateSub(use, short string, do func(*app.Migrator, *cobra.Command) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			// A CLI run needs one connection, not the server's pool.
			cfg.DatabasePoolSize, cfg.DatabasePoolMaxOverflow = 1, 1
			logger := app.NewLogger(cfg, c.stderr)
			db, err := app.OpenDatabase(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer db.Close()
			m, err := db.NewMigrator(slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer m.Close()
			return do(m, cmd)
		},
	}
}
