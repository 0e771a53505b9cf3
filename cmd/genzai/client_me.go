package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func (c *cli) meCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "me",
		Short: "Show your account, or export everything the server holds about you",
		Long: `Shows your account: email, id, when it was created, whether it is an admin,
whether its address is confirmed and it has a password, and today's quota.
"genzai me export" writes everything the server holds about you as one JSON
document.`,
		Example: "  genzai me\n  genzai me -o json\n  genzai me export --output genzai-export.json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.GetMeWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			me, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			return printMe(c, me)
		},
	}
	f.add(cmd)
	cmd.AddCommand(c.meExportCmd())
	return cmd
}

func printMe(c *cli, me *api.Me) error {
	role := "user"
	if me.IsAdmin {
		role = "admin"
	}
	q := me.Quota
	_, err := fmt.Fprintf(c.stdout, "%s (%s)\nid:        %s\ncreated:   %s\nverified:  %s\npassword:  %s\nquota:     %d of %d requests used today, %d left\n",
		me.Email, role, me.Id, me.CreatedAt.UTC().Format(timeFormat), yesNo(me.EmailVerified), yesNo(me.HasPassword),
		q.Used, q.Limit, q.Remaining)
	return err
}

func (c *cli) meExportCmd() *cobra.Command {
	var f clientFlags
	var file string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write everything the server holds about you as one JSON document",
		Long: `Writes one JSON document with your account and today's quota, every
conversation with all its messages, your ratings of answers and your API keys
(by prefix: the server does not keep the keys). It goes to standard output,
or to the file --output names (created readable by you alone). Needs the
access token of a login, not an API key.`,
		Example: "  genzai me export > genzai-export.json\n  genzai me export --output genzai-export.json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.ExportMeWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			x, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			if file == "" {
				return printJSON(c.stdout, res.Body)
			}
			var buf bytes.Buffer
			if err := printJSON(&buf, res.Body); err != nil {
				return err
			}
			if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
				return fmt.Errorf("write the export: %w", err)
			}
			messages := 0
			for _, conv := range x.Conversations {
				messages += len(conv.Messages)
			}
			_, err = fmt.Fprintf(c.stderr, "wrote %s: %d conversations, %d messages, %d ratings, %d API keys\n",
				file, len(x.Conversations), messages, len(x.Feedback), len(x.ApiKeys))
			return err
		},
	}
	// The export is JSON whatever the output setting: --output names a
	// file here, and has no -o shorthand so that "-o json" is refused
	// rather than taken for a file name.
	cmd.Flags().StringVar(&f.host, "host", "", "server URL (default: GENZAI_HOST, the config file, then "+defaultHost+")")
	cmd.Flags().StringVar(&f.token, "token", "", "access token (default: GENZAI_TOKEN, then the config file)")
	cmd.Flags().StringVar(&file, "output", "", "write the document to this file instead of standard output")
	return cmd
}
