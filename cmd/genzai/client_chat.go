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
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/genzai/genzai/api"
)

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
			_, err = fmt.Fprintf(c.stdout, "%d of %d requests used today, %d left; resets at %s (in %s)\n",
				q.Used, q.Limit, q.Remaining, q.ResetsAt.UTC().Format("2006-01-02 15:04 UTC"), untilReset(time.Until(q.ResetsAt)))
			return err
		},
	}
	f.add(cmd)
	return cmd
}

// untilReset says how long until the quota resets, to the minute.
func untilReset(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 1:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %dm", m/60, m%60)
}

func (c *cli) modelsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "models", Short: "List the tiers and whether each is available, and whether images and voice are on", Args: exactArgs(0),
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
			// The tier names carry emoji, which tabwriter would misalign.
			var tb table
			tb.row("MODEL", "NAME", "PROVIDER", "AVAILABLE", "DESCRIPTION")
			for _, m := range res.JSON200.Models {
				tb.row(string(m.Id), m.Name, string(m.Provider), strconv.FormatBool(m.Available), m.Description)
			}
			if err := tb.write(c.stdout); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "\n%s\n%s\n", imagesLine(res.JSON200.Images), voiceLine(res.JSON200.Voice))
			return err
		},
	}
	f.add(cmd)
	return cmd
}

// imagesLine says whether image generation is on, what it costs and who
// serves it.
func imagesLine(info api.ImagesInfo) string {
	if !info.Enabled {
		return "images: off (the operator turns it on with ENABLE_IMAGE_GENERATION=true and keys for IMAGE_PROVIDERS)"
	}
	return fmt.Sprintf("images: on, %s a request, providers %s", units(info.QuotaCost), providerList(info.Providers))
}

// voiceLine says whether voice is on, what it costs, who serves it, its
// voices and its limits.
func voiceLine(info api.VoiceInfo) string {
	if !info.Enabled {
		return "voice: off (the operator turns it on with ENABLE_VOICE=true and keys for VOICE_PROVIDERS)"
	}
	voices := "any the provider knows"
	if len(info.Voices) > 0 {
		voices = strings.Join(info.Voices, ", ") + " (the first is the default)"
	}
	return fmt.Sprintf("voice: on, %s a request, providers %s; voices %s; uploads up to %s, speech up to %d characters",
		units(info.QuotaCost), providerList(info.Providers), voices, humanBytes(info.MaxAudioBytes), info.MaxSpeechChars)
}

// units is n units of quota in words.
func units(n int) string {
	if n == 1 {
		return "1 unit"
	}
	return strconv.Itoa(n) + " units"
}

// providerList is a chain of providers, in fallback order.
func providerList(ps []api.Provider) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
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
	var conversation string
	cmd := &cobra.Command{
		Use:   "chat MESSAGE",
		Short: "Send a prompt and print the answer as it arrives",
		Long: `Send a prompt and print the answer as it arrives. Ctrl-C stops the answer,
and the gateway cancels the upstream request.

Without a message, chat opens a session that keeps the conversation (sent
as history with every prompt) until /exit. In a session, /model NAME
switches the tier, /clear forgets the conversation, and Ctrl-C stops the
current answer without ending the session.

With --conversation the server keeps the conversation instead: ID continues
one of yours (genzai conversations list shows them), "new" starts one and
prints its id on stderr ("conversation ID started; ..."), to continue it
later or from another device. A session with --conversation new keeps to
the conversation it started; /clear starts another.`,
		Example: `  genzai chat "Hello AI!"
  genzai chat --model smart --web-search "What changed in Go 1.26?"
  genzai chat --no-stream -o json "Hi"
  genzai chat            # an interactive session
  genzai chat --conversation new "Which tram goes to Belém?"
  genzai chat --conversation 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70 "And back?"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("chat takes one message (quote it), or none for a session")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("conversation") && conversation != "new" {
				if _, err := conversationID(conversation); err != nil {
					return usageErrorf("--conversation takes a conversation id or new, not %q; %s", conversation, conversationsHint)
				}
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			if model == "" {
				s, _ := c.loadSettings()
				model = s.Model
			}
			opts := chatOptions{model: model, webSearch: webSearch, stream: !noStream && !cn.json, conversation: conversation}
			if len(args) == 0 {
				return c.session(cmd.Context(), cn, opts)
			}
			_, err = c.chat(cmd.Context(), cn, opts.body(args[0], nil))
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&model, "model", "m", "", "tier: fast, balanced or smart (default: the config's model, then fast)")
	cmd.Flags().BoolVar(&webSearch, "web-search", false, "search the web first and cite sources")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "wait for the whole answer")
	cmd.Flags().StringVarP(&conversation, "conversation", "c", "", `continue a conversation the server keeps (its id), or "new" to start one`)
	return cmd
}

// chatReply is what a chat gave: the answer's text and, when the request
// named one, the conversation it is stored in.
type chatReply struct {
	content      string
	conversation string
}

// chat posts a chat request and prints the answer; streams are printed
// token by token as the events arrive. A conversation the request started
// ("new") is announced on stderr once it holds the turn.
func (c *cli) chat(ctx context.Context, cn *conn, body map[string]any) (chatReply, error) {
	r, err := c.post(ctx, cn, body)
	if body["conversation_id"] == "new" && r.conversation != "" && (err == nil || r.content != "") {
		fmt.Fprintf(c.stderr, "conversation %s started; continue it with: genzai chat --conversation %s\n", r.conversation, r.conversation)
	}
	return r, err
}

func (c *cli) post(ctx context.Context, cn *conn, body map[string]any) (chatReply, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return chatReply{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cn.host+"/api/v1/chat", bytes.NewReader(raw))
	if err != nil {
		return chatReply{}, usageErrorf("host %q: %v", cn.host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cn.token != "" {
		req.Header.Set("Authorization", "Bearer "+cn.token)
	}
	stopSpinner := c.spinner("waiting for the answer")
	defer stopSpinner()
	res, err := cn.http.Do(req)
	if err != nil {
		return chatReply{}, cn.check(err, nil)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		err := cn.checkStatus(res.StatusCode, b)
		var ae *apiError
		if _, ok := body["conversation_id"]; ok && errors.As(err, &ae) && ae.status == http.StatusNotFound {
			ae.hint = conversationsHint
		}
		return chatReply{}, err
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return chatReply{}, err
		}
		var reply api.ChatReply
		if err := json.Unmarshal(b, &reply); err != nil {
			return chatReply{}, fmt.Errorf("read answer: %w", err)
		}
		r := chatReply{content: reply.Content}
		if reply.ConversationId != nil {
			r.conversation = reply.ConversationId.String()
		}
		if cn.json {
			return r, printJSON(c.stdout, b)
		}
		c.printWebSearch(b)
		fmt.Fprintln(c.stdout, reply.Content)
		c.printSources(reply.Sources)
		return r, nil
	}
	return c.printStream(ctx, res.Body, stopSpinner)
}

// spinner shows that a wait is going on, on a terminal only; the returned
// function clears it and may be called more than once.
func (c *cli) spinner(label string) func() {
	f, ok := c.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(f, "\r%s %s", frames[i%len(frames)], label)
			select {
			case <-done:
				fmt.Fprint(f, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
}

// chatOptions are a chat's settings; a session can change the model.
type chatOptions struct {
	model     string
	webSearch bool
	stream    bool
	// conversation is the server-kept conversation's id, "new" or empty
	// (none: the client sends the history).
	conversation string
}

func (o chatOptions) body(prompt string, history []map[string]string) map[string]any {
	body := map[string]any{"prompt": prompt, "stream": o.stream}
	if o.model != "" {
		body["model"] = o.model
	}
	if o.webSearch {
		body["web_search"] = true
	}
	if o.conversation != "" {
		// The server sends the stored history; it refuses messages beside it.
		body["conversation_id"] = o.conversation
	} else if len(history) > 0 {
		body["messages"] = history
	}
	return body
}

// session is the interactive chat: each answer can be stopped with Ctrl-C
// (interrupt) without leaving; /exit or end of input leaves.
func (c *cli) session(ctx context.Context, cn *conn, opts chatOptions) error {
	fmt.Fprintln(c.stderr, "genzai chat: /model NAME switches the tier, /clear forgets the conversation, /exit leaves.")
	kept := opts.conversation != ""
	var history []map[string]string
	for {
		fmt.Fprint(c.stderr, "> ")
		line, err := c.lines().ReadString('\n')
		line = strings.TrimSpace(line)
		if err != nil && line == "" {
			fmt.Fprintln(c.stderr)
			return nil // end of input
		}
		switch {
		case line == "":
			continue
		case line == "/exit" || line == "/quit":
			return nil
		case line == "/clear":
			history = nil
			if kept {
				// The server keeps the old one; the next prompt starts another.
				opts.conversation = "new"
				fmt.Fprintln(c.stderr, "(a new conversation starts with the next prompt)")
				continue
			}
			fmt.Fprintln(c.stderr, "(conversation cleared)")
			continue
		case strings.HasPrefix(line, "/model"):
			name := strings.TrimSpace(strings.TrimPrefix(line, "/model"))
			if name != "fast" && name != "balanced" && name != "smart" {
				fmt.Fprintln(c.stderr, "usage: /model fast|balanced|smart")
				continue
			}
			opts.model = name
			fmt.Fprintf(c.stderr, "(model %s)\n", name)
			continue
		case strings.HasPrefix(line, "/"):
			fmt.Fprintln(c.stderr, "unknown command; try /model NAME, /clear or /exit")
			continue
		}
		r, err := c.answer(ctx, cn, opts.body(line, history))
		if r.conversation != "" {
			opts.conversation = r.conversation // "new" started one: stay in it
		}
		if ctx.Err() != nil {
			return nil // the whole command was stopped
		}
		if err != nil {
			fmt.Fprintln(c.stderr, "error:", err)
			continue
		}
		if !kept {
			history = append(history, map[string]string{"role": "user", "content": line}, map[string]string{"role": "assistant", "content": r.content})
		}
	}
}

// answer runs one chat of a session; an interrupt stops it and only it.
func (c *cli) answer(ctx context.Context, cn *conn, body map[string]any) (chatReply, error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := c.onInterrupt(cancel)
	defer stop()
	return c.chat(actx, cn, body)
}

// printWebSearch says on stderr what became of a requested web search,
// from the meta event or the whole answer (obj): nothing when none was
// asked for. Fields beside the outcome (web_search_* keys, or the other
// fields of an object-valued web_search) are shown as they come, so that a
// reason the server adds is not lost.
func (c *cli) printWebSearch(obj []byte) {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m["web_search"] == nil {
		return
	}
	details := map[string]any{}
	var outcome string
	if json.Unmarshal(m["web_search"], &outcome) != nil {
		_ = json.Unmarshal(m["web_search"], &details)
		outcome, _ = details["outcome"].(string)
		delete(details, "outcome")
	}
	for k, raw := range m {
		if name, ok := strings.CutPrefix(k, "web_search_"); ok {
			var v any
			_ = json.Unmarshal(raw, &v)
			details[name] = v
		}
	}
	line := "web search: " + outcome
	switch api.WebSearchOutcome(outcome) {
	case api.WebSearchOutcomeUsed:
		var n int
		if s, ok := m["sources"]; ok {
			var list []json.RawMessage
			_ = json.Unmarshal(s, &list)
			n = len(list)
		}
		line = fmt.Sprintf("web search: used, %d sources", n)
	case api.WebSearchOutcomeNoResults:
		line = "web search: no results"
	case api.WebSearchOutcomeUnavailable:
		line = "web search: unavailable"
	case api.WebSearchOutcomeDisabled:
		line = "web search: disabled on this server"
	}
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line += fmt.Sprintf("; %s: %v", k, details[k])
	}
	if api.WebSearchOutcome(outcome) != api.WebSearchOutcomeUsed {
		line += " (answered without sources)"
	}
	fmt.Fprintln(c.stderr, line)
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
func (c *cli) printStream(ctx context.Context, body io.Reader, firstToken func()) (chatReply, error) {
	var answer strings.Builder
	var conversation string
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
					firstToken()
					fmt.Fprint(c.stdout, tok)
					answer.WriteString(tok)
				}
			case "meta":
				var m struct {
					Sources        *[]api.Source `json:"sources"`
					ConversationID string        `json:"conversation_id"`
				}
				_ = json.Unmarshal([]byte(data), &m)
				sources = m.Sources
				conversation = m.ConversationID
				firstToken() // the spinner shares stderr with the outcome
				c.printWebSearch([]byte(data))
			case "done":
				fmt.Fprintln(c.stdout)
				c.printSources(sources)
				return chatReply{content: answer.String(), conversation: conversation}, nil
			case "error":
				fmt.Fprintln(c.stdout)
				var e map[string]any
				_ = json.Unmarshal([]byte(data), &e)
				// An answer cut short is kept in the conversation with what arrived.
				return chatReply{content: answer.String(), conversation: conversation}, &apiError{status: http.StatusBadGateway, body: e}
			}
		case line == "":
			event = ""
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(c.stdout)
		// What arrived is kept in the conversation, as interrupted.
		return chatReply{content: answer.String(), conversation: conversation}, errors.New("stopped")
	}
	if err := sc.Err(); err != nil {
		return chatReply{}, fmt.Errorf("read stream: %w", err)
	}
	return chatReply{content: answer.String(), conversation: conversation}, errors.New("the stream ended before the answer was complete")
}
