package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func (c *cli) quotaCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "quota", Short: "Show today's quota", Args: exactArgs(0),
		Example: "  genzai quota\n  genzai quota -o json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.GetQuotaWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			q := res.JSON200
			_, err = fmt.Fprintf(c.stdout, "%d of %d requests used today, %d left; resets at %s (%s)\n",
				q.Used, q.Limit, q.Remaining, q.ResetsAt.UTC().Format("2006-01-02 15:04 UTC"), q.ResetTimeUtc)
			return err
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) modelsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "models", Short: "List the tiers and whether each is available", Args: exactArgs(0),
		Example: "  genzai models",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.ListModelsWithResponse(cmd.Context())
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tNAME\tPROVIDER\tAVAILABLE\tDESCRIPTION")
			for _, m := range res.JSON200.Models {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", m.Id, m.Name, m.Provider, m.Available, m.Description)
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) searchCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "search QUERY", Short: "Search the web through the gateway", Args: exactArgs(1),
		Example: `  genzai search "machine learning"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.WebSearchWithResponse(cmd.Context(), &api.WebSearchParams{Q: args[0]})
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			for i, r := range res.JSON200.Results {
				fmt.Fprintf(c.stdout, "%d. %s\n   %s\n", i+1, r.Title, r.Url)
				if r.Snippet != "" {
					fmt.Fprintf(c.stdout, "   %s\n", r.Snippet)
				}
			}
			if len(res.JSON200.Results) == 0 {
				fmt.Fprintln(c.stdout, "no results")
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) chatCmd() *cobra.Command {
	var f clientFlags
	var model string
	var webSearch, noStream bool
	cmd := &cobra.Command{
		Use:   "chat MESSAGE",
		Short: "Send a prompt and print the answer as it arrives",
		Long: `Send a prompt and print the answer as it arrives. Ctrl-C stops the answer,
and the gateway cancels the upstream request.`,
		Example: `  genzai chat "Hello AI!"
  genzai chat --model smart --web-search "What changed in Go 1.26?"
  genzai chat --no-stream -o json "Hi"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			if model == "" {
				s, _ := c.loadSettings()
				model = s.Model
			}
			body := map[string]any{"prompt": args[0], "stream": !noStream && !cn.json}
			if model != "" {
				body["model"] = model
			}
			if webSearch {
				body["web_search"] = true
			}
			return c.chat(cmd.Context(), cn, body)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&model, "model", "m", "", "tier: fast, balanced or smart (default: the config's model, then fast)")
	cmd.Flags().BoolVar(&webSearch, "web-search", false, "search the web first and cite sources")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "wait for the whole answer")
	return cmd
}

// chat posts a chat request and prints the answer; streams are printed
// token by token as the events arrive.
func (c *cli) chat(ctx context.Context, cn *conn, body map[string]any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cn.host+"/api/v1/chat", bytes.NewReader(raw))
	if err != nil {
		return usageErrorf("host %q: %v", cn.host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cn.token != "" {
		req.Header.Set("Authorization", "Bearer "+cn.token)
	}
	res, err := cn.http.Do(req)
	if err != nil {
		return cn.check(err, nil)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return cn.checkStatus(res.StatusCode, b)
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if cn.json {
			return printJSON(c.stdout, b)
		}
		var reply api.ChatReply
		if err := json.Unmarshal(b, &reply); err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		fmt.Fprintln(c.stdout, reply.Content)
		c.printSources(reply.Sources)
		return nil
	}
	return c.printStream(ctx, res.Body)
}

func (c *cli) printSources(sources *[]api.Source) {
	if sources == nil {
		return
	}
	fmt.Fprintln(c.stdout, "\nSources:")
	for i, s := range *sources {
		fmt.Fprintf(c.stdout, "[%d] %s %s\n", i+1, s.Title, s.Url)
	}
}

// printStream prints token events as they come; the done event ends the
// line, an error event becomes the command's error.
func (c *cli) printStream(ctx context.Context, body io.Reader) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event string
	var sources *[]api.Source
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := strings.TrimPrefix(line, "data: ")
			switch event {
			case "":
				var tok string
				if err := json.Unmarshal([]byte(data), &tok); err == nil {
					fmt.Fprint(c.stdout, tok)
				}
			case "meta":
				var m struct {
					Sources *[]api.Source `json:"sources"`
				}
				_ = json.Unmarshal([]byte(data), &m)
				sources = m.Sources
			case "done":
				fmt.Fprintln(c.stdout)
				c.printSources(sources)
				return nil
			case "error":
				fmt.Fprintln(c.stdout)
				var e map[string]any
				_ = json.Unmarshal([]byte(data), &e)
				return &apiError{status: http.StatusBadGateway, body: e}
			}
		case line == "":
			event = ""
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(c.stdout)
		return errors.New("stopped")
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	return errors.New("the stream ended before the answer was complete")
}
