package main

import (
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
)

// resetPasswordCmd is the operator's password reset: it works on the
// database directly (like migrate), not through the API, so that it needs
// no admin token and no mail server.
func (c *cli) resetPasswordCmd() *cobra.Command {
	var generate bool
	cmd := &cobra.Command{
		Use:   "reset-password EMAIL",
		Short: "Set an account's password on the database (operator; no admin token needed)",
		Long: `Set an account's password and log it out everywhere.

Run by the operator on a machine that reaches the database: it reads
DATABASE_URL (and the rest of the configuration) from the environment and
the env file, like genzai migrate, and needs no admin token or mail server.
The new password (8 to 128 characters) is read without echo on a terminal,
or as one line from standard input; with --generate a random one is set and
printed. The password is hashed with Argon2id as the server does, and every
access token of the account issued so far stops working. Personal API keys
are separate credentials and keep working.`,
		Example: `  genzai admin reset-password ada@example.com
  echo "$NEW_PASSWORD" | genzai admin reset-password ada@example.com
  DATABASE_URL=postgres://... genzai admin reset-password --generate ada@example.com`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			var password string
			if generate {
				password = rand.Text()
			} else if password, err = c.prompt("New password: ", true); err != nil {
				return err
			}
			if domain.ValidatePassword(password) != nil {
				return usageErrorf("the new password must be %d to %d characters", domain.MinPasswordLen, domain.MaxPasswordLen)
			}
			// A CLI run needs one connection, not the server's pool.
			cfg.DatabasePoolSize, cfg.DatabasePoolMaxOverflow = 1, 1
			db, err := app.OpenDatabase(cmd.Context(), cfg, app.NewLogger(cfg, c.stderr))
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := app.ResetPassword(cmd.Context(), cfg, db, app.Options{}, args[0], password)
			if domain.ErrorCode(err) == domain.CodeNotFound {
				return fmt.Errorf("no account with the email %q", args[0])
			}
			if err != nil {
				return err
			}
			done := fmt.Sprintf("password of %s reset; its access tokens no longer work\n", u.Email)
			if generate {
				// Standard output holds the password alone, for a pipe.
				fmt.Fprintln(c.stdout, password)
				fmt.Fprint(c.stderr, done)
				return nil
			}
			fmt.Fprint(c.stdout, done)
			return nil
		},
	}
	cmd.Flags().BoolVar(&generate, "generate", false, "set a random password and print it on standard output")
	return cmd
}
