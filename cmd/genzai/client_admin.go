package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

// Page size bounds of the admin list operations, as the spec declares them.
const (
	maxUsersPage     = 200
	maxRequestsPage  = 500
	maxAnalyticsDays = 90
)

func (c *cli) adminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer the gateway: analytics, accounts, the request log, providers (admins only)",
		Long: `Administer the gateway: analytics, accounts, the request log and the
providers' keys.

Every admin command needs the token of an admin account (an email listed in
the server's ADMIN_EMAILS, or an account promoted by another admin); other
accounts get the server's "Admin access required" and exit code 1. grant,
revoke and audit are the operator's instead: they need the database's URL
(DATABASE_URL), not a token.`,
		Example: `  genzai admin analytics --days 30
  genzai admin users list --query example.com
  genzai admin users set-quota ada@example.com 200
  genzai admin requests --outcome error
  genzai admin providers`,
		RunE: group,
	}
	users := &cobra.Command{
		Use:   "users",
		Short: "List accounts and change their quota, admin flag or disabled flag",
		Long: `List accounts and change their quota, admin flag or disabled flag.

An account is named by its id or its email; an email must match an account
exactly (case-insensitively).`,
		Example: `  genzai admin users list --all
  genzai admin users set-quota ada@example.com default
  genzai admin users promote bob@example.com
  genzai admin users disable 0b6f5a0e-2f6e-4c4b-9a57-5c1f2b9d8e11`,
		RunE: group,
	}
	users.AddCommand(c.usersListCmd(), c.setQuotaCmd(),
		c.userFlagCmd("promote", "Make an account an admin", "is now an admin", func(p *api.AdminUserPatch) { p.IsAdmin = ptr(true) }),
		c.userFlagCmd("demote", "Take an account's admin rights away", "is no longer an admin", func(p *api.AdminUserPatch) { p.IsAdmin = ptr(false) }),
		c.userFlagCmd("disable", "Disable an account: its existing tokens are refused at once", "is disabled; its tokens are refused from now on", func(p *api.AdminUserPatch) { p.Disabled = ptr(true) }),
		c.userFlagCmd("enable", "Enable a disabled account again (its old tokens stay refused)", "is enabled; log in again: older tokens stay refused", func(p *api.AdminUserPatch) { p.Disabled = ptr(false) }),
	)
	cmd.AddCommand(c.analyticsCmd(), users, c.requestsCmd(), c.providersCmd())
	cmd.AddCommand(c.resetPasswordCmd())
	cmd.AddCommand(c.operatorCmds()...)
	return cmd
}

func ptr[T any](v T) *T { return &v }

func (c *cli) analyticsCmd() *cobra.Command {
	var f clientFlags
	var days int
	cmd := &cobra.Command{
		Use:   "analytics",
		Short: "Report usage, errors, latency and feedback over the last days",
		Long: `Report usage, errors, latency and feedback over the last days (UTC, today
included): requests and active users per day, totals with the error rates
(4xx: refused for the caller, 5xx: failed by the gateway or its providers),
the top users, requests per tier and provider, latency and time-to-first-token
percentiles, and the feedback given.`,
		Example: "  genzai admin analytics\n  genzai admin analytics --days 30 -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := &api.GetAnalyticsParams{}
			if cmd.Flags().Changed("days") {
				if days < 1 || days > maxAnalyticsDays {
					return usageErrorf("--days must be between 1 and %d", maxAnalyticsDays)
				}
				params.Days = &days
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.GetAnalyticsWithResponse(cmd.Context(), params)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			a, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			return printAnalytics(c.stdout, a)
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&days, "days", 7, fmt.Sprintf("how many UTC days, today included (1 to %d)", maxAnalyticsDays))
	return cmd
}

// printAnalytics writes the analytics as a report of small tables.
func printAnalytics(w io.Writer, a *api.Analytics) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Last %d day(s), %s to %s (UTC)\n\n", a.Days, a.From, a.To)
	fmt.Fprintln(tw, "DATE\tACTIVE USERS\tREQUESTS\tAVG QUOTA USED\tCACHE HIT RATIO\tCALLS SAVED")
	for _, d := range a.Daily {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%d\n", d.Date, d.ActiveUsers, d.Requests, d.AvgQuotaUsed,
			ratio(d.CacheHitRatio), d.ProviderCallsSaved)
	}
	fmt.Fprintln(tw, "\nDATE\tSUCCESS\tERROR\tCANCELLED\tINVALID\tQUOTA EXCEEDED\tINTERRUPTED")
	for _, d := range a.Daily {
		o := d.Outcomes
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Date, o.Success, o.Error, o.Cancelled, o.Invalid, o.QuotaExceeded, o.Interrupted)
	}
	t := a.Totals
	fmt.Fprintf(tw, "\nTotals: %d request(s) from %d user(s)\n", t.Requests, t.ActiveUsers)
	fmt.Fprintf(tw, "  4xx errors (refused for the caller)\t%d\t%s\n", t.Errors4xx, percent(t.ErrorRate4xx))
	fmt.Fprintf(tw, "  5xx errors (gateway or providers)\t%d\t%s\n", t.Errors5xx, percent(t.ErrorRate5xx))

	fmt.Fprintln(tw, "\nBy kind")
	fmt.Fprintln(tw, "KIND\tREQUESTS\t4XX ERRORS\t5XX ERRORS")
	for _, k := range a.ByKind {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", k.Kind, k.Requests, k.Errors4xx, k.Errors5xx)
	}

	fmt.Fprintln(tw, "\nTop users")
	if len(a.TopUsers) == 0 {
		fmt.Fprintln(tw, "  none")
	} else {
		fmt.Fprintln(tw, "EMAIL\tREQUESTS\tUSER ID")
		for _, u := range a.TopUsers {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", u.Email, u.Requests, u.UserId)
		}
	}

	fmt.Fprintln(tw, "\nBy route")
	if len(a.ByRoute) == 0 {
		fmt.Fprintln(tw, "  none")
	} else {
		fmt.Fprintln(tw, "TIER\tPROVIDER\tREQUESTS\tERRORS\tERROR RATE")
		for _, r := range a.ByRoute {
			provider := "(none answered)"
			if r.Provider != nil {
				provider = *r.Provider
			}
			rate := 0.0
			if r.Requests > 0 {
				rate = float64(r.Errors) / float64(r.Requests)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.Tier, provider, r.Requests, r.Errors, percent(rate))
		}
	}

	fmt.Fprintln(tw, "\nLatency (ms)\tp50\tp95\tp99")
	fmt.Fprintf(tw, "  successful requests\t%s\t%s\t%s\n", millis(a.LatencyMs.P50), millis(a.LatencyMs.P95), millis(a.LatencyMs.P99))
	fmt.Fprintf(tw, "  time to first token\t%s\t%s\t%s\n", millis(a.TtftMs.P50), millis(a.TtftMs.P95), millis(a.TtftMs.P99))

	fb := a.Feedback
	fmt.Fprintf(tw, "\nFeedback: %d up, %d down, %d with a comment\n", fb.Up, fb.Down, fb.WithComment)
	return tw.Flush()
}

// percent writes a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }

// ratio writes a fraction as a percentage, "-" when there is none (the
// cache was not asked that day).
func ratio(v *float64) string {
	if v == nil {
		return "-"
	}
	return percent(*v)
}

// millis writes a percentile, "-" when there were no samples.
func millis(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 0, 64)
}

func (c *cli) usersListCmd() *cobra.Command {
	var f clientFlags
	var query, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List accounts with today's usage, ordered by email",
		Example: `  genzai admin users list
  genzai admin users list --query example.com --all -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := &api.ListUsersParams{}
			if query != "" {
				params.Query = &query
			}
			if cmd.Flags().Changed("limit") {
				if limit < 1 || limit > maxUsersPage {
					return usageErrorf("--limit must be between 1 and %d", maxUsersPage)
				}
				params.Limit = &limit
			}
			if cursor != "" {
				params.Cursor = &cursor
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			page := api.AdminUserPage{Users: []api.AdminUser{}}
			for {
				res, err := cn.client.ListUsersWithResponse(cmd.Context(), params)
				if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
					return err
				}
				if cn.json && !all {
					return printJSON(c.stdout, res.Body)
				}
				p, err := parsed(res.JSON200, res.Body)
				if err != nil {
					return err
				}
				page.Users = append(page.Users, p.Users...)
				page.NextCursor = p.NextCursor
				if !all || p.NextCursor == nil {
					break
				}
				params.Cursor = p.NextCursor
			}
			if cn.json {
				return encodeJSON(c.stdout, page)
			}
			if err := printUsers(c.stdout, page.Users); err != nil {
				return err
			}
			if page.NextCursor != nil {
				fmt.Fprintf(c.stderr, "(more accounts: add --all, or --cursor %s)\n", *page.NextCursor)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&query, "query", "", "only emails containing this text (case-insensitive)")
	cmd.Flags().IntVar(&limit, "limit", 50, fmt.Sprintf("page size (1 to %d)", maxUsersPage))
	cmd.Flags().BoolVar(&all, "all", false, "follow the pages to the last one")
	cmd.Flags().StringVar(&cursor, "cursor", "", "start at this page (a next cursor printed before)")
	return cmd
}

func printUsers(w io.Writer, users []api.AdminUser) error {
	if len(users) == 0 {
		_, err := fmt.Fprintln(w, "no accounts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tID\tADMIN\tDISABLED\tUSED TODAY\tDAILY QUOTA\tLAST LOGIN")
	for _, u := range users {
		last := "never"
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.UTC().Format(timeFormat)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", u.Email, u.Id, yesNo(u.IsAdmin), yesNo(u.Disabled), u.UsedToday, quotaText(u), last)
	}
	return tw.Flush()
}

// timeFormat is how the admin tables print times, always in UTC.
const timeFormat = "2006-01-02 15:04:05"

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// quotaText is the limit that applies, marked when it is the default.
func quotaText(u api.AdminUser) string {
	if u.DailyQuota == nil {
		return fmt.Sprintf("%d (default)", u.EffectiveQuota)
	}
	return strconv.Itoa(*u.DailyQuota)
}

func (c *cli) setQuotaCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "set-quota EMAIL|ID N|default",
		Short: "Set an account's daily request limit, or return it to the default",
		Example: `  genzai admin users set-quota ada@example.com 200
  genzai admin users set-quota ada@example.com default`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch api.AdminUserPatch
			if args[1] == "default" {
				patch.DailyQuota = nullable.NewNullNullable[int]()
			} else {
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 0 || n > 1_000_000 {
					return usageErrorf("the quota must be a number from 0 to 1000000, or default; got %q", args[1])
				}
				patch.DailyQuota = nullable.NewNullableWithValue(n)
			}
			return c.updateUser(cmd, f, args[0], patch, func(u *api.AdminUser) string {
				return fmt.Sprintf("%s: daily quota %s, %d used today", u.Email, quotaText(*u), u.UsedToday)
			})
		},
	}
	f.add(cmd)
	return cmd
}

// userFlagCmd is a command that sets one flag of an account.
func (c *cli) userFlagCmd(name, short, done string, set func(*api.AdminUserPatch)) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     name + " EMAIL|ID",
		Short:   short,
		Example: "  genzai admin users " + name + " ada@example.com",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch api.AdminUserPatch
			set(&patch)
			return c.updateUser(cmd, f, args[0], patch, func(u *api.AdminUser) string { return u.Email + " " + done })
		},
	}
	f.add(cmd)
	return cmd
}

// updateUser applies patch to the account who names and prints the account
// as the server returns it (or says what changed, as text).
func (c *cli) updateUser(cmd *cobra.Command, f clientFlags, who string, patch api.AdminUserPatch, say func(*api.AdminUser) string) error {
	if err := checkAccountRef(who); err != nil {
		return err
	}
	cn, err := c.connect(f)
	if err != nil {
		return err
	}
	id, err := c.findUser(cmd.Context(), cn, who)
	if err != nil {
		return err
	}
	res, err := cn.client.UpdateUserWithResponse(cmd.Context(), id, patch)
	if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
		return err
	}
	if cn.json {
		return printJSON(c.stdout, res.Body)
	}
	if res.StatusCode() == http.StatusAccepted {
		pc, err := parsed(res.JSON202, res.Body)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "the change to %s waits for a second admin until %s (pending change %s)\nanother admin confirms it with: genzai admin confirm %s\n",
			pc.TargetEmail, pc.ExpiresAt.UTC().Format(timeFormat), pc.Id, pc.Id)
		return err
	}
	u, err := parsed(res.JSON200, res.Body)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, say(u))
	return err
}

// checkAccountRef refuses, as a usage error, what is neither an id nor an email.
func checkAccountRef(who string) error {
	if _, err := uuid.Parse(who); err == nil || strings.Contains(who, "@") {
		return nil
	}
	return usageErrorf("%q is neither an account id nor an email", who)
}

// findUser resolves an account id or email to the account's id. An email
// is looked up with listUsers, whose query matches any part of an email, so
// the pages are searched for the exact (case-insensitive) match.
func (c *cli) findUser(ctx context.Context, cn *conn, who string) (uuid.UUID, error) {
	if id, err := uuid.Parse(who); err == nil {
		return id, nil
	}
	email := strings.TrimSpace(who)
	params := &api.ListUsersParams{Query: &email, Limit: ptr(maxUsersPage)}
	for {
		res, err := cn.client.ListUsersWithResponse(ctx, params)
		if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
			return uuid.UUID{}, fmt.Errorf("look up %s: %w", email, err)
		}
		p, err := parsed(res.JSON200, res.Body)
		if err != nil {
			return uuid.UUID{}, err
		}
		for _, u := range p.Users {
			if strings.EqualFold(u.Email, email) {
				return u.Id, nil
			}
		}
		if p.NextCursor == nil {
			return uuid.UUID{}, fmt.Errorf("no account with the email %s (see: genzai admin users list --query %s)", email, email)
		}
		params.Cursor = p.NextCursor
	}
}

func (c *cli) requestsCmd() *cobra.Command {
	var f clientFlags
	var who, provider, outcome, cursor string
	var limit int
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "Show the request log, newest first",
		Long: `Show the request log, newest first: when, the request id (the one a user
rates with genzai feedback), the user, the tier, the provider that answered,
the outcome (success, error, cancelled, invalid, quota_exceeded,
interrupted) with the error code, latency, time to first token, tokens, and
the providers tried before the answer and why each failed. Rows are written
in batches, so the last second of traffic may not be listed yet.`,
		Example: `  genzai admin requests
  genzai admin requests --user ada@example.com --limit 10
  genzai admin requests --provider groq --outcome error -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := &api.ListRequestsParams{}
			if provider != "" {
				p := api.Provider(provider)
				if !p.Valid() {
					return usageErrorf("--provider must be groq, openrouter, huggingface or mock")
				}
				params.Provider = &p
			}
			if outcome != "" {
				o := api.RequestOutcome(outcome)
				if !o.Valid() {
					return usageErrorf("--outcome must be success, error, cancelled, invalid, quota_exceeded or interrupted")
				}
				params.Outcome = &o
			}
			if cmd.Flags().Changed("limit") {
				if limit < 1 || limit > maxRequestsPage {
					return usageErrorf("--limit must be between 1 and %d", maxRequestsPage)
				}
				params.Limit = &limit
			}
			if cursor != "" {
				params.Cursor = &cursor
			}
			if who != "" {
				if err := checkAccountRef(who); err != nil {
					return err
				}
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			if who != "" {
				id, err := c.findUser(cmd.Context(), cn, who)
				if err != nil {
					return err
				}
				params.UserId = &id
			}
			res, err := cn.client.ListRequestsWithResponse(cmd.Context(), params)
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			p, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			if err := printRequests(c.stdout, p.Requests, who == ""); err != nil {
				return err
			}
			if p.NextCursor != nil {
				fmt.Fprintf(c.stderr, "(more requests: add --cursor %s)\n", *p.NextCursor)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&who, "user", "", "only this account's requests (email or id)")
	cmd.Flags().StringVar(&provider, "provider", "", "only requests this provider answered: groq, openrouter, huggingface or mock")
	cmd.Flags().StringVar(&outcome, "outcome", "", "only this outcome: success, error, cancelled, invalid, quota_exceeded or interrupted")
	cmd.Flags().IntVar(&limit, "limit", 50, fmt.Sprintf("how many (1 to %d)", maxRequestsPage))
	cmd.Flags().StringVar(&cursor, "cursor", "", "start at this page (a next cursor printed before)")
	return cmd
}

// printRequests writes the request log as a table; the user column is left
// out when every row is the same user's.
func printRequests(w io.Writer, reqs []api.RequestLogEntry, withUser bool) error {
	if len(reqs) == 0 {
		_, err := fmt.Fprintln(w, "no requests")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"TIME (UTC)", "REQUEST ID", "USER", "TIER", "PROVIDER", "OUTCOME", "LATENCY", "TTFT", "TOKENS", "TRIED BEFORE"}
	if !withUser {
		header = append(header[:2], header[3:]...)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range reqs {
		outcome := string(r.Outcome)
		if r.ErrorCode != nil {
			outcome += " (" + *r.ErrorCode + ")"
		}
		ttft := "-"
		if r.TtftMs != nil {
			ttft = fmt.Sprintf("%dms", *r.TtftMs)
		}
		tried := []string{}
		for _, a := range r.Attempts {
			tried = append(tried, string(a.Provider)+": "+a.Reason)
		}
		if len(tried) == 0 {
			tried = append(tried, "-")
		}
		row := []string{
			r.CreatedAt.UTC().Format(timeFormat), orDash(r.RequestId), requestUser(r.UserId), requestTier(r.Tier, r.Kind), orDash(r.Provider), outcome,
			fmt.Sprintf("%dms", r.LatencyMs), ttft, fmt.Sprintf("%d+%d", r.PromptTokens, r.CompletionTokens), strings.Join(tried, ", "),
		}
		if !withUser {
			row = append(row[:2], row[3:]...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// requestUser names a logged request's user; an anonymised row (its
// account was deleted) has none.
func requestUser(id *uuid.UUID) string {
	if id == nil {
		return "(deleted)"
	}
	return id.String()
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// parsed is the decoded body of a 2xx answer; the generated client leaves
// it nil when the body was not the JSON the spec promises.
func parsed[T any](v *T, body []byte) (*T, error) {
	if v == nil {
		const max = 200
		if len(body) > max {
			body = append(body[:max:max], "…"...)
		}
		return nil, fmt.Errorf("unexpected answer from the server: %q", body)
	}
	return v, nil
}

// encodeJSON writes v as indented JSON, like printJSON.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) providersCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "Show the providers' breakers and keys as the router sees them",
		Long: `Show each configured provider's circuit breaker (closed, open, half_open),
whether the health monitor reports it down, and its keys by index (never a
key): requests in the last minute, and whether the key is ready, cooling
down after a 429 or rejected by the provider (401, 402, 403), with until
when (UTC). This is the state of the instance that answers.`,
		Example: `  genzai admin providers
  genzai admin providers -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.ListProviderStatesWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			p, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			return printProviderStates(c.stdout, p.Providers)
		},
	}
	f.add(cmd)
	return cmd
}

// printProviderStates writes one row per key, under its provider's breaker
// and health.
func printProviderStates(w io.Writer, ps []api.ProviderState) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no providers configured")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tBREAKER\tDOWN\tKEY\tLAST MINUTE\tSTATE")
	for _, p := range ps {
		if len(p.Keys) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\tno keys\n", p.Name, p.Breaker, yesNo(p.Down))
		}
		for _, k := range p.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", p.Name, p.Breaker, yesNo(p.Down), k.Index, k.RequestsLastMinute, keyState(k))
		}
	}
	return tw.Flush()
}

// keyState is a key's state in words.
func keyState(k api.ProviderKeyState) string {
	var parts []string
	if k.Rejected {
		parts = append(parts, "rejected"+untilUTC(k.RejectedUntil))
	}
	if k.CoolingDown {
		parts = append(parts, "cooling down"+untilUTC(k.CoolingDownUntil))
	}
	if len(parts) == 0 {
		return "ready"
	}
	return strings.Join(parts, ", ")
}

// untilUTC is " until <time>" in UTC, or "" without a time.
func untilUTC(t *time.Time) string {
	if t == nil {
		return ""
	}
	return " until " + t.UTC().Format("2006-01-02 15:04:05")
}

// requestTier is a logged request's tier, or its kind for one that is not
// a chat (an image has no tier).
func requestTier(t *api.Tier, kind api.RequestLogEntryKind) string {
	if t == nil {
		return string(kind)
	}
	return string(*t)
}
