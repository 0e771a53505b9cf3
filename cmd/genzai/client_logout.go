package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// logoutCmd logs the caller out everywhere, then forgets the saved token.
func (c *cli) logoutCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Log out everywhere and forget the saved token",
		Long: `Log out everywhere and forget the saved token.

Asks the server to revoke every access token of the account issued so far
(on every device, this one included), then removes the token from the CLI
config. A token the server already refuses is forgotten too. Personal API
keys keep working; revoke them with: genzai keys revoke.`,
		Example: `  genzai logout`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			if cn.token == "" {
				return errors.New("not logged in (no token given or saved); log in with: genzai login")
			}
			res, err := cn.client.LogoutWithResponse(cmd.Context())
			if err != nil {
				return cn.check(err, nil)
			}
			already := res.StatusCode() == http.StatusUnauthorized
			if !already {
				if err := cn.checkStatus(res.StatusCode(), res.Body); err != nil {
					return err
				}
			}
			s, err := c.loadSettings()
			if err != nil {
				return err
			}
			if s.Token == cn.token {
				s.Token = ""
				if err := c.saveSettings(s); err != nil {
					return err
				}
			}
			if already {
				fmt.Fprintln(c.stdout, "the token was already invalid; it is forgotten")
				return nil
			}
			fmt.Fprintln(c.stdout, "logged out everywhere")
			return nil
		},
	}
	f.add(cmd)
	return cmd
}
