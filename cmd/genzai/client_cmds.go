package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/genzai/genzai/api"
)

func (c *cli) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Read and change the CLI settings (host, token, model, output)",
		Example: `  genzai config set host https://genzai.example.com
  genzai config get host     # the host used, and (on stderr) where it comes from
  genzai config list`,
	}
	cmd.AddCommand(&cobra.Command{
		Use: "get KEY", Short: "Print a setting's effective value (stdout) and where it comes from (stderr)", Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			st, err := c.effective(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "(%s)\n", st.source)
			_, err = fmt.Fprintln(c.stdout, st.value)
			return err
		},
	}, &cobra.Command{
		Use: "set KEY VALUE", Short: "Change a setting", Args: exactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := c.loadSettings()
			if err != nil {
				return err
			}
			if err := s.set(args[0], args[1]); err != nil {
				return err
			}
			return c.saveSettings(s)
		},
	}, &cobra.Command{
		Use: "unset KEY", Short: "Remove a setting", Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := c.loadSettings()
			if err != nil {
				return err
			}
			if err := s.set(args[0], ""); err != nil {
				return err
			}
			return c.saveSettings(s)
		},
	}, &cobra.Command{
		Use: "list", Short: "Print every setting's effective value and where it comes from (the token masked)", Args: exactArgs(0),
		RunE: func(_ *cobra.Command, _ []string) error {
			for _, k := range settingKeys {
				st, err := c.effective(k)
				if err != nil {
					return err
				}
				if k == "token" {
					st.value = maskToken(st.value)
				}
				fmt.Fprintf(c.stdout, "%s=%s  (%s)\n", k, st.value, st.source)
			}
			return nil
		},
	})
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error (exit code 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

func (c *cli) healthCmd() *cobra.Command {
	var f clientFlags
	var detailed bool
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the server is alive and ready (exit code 1 when not)",
		Example: `  genzai health
  genzai health --detailed --host https://genzai.example.com`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			h, err := cn.client.GetHealthWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return h.StatusCode(), h.Body }); err != nil {
				return err
			}
			r, err := cn.client.GetReadyWithResponse(cmd.Context())
			if err != nil {
				return cn.check(err, nil)
			}
			if cn.json {
				_ = printJSON(c.stdout, h.Body)
				_ = printJSON(c.stdout, r.Body)
			} else {
				fmt.Fprintf(c.stdout, "%s: %s (version %s)\n", h.JSON200.Service, h.JSON200.Status, h.JSON200.Version)
				var ready api.Readiness
				_ = json.Unmarshal(r.Body, &ready)
				state := "ready"
				if !ready.Ready {
					state = "NOT ready"
				}
				fmt.Fprintf(c.stdout, "%s (%s)\n", state, ready.Environment)
				if detailed && ready.Checks != nil {
					for _, k := range []string{"database", "redis"} {
						if v, ok := (*ready.Checks)[k]; ok {
							fmt.Fprintf(c.stdout, "  %-9s %s\n", k, v)
						}
					}
				}
			}
			if detailed && !cn.json {
				if err := c.printStatus(cmd, cn); err != nil {
					return err
				}
			}
			if r.StatusCode() != 200 {
				return errSilent
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&detailed, "detailed", false, "also show the dependency checks and the provider status")
	return cmd
}

func (c *cli) statusCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the AI providers' health",
		Example: `  genzai status`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			return c.printStatus(cmd, cn)
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) printStatus(cmd *cobra.Command, cn *conn) error {
	res, err := cn.client.GetStatusWithResponse(cmd.Context(), nil)
	if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
		return err
	}
	if cn.json {
		return printJSON(c.stdout, res.Body)
	}
	color := c.colour()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tSTATUS\tUPTIME\tLAST CHECKED\tSERVES")
	for _, p := range *res.JSON200 {
		uptime, checked := "-", "never"
		if p.Uptime != nil {
			uptime = fmt.Sprintf("%.2f%%", *p.Uptime)
		}
		if p.LastChecked != nil {
			checked = ago(*p.LastChecked)
		}
		serves := make([]string, len(p.Serves))
		for i, k := range p.Serves {
			serves[i] = string(k)
		}
		if len(serves) == 0 {
			serves = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Provider, color(string(p.Status)), uptime, checked, strings.Join(serves, ","))
	}
	return tw.Flush()
}

// colour paints statuses on a terminal, unless NO_COLOR is set.
func (c *cli) colour() func(string) string {
	if c.env("NO_COLOR") != "" || !c.stdoutIsTerminal() {
		return func(s string) string { return s }
	}
	codes := map[string]string{"up": "32", "degraded": "33", "down": "31", "unconfigured": "90", "unknown": "90"}
	return func(s string) string {
		if code, ok := codes[s]; ok {
			return "\x1b[" + code + "m" + s + "\x1b[0m"
		}
		return s
	}
}

func (c *cli) loginCmd(register bool) *cobra.Command {
	var f clientFlags
	var email string
	use, short := "login", "Log in and store the token in the CLI config"
	if register {
		use, short = "register", "Create an account, log in and store the token"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

The password is read without echo on a terminal, or as one line from
standard input otherwise. With an empty password, login tries email-only
login where the server allows it.`,
		Example: "  genzai " + use + " --email ada@example.com\n  echo \"$PASSWORD\" | genzai " + use + " --email ada@example.com",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			if email == "" {
				// Without a terminal the one line of standard input is the
				// password: the email must come as a flag.
				if !c.stdinIsTerminal() {
					return usageErrorf("--email is required when standard input is not a terminal")
				}
				if email, err = c.prompt("Email: ", false); err != nil {
					return err
				}
				if strings.TrimSpace(email) == "" {
					return usageErrorf("an email is required")
				}
			}
			password, err := c.prompt("Password: ", true)
			if err != nil {
				return err
			}
			if register {
				res, err := cn.client.RegisterWithResponse(cmd.Context(), api.RegisterRequest{Email: email, Password: password})
				if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
					return err
				}
			}
			body := api.LoginRequest{Email: email}
			if password != "" {
				body.Password = &password
			}
			res, err := cn.client.LoginWithResponse(cmd.Context(), body)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			s, err := c.loadSettings()
			if err != nil {
				return err
			}
			s.Token = res.JSON200.AccessToken
			if f.host != "" {
				s.Host = cn.host
			}
			if err := c.saveSettings(s); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			if register {
				fmt.Fprintf(c.stdout, "created the account %s and logged in (token valid for %s)\n", strings.ToLower(strings.TrimSpace(email)), fmtSeconds(res.JSON200.ExpiresIn))
				return nil
			}
			fmt.Fprintf(c.stdout, "logged in as %s (token valid for %s)\n", strings.ToLower(strings.TrimSpace(email)), fmtSeconds(res.JSON200.ExpiresIn))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&email, "email", "", "account email (prompted when not given)")
	return cmd
}

// stdinIsTerminal reports whether standard input is a terminal, where
// prompts can ask.
func (c *cli) stdinIsTerminal() bool {
	f, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stdoutIsTerminal reports whether standard output is a terminal, where
// colour helps and audio does not belong.
func (c *cli) stdoutIsTerminal() bool {
	f, ok := c.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// prompt reads one line: without echo on a terminal when secret.
func (c *cli) prompt(label string, secret bool) (string, error) {
	if c.stdinIsTerminal() {
		f := c.stdin.(*os.File)
		fmt.Fprint(c.stderr, label)
		if secret {
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(c.stderr)
			return string(b), err
		}
	}
	line, err := c.lines().ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (c *cli) lines() *bufio.Reader {
	if c.in == nil {
		c.in = bufio.NewReader(c.stdin)
	}
	return c.in
}

func fmtSeconds(s int) string {
	if s%3600 == 0 {
		return fmt.Sprintf("%dh", s/3600)
	}
	return fmt.Sprintf("%ds", s)
}
