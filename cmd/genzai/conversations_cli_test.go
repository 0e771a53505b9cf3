package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

const uuidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// startedRE is the stderr line of a chat that started a conversation.
var startedRE = regexp.MustCompile(`^conversation (` + uuidRE + `) started; continue it with: genzai chat --conversation (` + uuidRE + `)\n$`)

func TestCLIConversations(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, map[string]string{"USER_DAILY_QUOTA": "100"}))
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)

	// A new conversation: the answer on stdout, its id on stderr.
	out, errOut, code := tm.run(ctx, "", "chat", "--conversation", "new", "Which tram goes to Belém? It is late.")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `You said: "Which tram goes to Belém? It is late."`)
	m := startedRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, "stderr: %q", errOut)
	assert.Equal(t, m[1], m[2])
	lisbon := m[1]

	// Continued, whole and streamed: no new id.
	out, errOut, code = tm.run(ctx, "", "chat", "--conversation", lisbon, "--no-stream", "And back?")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `You said: "And back?"`)
	assert.Empty(t, errOut, "a continued conversation is not announced")
	out, errOut, code = tm.run(ctx, "", "chat", "-c", lisbon, "-o", "json", "Thanks")
	require.Equal(t, 0, code, errOut)
	var reply map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &reply))
	assert.Equal(t, lisbon, reply["conversation_id"])

	_, errOut, code = tm.run(ctx, "", "chat", "-c", "new", "--no-stream", "Sushi in Kyoto 🍣")
	require.Equal(t, 0, code, errOut)
	m = startedRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, "stderr of --no-stream: %q", errOut)
	kyoto := m[1]

	// Most recently active first; titles from the first prompt.
	out, errOut, code = tm.run(ctx, "", "conversations", "list")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^ID +UPDATED +TITLE\n`+
		kyoto+`  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Sushi in Kyoto 🍣\n`+
		lisbon+`  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Which tram goes to Belém\?\n$`, out)
	assert.Empty(t, errOut, "one page: no cursor")

	// A page at a time, the next one's command on stderr.
	out, errOut, code = tm.run(ctx, "", "conversations", "list", "--limit", "1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, kyoto)
	assert.NotContains(t, out, lisbon)
	next := regexp.MustCompile(`^more: genzai conversations list --cursor (\S+)\n$`).FindStringSubmatch(errOut)
	require.NotNil(t, next, "stderr: %q", errOut)
	out, errOut, code = tm.run(ctx, "", "conversations", "list", "--limit", "1", "--cursor", next[1])
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, lisbon)
	assert.NotContains(t, out, kyoto)
	assert.Empty(t, errOut, "the last page")

	out, errOut, code = tm.run(ctx, "", "conversations", "search", "tram")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, lisbon)
	assert.NotContains(t, out, kyoto)
	out, _, code = tm.run(ctx, "", "conversations", "search", "back", "-o", "json")
	require.Equal(t, 0, code)
	var list struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list.Conversations, 1, "message text is searched too")
	assert.Equal(t, lisbon, list.Conversations[0].ID)
	out, _, code = tm.run(ctx, "", "conversations", "search", "zeppelin")
	require.Equal(t, 0, code)
	assert.Equal(t, "no conversation matches\n", out)

	// The thread in order.
	out, errOut, code = tm.run(ctx, "", "conversations", "show", lisbon)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^Which tram goes to Belém\?\n`+lisbon+`, started [0-9: -]+, 6 messages\n`+
		`\n\[user · [0-9: -]+\]\nWhich tram goes to Belém\? It is late\.\n`+
		`\n\[assistant · [0-9: -]+ · fast via mock\]\n.*You said: "Which tram goes to Belém\? It is late\."\.\n`+
		`\n\[user · [0-9: -]+\]\nAnd back\?\n`+
		`\n\[assistant · [0-9: -]+ · fast via mock\]\n.*"And back\?"\.\n`+
		`\n\[user · [0-9: -]+\]\nThanks\n`+
		`\n\[assistant · [0-9: -]+ · fast via mock\]\n.*"Thanks"\.\n$`, out)
	out, _, code = tm.run(ctx, "", "conversations", "show", lisbon, "-o", "json")
	require.Equal(t, 0, code)
	var thread struct {
		ID         string           `json:"id"`
		Messages   []map[string]any `json:"messages"`
		NextCursor *string          `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &thread))
	assert.Equal(t, lisbon, thread.ID)
	assert.Len(t, thread.Messages, 6)
	assert.Nil(t, thread.NextCursor)

	out, errOut, code = tm.run(ctx, "", "conversations", "rename", kyoto, "Kyoto, March")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "renamed "+kyoto+": Kyoto, March\n", out)
	out, _, _ = tm.run(ctx, "", "conversations", "list")
	assert.Contains(t, out, kyoto+"  ", "renamed")
	assert.Contains(t, out, "  Kyoto, March\n")

	out, errOut, code = tm.run(ctx, "", "conversations", "rm", kyoto)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "deleted "+kyoto+"\n", out)
	out, _, _ = tm.run(ctx, "", "conversations", "list")
	assert.NotContains(t, out, kyoto)

	// A missing conversation (deleted, never made, or another user's):
	// the server's message, a hint, exit code 1.
	other := newUser(t, tm.env["GENZAI_HOST"])
	_, errOut, code = other.run(ctx, "correct horse\n", "register", "--email", "bob@example.com")
	require.Equal(t, 0, code, errOut)
	notFound := `^error: Conversation not found; list yours with: genzai conversations list \[request ` + uuidRE + `\]\n$`
	for _, tc := range []struct {
		who  *user
		args []string
	}{
		{tm, []string{"conversations", "show", kyoto}},
		{tm, []string{"conversations", "rename", kyoto, "Gone"}},
		{tm, []string{"conversations", "rm", kyoto}},
		{tm, []string{"chat", "--conversation", kyoto, "Hi"}},
		{tm, []string{"chat", "--conversation", kyoto, "--no-stream", "Hi"}},
		{tm, []string{"conversations", "show", "00000000-0000-4000-8000-000000000000"}},
		{other, []string{"conversations", "show", lisbon}},
		{other, []string{"conversations", "rm", lisbon}},
		{other, []string{"chat", "-c", lisbon, "Hi"}},
	} {
		out, errOut, code := tc.who.run(ctx, "", tc.args...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.Regexp(t, notFound, errOut, "%v", tc.args)
	}
	out, _, code = tm.run(ctx, "", "conversations", "show", lisbon, "-o", "json")
	require.Equal(t, 0, code, "another user's attempts left it alone")
	assert.Contains(t, out, `"Thanks"`)
}

func TestCLIConversationUsageErrors(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	tm := newUser(t, srv.URL)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"conversations", "bogus"}, `unknown command "bogus" for "genzai conversations"`},
		{[]string{"conversations", "show"}, "genzai conversations show takes 1 argument(s), got 0"},
		{[]string{"conversations", "rm"}, "genzai conversations rm takes 1 argument(s), got 0"},
		{[]string{"conversations", "rename", "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70"}, "genzai conversations rename takes 2 argument(s), got 1"},
		{[]string{"conversations", "search"}, "genzai conversations search takes 1 argument(s), got 0"},
		{[]string{"conversations", "show", "lisbon"}, `"lisbon" is not a conversation id (a UUID); list yours with: genzai conversations list`},
		{[]string{"conversations", "rm", "12"}, `"12" is not a conversation id (a UUID); list yours with: genzai conversations list`},
		{[]string{"conversations", "rename", "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70", "  "}, "the title is empty"},
		{[]string{"conversations", "search", " "}, "the query is empty: give words to search for"},
		{[]string{"conversations", "list", "--limit", "0"}, "--limit must be 1 to 100"},
		{[]string{"conversations", "list", "--limit", "101"}, "--limit must be 1 to 100"},
		{[]string{"chat", "--conversation", "latest", "Hi"}, `--conversation takes a conversation id or new, not "latest"; list yours with: genzai conversations list`},
		{[]string{"chat", "--conversation", "", "Hi"}, `--conversation takes a conversation id or new, not ""; list yours with: genzai conversations list`},
	} {
		out, errOut, code := tm.run(context.Background(), "", tc.args...)
		assert.Equal(t, 2, code, "%v is a usage error", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.True(t, strings.HasPrefix(errOut, "error: "+tc.msg+"\nusage: "), "%v: %q", tc.args, errOut)
	}
	assert.Zero(t, requests.Load(), "a usage error sends nothing")
}

// TestCLIConversationShowFetchesEveryPage reads a thread longer than a page
// from a server that pages it: the messages print in order, once.
func TestCLIConversationShowFetchesEveryPage(t *testing.T) {
	t.Parallel()
	const id = "0b6e1f3a-52c4-4d8e-9f1a-2b3c4d5e6f70"
	msg := func(n int) string {
		role := "user"
		if n%2 == 0 {
			role = "assistant"
		}
		status, extra := "complete", ""
		if n == 4 { // an answer cut short, with its provenance and a source
			status, extra = "interrupted", `,"model":"smart","provider":"openrouter","sources":[{"title":"Trams","url":"https://example.com/trams"}]`
		}
		return fmt.Sprintf(`{"id":%d,"role":%q,"content":"message %d","status":%q,"created_at":"2025-12-25T10:30:%02dZ"%s}`, n, role, n, status, n, extra)
	}
	pages := map[string]string{ // cursor → page
		"":   fmt.Sprintf(`"messages":[%s,%s],"next_cursor":"p2"`, msg(1), msg(2)),
		"p2": fmt.Sprintf(`"messages":[%s,%s],"next_cursor":"p3"`, msg(3), msg(4)),
		"p3": fmt.Sprintf(`"messages":[%s],"next_cursor":null`, msg(5)),
	}
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+" "+r.URL.Query().Encode()) // sorted
		mu.Unlock()
		page, ok := pages[r.URL.Query().Get("cursor")]
		if r.URL.Path != "/api/v1/conversations/"+id || !ok {
			http.Error(w, `{"error":"not found","code":"not_found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"title":"Long","created_at":"2025-12-25T10:30:00Z","updated_at":"2025-12-25T10:31:00Z",%s}`, id, page)
	}))
	t.Cleanup(srv.Close)
	tm := newUser(t, srv.URL)
	tm.env["GENZAI_TOKEN"] = "gz-test"

	out, errOut, code := tm.run(context.Background(), "", "conversations", "show", id)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Long\n"+id+", started 2025-12-25 10:30:00, 5 messages\n"+
		"\n[user · 2025-12-25 10:30:01]\nmessage 1\n"+
		"\n[assistant · 2025-12-25 10:30:02]\nmessage 2\n"+
		"\n[user · 2025-12-25 10:30:03]\nmessage 3\n"+
		"\n[assistant · 2025-12-25 10:30:04 · smart via openrouter · interrupted]\nmessage 4\n"+
		"\nSources:\n[1] Trams https://example.com/trams\n"+
		"\n[user · 2025-12-25 10:30:05]\nmessage 5\n", out)
	assert.Equal(t, []string{
		"/api/v1/conversations/" + id + " limit=200",
		"/api/v1/conversations/" + id + " cursor=p2&limit=200",
		"/api/v1/conversations/" + id + " cursor=p3&limit=200",
	}, asked, "each page once, the cursor passed back, the largest page")
}

// TestCLIChatSessionInAConversation: the session sends no history of its
// own; the server's reaches the provider, and /clear starts another one.
func TestCLIChatSessionInAConversation(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	host := gateway(t, map[string]string{"GROQ_BASE_URL": up.URL(), "GROQ_API_KEYS": "k1", "USER_DAILY_QUOTA": "10"})
	tm := newUser(t, host)
	_, errOut, code := tm.run(context.Background(), "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	up.Script("k1", fakeupstream.OK("Hi", " Ada."), fakeupstream.OK("You", " said", " hello."), fakeupstream.OK("Fresh."))

	out, errOut, code := tm.run(context.Background(), "hello\nwhat did I say?\n/clear\nthird\n/exit\n", "chat", "--conversation", "new")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Hi Ada.\nYou said hello.\nFresh.\n", out)
	started := regexp.MustCompile(`conversation (`+uuidRE+`) started;`).FindAllStringSubmatch(errOut, -1)
	require.Len(t, started, 2, "the first prompt and the one after /clear start one each: %q", errOut)
	assert.NotEqual(t, started[0][1], started[1][1])
	assert.Contains(t, errOut, "(a new conversation starts with the next prompt)")

	reqs := up.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "hello"}}, reqs[0].Messages)
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "hello"}, {Role: "assistant", Content: "Hi Ada."}, {Role: "user", Content: "what did I say?"}},
		reqs[1].Messages, "the stored history, continued in the conversation the session started")
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "third"}}, reqs[2].Messages, "/clear started another")

	out, errOut, code = tm.run(context.Background(), "", "conversations", "show", started[0][1], "-o", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"You said hello."`)
	assert.NotContains(t, out, "third")
}
