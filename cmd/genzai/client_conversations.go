package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

// conversationsHint follows a 404 of a conversation route: the id is wrong
// or the conversation gone (or another user's: the server does not say).
const conversationsHint = "list yours with: genzai conversations list"

// showPageSize is the page `conversations show` asks for: the most the
// server gives, so that a long thread takes few round trips.
const showPageSize = 200

func (c *cli) conversationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "conversations",
		Aliases: []string{"conversation"},
		Short:   "List, search, read, rename and delete the conversations the server keeps",
		Long: `The server keeps the conversations chatted in with --conversation
(genzai chat --conversation new starts one and prints its id on stderr):
continue them from any device, search, read, rename and delete them.`,
		Example: `  genzai chat --conversation new "Which tram goes to Belém?"
  genzai conversations list
  genzai conversations search "lisbon trams"
  genzai conversations show 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70`,
	}
	cmd.AddCommand(c.conversationsListCmd(), c.conversationsSearchCmd(), c.conversationsShowCmd(),
		c.conversationsRenameCmd(), c.conversationsRmCmd())
	return cmd
}

// pageFlags are the paging flags of list and search.
type pageFlags struct {
	limit  int
	cursor string
}

func (p *pageFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&p.limit, "limit", 0, "the most conversations to list, 1 to 100 (default: the server's, 20)")
	cmd.Flags().StringVar(&p.cursor, "cursor", "", "continue a listing where it stopped (the cursor it printed)")
}

// params checks the flags before anything is sent.
func (p *pageFlags) params(cmd *cobra.Command, q string) (*api.ListConversationsParams, error) {
	params := &api.ListConversationsParams{}
	if cmd.Flags().Changed("limit") {
		if p.limit < 1 || p.limit > 100 {
			return nil, usageErrorf("--limit must be 1 to 100")
		}
		params.Limit = &p.limit
	}
	if p.cursor != "" {
		params.Cursor = &p.cursor
	}
	if q != "" {
		params.Q = &q
	}
	return params, nil
}

func (c *cli) conversationsListCmd() *cobra.Command {
	var f clientFlags
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your conversations, most recently active first",
		Example: `  genzai conversations list
  genzai conversations list --limit 50
  genzai conversations list --cursor YzoxNzY2NjU5MzMzMDAwMDAwLjBiNmUxZjNh`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			params, err := p.params(cmd, "")
			if err != nil {
				return err
			}
			return c.listConversations(cmd, f, params, "genzai conversations list")
		},
	}
	f.add(cmd)
	p.add(cmd)
	return cmd
}

func (c *cli) conversationsSearchCmd() *cobra.Command {
	var f clientFlags
	var p pageFlags
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "List the conversations whose title or messages hold every word of QUERY",
		Example: `  genzai conversations search lisbon
  genzai conversations search "lisbon trams" -o json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := strings.TrimSpace(args[0])
			if q == "" {
				return usageErrorf("the query is empty: give words to search for")
			}
			params, err := p.params(cmd, q)
			if err != nil {
				return err
			}
			return c.listConversations(cmd, f, params, fmt.Sprintf("genzai conversations search %q", q))
		},
	}
	f.add(cmd)
	p.add(cmd)
	return cmd
}

// listConversations prints a page of conversations and, on stderr, the
// command for the next page (again names the command that gave this one).
func (c *cli) listConversations(cmd *cobra.Command, f clientFlags, params *api.ListConversationsParams, again string) error {
	cn, err := c.connect(f)
	if err != nil {
		return err
	}
	res, err := cn.client.ListConversationsWithResponse(cmd.Context(), params)
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
	if len(list.Conversations) == 0 {
		msg := "no conversations"
		if params.Q != nil {
			msg = "no conversation matches"
		}
		_, err := fmt.Fprintln(c.stdout, msg)
		return err
	}
	// Titles come from prompts, so they may hold emoji or CJK text.
	var tb table
	tb.row("ID", "UPDATED", "TITLE")
	for _, cv := range list.Conversations {
		tb.row(cv.Id.String(), cv.UpdatedAt.UTC().Format(timeFormat), titleText(cv.Title))
	}
	if err := tb.write(c.stdout); err != nil {
		return err
	}
	if list.NextCursor != nil {
		fmt.Fprintf(c.stderr, "more: %s --cursor %s\n", again, *list.NextCursor)
	}
	return nil
}

func titleText(t *string) string {
	if t == nil || *t == "" {
		return "(untitled)"
	}
	return *t
}

// conversationID parses a conversation id argument: anything but a UUID is a
// usage error, sent nowhere.
func conversationID(s string) (openapi_types.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, usageErrorf("%q is not a conversation id (a UUID); %s", s, conversationsHint)
	}
	return id, nil
}

// checkConversation is conn.check with the hint for a missing conversation.
func (cn *conn) checkConversation(err error, res func() (int, []byte)) error {
	err = cn.check(err, res)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		ae.hint = conversationsHint
	}
	return err
}

func (c *cli) conversationsShowCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print a conversation's messages in order (the whole thread)",
		Example: `  genzai conversations show 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70
  genzai conversations show 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70 -o json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := conversationID(args[0])
			if err != nil {
				return err
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			thread, err := fetchThread(cmd.Context(), cn, id)
			if err != nil {
				return err
			}
			if cn.json {
				b, err := json.Marshal(thread)
				if err != nil {
					return err
				}
				return printJSON(c.stdout, b)
			}
			return c.printThread(thread)
		},
	}
	f.add(cmd)
	return cmd
}

// fetchThread reads a whole conversation, following the pages of messages;
// the result has every message and no next cursor.
func fetchThread(ctx context.Context, cn *conn, id openapi_types.UUID) (*api.ConversationThread, error) {
	var thread *api.ConversationThread
	params := &api.GetConversationParams{Limit: ptr(showPageSize)}
	for {
		res, err := cn.client.GetConversationWithResponse(ctx, id, params)
		if err := cn.checkConversation(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
			return nil, err
		}
		page, err := parsed(res.JSON200, res.Body)
		if err != nil {
			return nil, err
		}
		if thread == nil {
			thread = page
		} else {
			thread.Messages = append(thread.Messages, page.Messages...)
		}
		if page.NextCursor == nil {
			thread.NextCursor = nil
			return thread, nil
		}
		if params.Cursor != nil && *params.Cursor == *page.NextCursor {
			return nil, errors.New("the server gave the same page of messages twice")
		}
		params.Cursor = page.NextCursor
	}
}

// printThread prints the title, then each message under a line saying who
// wrote it, when and (for answers) with what.
func (c *cli) printThread(t *api.ConversationThread) error {
	fmt.Fprintf(c.stdout, "%s\n%s, started %s, %d messages\n", titleText(t.Title), t.Id,
		t.CreatedAt.UTC().Format(timeFormat), len(t.Messages))
	for _, m := range t.Messages {
		head := fmt.Sprintf("%s · %s", m.Role, m.CreatedAt.UTC().Format(timeFormat))
		if m.Model != nil {
			head += " · " + string(*m.Model)
			if m.Provider != nil {
				head += " via " + string(*m.Provider)
			}
		}
		if m.Status != api.MessageStatusComplete {
			head += " · " + string(m.Status)
		}
		fmt.Fprintf(c.stdout, "\n[%s]\n%s\n", head, m.Content)
		if m.Sources != nil && len(*m.Sources) > 0 {
			c.printSources(m.Sources)
		}
	}
	return nil
}

func (c *cli) conversationsRenameCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "rename ID TITLE",
		Short:   "Set a conversation's title",
		Example: `  genzai conversations rename 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70 "Lisbon, December"`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := conversationID(args[0])
			if err != nil {
				return err
			}
			title := strings.TrimSpace(args[1])
			if title == "" {
				return usageErrorf("the title is empty")
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.RenameConversationWithResponse(cmd.Context(), id, api.ConversationPatch{Title: title})
			if err := cn.checkConversation(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			cv, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "renamed %s: %s\n", cv.Id, titleText(cv.Title))
			return err
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) conversationsRmCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"delete"},
		Short:   "Delete a conversation and all its messages",
		Example: `  genzai conversations rm 0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := conversationID(args[0])
			if err != nil {
				return err
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			res, err := cn.client.DeleteConversationWithResponse(cmd.Context(), id)
			if err := cn.checkConversation(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, []byte(fmt.Sprintf(`{"deleted":%q}`, id.String())))
			}
			_, err = fmt.Fprintf(c.stdout, "deleted %s\n", id)
			return err
		},
	}
	f.add(cmd)
	return cmd
}
