package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func (c *cli) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke your personal API keys",
		Long: `Personal API keys act for you wherever an access token does (send one as
"Authorization: Bearer gz-..."), for scripts and tools. A key is shown once,
when it is created; the server keeps only its hash. Keys are created with the
access token of a login, not with another key. A key holds scopes: chat (the
default: chat, models, quota, feedback, web search) and, for admins who ask,
admin (the admin routes); it may expire.`,
	}
	cmd.AddCommand(c.keysCreateCmd(), c.keysListCmd(), c.keysRevokeCmd())
	return cmd
}

func (c *cli) keysCreateCmd() *cobra.Command {
	var f clientFlags
	var scopes []string
	var days int
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a key and print it (it is shown only this once)",
		Example: `  genzai keys create laptop
  genzai keys create ci --expires-in-days 90
  genzai keys create ops --scope admin --expires-in-days 30`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.APIKeyRequest{Name: args[0]}
			for _, s := range scopes {
				if s != string(api.Chat) && s != string(api.Admin) {
					return usageErrorf("--scope must be chat or admin, not %q", s)
				}
				req.Scopes = ptr(append(deref(req.Scopes), api.KeyScope(s)))
			}
			if cmd.Flags().Changed("expires-in-days") {
				if days < 1 || days > 3650 {
					return usageErrorf("--expires-in-days must be 1 to 3650")
				}
				req.ExpiresInDays = &days
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.CreateAPIKeyWithResponse(cmd.Context(), req)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			k, err := parsed(res.JSON201, res.Body)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s\n", k.Key)
			fmt.Fprintf(c.stderr, "created key %q (%s, id %s, scopes %s, expires %s): store it now, it is not shown again\n",
				k.Name, k.Prefix, k.Id, scopeList(k.Scopes), expiryText(k.ExpiresAt))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringSliceVar(&scopes, "scope", nil, "what the key may do: chat (default) and/or admin (admins only); repeat or separate with commas")
	cmd.Flags().IntVar(&days, "expires-in-days", 0, "the key expires after this many days (1 to 3650; default: never)")
	return cmd
}

func scopeList(scopes []api.KeyScope) string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}

func expiryText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(timeFormat)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (c *cli) keysListCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your keys (never the keys themselves)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.ListAPIKeysWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			list, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			return printKeys(c.stdout, list.Keys)
		},
	}
	f.add(cmd)
	return cmd
}

func printKeys(w io.Writer, keys []api.APIKey) error {
	if len(keys) == 0 {
		_, err := fmt.Fprintln(w, "no API keys")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tNAME\tID\tSCOPES\tCREATED\tLAST USED\tEXPIRES")
	for _, k := range keys {
		last := "never"
		if k.LastUsedAt != nil {
			last = k.LastUsedAt.UTC().Format(timeFormat)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Prefix, k.Name, k.Id, scopeList(k.Scopes),
			k.CreatedAt.UTC().Format(timeFormat), last, expiryText(k.ExpiresAt))
	}
	return tw.Flush()
}

func (c *cli) keysRevokeCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "revoke ID|PREFIX",
		Short: "Revoke a key at once, by its id or its prefix (gz-XXXXXXXX)",
		Example: `  genzai keys revoke 3f9a1c1e-7b2d-4e8f-9a6b-1c2d3e4f5a6b
  genzai keys revoke gz-Xb3kP9qL`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			id, err := c.findKey(cmd.Context(), cn, args[0])
			if err != nil {
				return err
			}
			res, err := cn.client.RevokeAPIKeyWithResponse(cmd.Context(), id)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, []byte(fmt.Sprintf(`{"revoked":%q}`, id.String())))
			}
			_, err = fmt.Fprintf(c.stdout, "revoked %s\n", id)
			return err
		},
	}
	f.add(cmd)
	return cmd
}

// findKey resolves a key id or a key prefix to the id.
func (c *cli) findKey(ctx context.Context, cn *conn, which string) (openapi_types.UUID, error) {
	if id, err := uuid.Parse(which); err == nil {
		return id, nil
	}
	if !strings.HasPrefix(which, "gz-") {
		return uuid.Nil, usageErrorf("%q is neither a key id nor a key prefix (gz-...)", which)
	}
	res, err := cn.client.ListAPIKeysWithResponse(ctx)
	if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
		return uuid.Nil, err
	}
	list, err := parsed(res.JSON200, res.Body)
	if err != nil {
		return uuid.Nil, err
	}
	var found []api.APIKey
	for _, k := range list.Keys {
		if strings.HasPrefix(which, k.Prefix) || strings.HasPrefix(k.Prefix, which) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return uuid.Nil, fmt.Errorf("no API key of yours starts with %s", which)
	case 1:
		return found[0].Id, nil
	default:
		return uuid.Nil, fmt.Errorf("%d of your keys start with %s: give the id", len(found), which)
	}
}
