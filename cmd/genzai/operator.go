package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
)

// operatorCmds are the admin subcommands the operator runs with the
// database's URL (DATABASE_URL, like genzai migrate) rather than a token,
// and confirm, which a second admin runs against the server.
func (c *cli) operatorCmds() []*cobra.Command {
	return []*cobra.Command{
		c.operatorGrantCmd("grant", "Make an existing account an admin (operator: needs the database URL)", true),
		c.operatorGrantCmd("revoke", "Take an account's admin rights away at once (operator: needs the database URL)", false),
		c.operatorAuditCmd(),
		c.confirmChangeCmd(),
	}
}

const operatorLong = `%s

Run by the operator with the database's URL (DATABASE_URL, or DATABASE_PATH
for SQLite, from the environment or --env-file), like genzai migrate: no
token and no second admin are needed, since whoever holds the database can
change it anyway. The account must exist (the person registers or logs in
first). The change applies at once on every instance and is recorded in the
audit log with the actor "operator".`

func (c *cli) operatorGrantCmd(name, short string, admin bool) *cobra.Command {
	return &cobra.Command{
		Use:     name + " EMAIL",
		Short:   short,
		Long:    fmt.Sprintf(operatorLong, short),
		Example: "  DATABASE_URL=postgres://... genzai admin " + name + " ada@example.com",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			op, err := c.openOperator(cmd)
			if err != nil {
				return err
			}
			defer op.Close()
			grant := op.Revoke
			if admin {
				grant = op.Grant
			}
			u, err := grant(cmd.Context(), args[0])
			if err != nil {
				return operatorError(err)
			}
			state := "is no longer an admin"
			if u.IsAdmin {
				state = "is now an admin"
			}
			_, err = fmt.Fprintf(c.stdout, "%s %s\n", u.Email, state)
			return err
		},
	}
}

func (c *cli) operatorAuditCmd() *cobra.Command {
	var limit int
	var cursor, output string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log of admin changes, newest first (operator: needs the database URL)",
		Long: fmt.Sprintf(operatorLong, "Print the audit log of admin changes, newest first.") +
			"\n\nAdmins read the same log through the API: GET /api/v1/admin/audit.",
		Example: `  genzai admin audit
  genzai admin audit --limit 200 -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "text" && output != "json" {
				return usageErrorf("output must be text or json")
			}
			op, err := c.openOperator(cmd)
			if err != nil {
				return err
			}
			defer op.Close()
			page, err := op.Audit(cmd.Context(), &limit, cursor)
			if err != nil {
				return operatorError(err)
			}
			if output == "json" {
				return printJSON(c.stdout, mustJSON(auditJSON(page.Entries, page.NextCursor)))
			}
			if len(page.Entries) == 0 {
				_, err := fmt.Fprintln(c.stdout, "the audit log is empty")
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tACTOR\tACTION\tTARGET\tDETAILS\tREQUEST ID")
			for _, e := range page.Entries {
				details, _ := json.Marshal(e.Details)
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.CreatedAt.UTC().Format(timeFormat), e.Actor,
					e.Action, e.Target, details, e.RequestID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.NextCursor != "" {
				fmt.Fprintf(c.stderr, "more: genzai admin audit --limit %d --cursor %s\n", limit, page.NextCursor)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "entries to print (1 to 500)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after a previous page")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: text or json")
	return cmd
}

// auditJSON is the audit page in the API's shape.
func auditJSON(entries []domain.AuditEntry, next string) map[string]any {
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		out[i] = map[string]any{
			"id": e.ID, "actor": e.Actor, "actor_id": nilIfEmpty(string(e.ActorID)), "action": e.Action,
			"target": e.Target, "target_id": nilIfEmpty(string(e.TargetID)), "details": e.Details,
			"request_id": nilIfEmpty(e.RequestID), "created_at": e.CreatedAt.UTC(),
		}
	}
	return map[string]any{"entries": out, "next_cursor": nilIfEmpty(next)}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // maps of JSON values: cannot fail
	return b
}

func (c *cli) openOperator(cmd *cobra.Command) (*app.Operator, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return app.OpenOperator(cmd.Context(), cfg, app.NewLogger(cfg, c.stderr))
}

// operatorError shows a domain error's message (written for people) and
// keeps other errors whole.
func operatorError(err error) error {
	if code := domain.ErrorCode(err); code != domain.CodeInternal {
		return fmt.Errorf("%s", domain.ErrorMessage(err))
	}
	return err
}

func (c *cli) confirmChangeCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "confirm CHANGE_ID",
		Short: "Confirm another admin's pending change (a promotion, or disabling or demoting an admin)",
		Long: `Confirm a pending change: promoting an account, and disabling or demoting
an admin, take a second admin. The admin who asked for the change cannot
confirm it; it expires after 24 hours.`,
		Example: "  genzai admin confirm 5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("%q is not a change id", args[0])
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.ConfirmChangeWithResponse(cmd.Context(), id)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			done, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "confirmed %s's change to %s: admin %t, disabled %t\n",
				done.Change.RequestedByEmail, done.User.Email, done.User.IsAdmin, done.User.Disabled)
			return err
		},
	}
	f.add(cmd)
	return cmd
}
