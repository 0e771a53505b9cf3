package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

// chromiumPath is Debian's headless-capable Chromium. Without it the
// browser tests skip, except in CI (CI set, as pgtest reads it), where
// .ci/run installs it and its absence is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); CI runs the browser tests")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium): browser tests skipped")
	return ""
}

// browser is a headless Chromium tab that records console errors,
// uncaught exceptions and log entries (CSP violations among them).
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// newBrowser starts Chromium at a phone's size, with extra flags (a fake
// microphone) when a test needs them.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // as root in CI containers
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(390, 844), // a phone: the app must work there
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b.ctx = ctx
	// The first run starts the browser, under the tab's own context (a
	// timeout here would end the browser with it).
	require.NoError(t, chromedp.Do(ctx))
	return b
}

// record keeps console errors, uncaught exceptions and error or security
// log entries (CSP violations are the latter).
func (b *browser) record(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console.error: " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		problem = fmt.Sprintf("exception: %s", ev.ExceptionDetails.Text)
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			problem += " " + ex.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Source == log.EntrySourceSecurity {
			problem = fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if problem != "" {
		b.mu.Lock()
		b.problems = append(b.problems, problem)
		b.mu.Unlock()
	}
}

// do runs steps in the tab, each run bounded (a bound, not a measure).
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		// What the page showed and what it complained of.
		dump, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		html, _ := chromedp.Run(dump, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("browser: %v\npage: %s\nproblems: %q", err, html, b.Problems())
	}
}

// text is the text of the first element matching a CSS selector.
func (b *browser) text(t *testing.T, css string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(css)))
	require.NoError(t, err)
	return s
}

// html is the inner HTML of the first element matching a CSS selector.
func (b *browser) html(t *testing.T, css string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.InnerHTML(chromedp.CSS(css)))
	require.NoError(t, err)
	return s
}

// screenshots takes the page at phone and desktop sizes, saved as
// name-phone.png and name-desktop.png in GENZAI_SCREENSHOTS when it names
// a directory (the README's pictures come from there), and checks its
// accessibility at both sizes with axe-core.
func (b *browser) screenshots(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("GENZAI_SCREENSHOTS")
	for _, size := range []struct {
		label         string
		width, height int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		_, err := chromedp.Run(ctx, chromedp.EmulateViewport(size.width, size.height))
		require.NoError(t, err)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		require.NoError(t, err)
		require.NotEmpty(t, png)
		b.axe(t, name+" ("+size.label+")")
		if dir != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name+"-"+size.label+".png"), png, 0o644))
		}
	}
	b.do(t, chromedp.EmulateViewport(390, 844))
}

// axe runs axe-core (web/node_modules, a pinned dev dependency of the web
// app) on the page as it stands and fails the test on any serious or
// critical accessibility violation, naming the rule and the elements.
// Without web/node_modules the check is skipped, except in CI (where
// `make check-generated` has installed it), where that is a failure.
func (b *browser) axe(t *testing.T, page string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed (cd web && npm ci): %v", err)
		}
		t.Logf("axe-core is not installed (cd web && npm ci): accessibility of %s not checked", page)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	// Evaluated through the DevTools protocol, which the page's CSP does
	// not govern; the page's own scripts still run under it.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src)+"\n;undefined"))
	require.NoError(t, err, "load axe-core")
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
		r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map((n) => n.target.join(" ")).join(", ")))`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "run axe-core")
	assert.Empty(t, found, "axe-core: serious or critical accessibility violations on %s", page)
}

func (b *browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// TestBrowserChat drives the web app in headless Chromium against the
// real gateway and a fake provider: register, send a prompt, see the
// first tokens while the answer is still open, stop it with Esc (the
// provider sees the cancel), see the quota count it, and find the session
// still there after a reload, with no console error or CSP violation.
func TestBrowserChat(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	ddg, ddgQueries := recordingDuckDuckGo(t)
	e := newEnv(t, up.vars(map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"}))
	// Two tokens, then silence until the client goes away.
	up.groq.Default(fakeupstream.HangAfterTokens(2))

	b.do(t,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	b.axe(t, "the sign-in form")
	b.do(t,
		chromedp.Click(button("Create an account")),
		chromedp.WaitVisible(button("Create account")),
		chromedp.SendKeys(chromedp.ID("email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(button("Create account")),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.WaitVisible(chromedp.CSS(".quota")),
		chromedp.SendKeys(chromedp.ID("prompt"), "Hello"+kb.Enter),
	)

	b.do(t,
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant .md")?.textContent ?? "").includes("tok2")`),
		// The answer is still open: the Stop button stands in for Send.
		chromedp.WaitVisible(button("Stop")),
	)
	assert.Equal(t, "tok1 tok2", strings.TrimSpace(b.text(t, ".msg.assistant .md")), "the tokens streamed in before the answer ended")

	b.do(t, chromedp.KeyEvent(kb.Escape))
	up.groq.WaitCancelled(t, 1, 10*time.Second)

	b.do(t,
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".quota")?.textContent.includes("Quota: 1 / ")`),
	)
	assert.Regexp(t, `^Quota: 1 / [0-9]+ today$`, b.text(t, ".quota"), "the request counted")

	// The session survives a reload.
	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("prompt")),
	)

	// A whole answer, rendered as Markdown; a model's markup stays text.
	up.groq.Default(fakeupstream.OK("Here is **bold** text", " and a list:\n\n- one\n- two\n\n",
		"```sh\ngenzai serve\n```\n\n", `<img src=x onerror="alert(1)">`))
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Show me Markdown"+kb.Enter),
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".msg.assistant .md pre code") !== null`),
	)
	html := b.html(t, ".msg.assistant .md")
	assert.Contains(t, html, "<strong>bold</strong>")
	assert.Contains(t, html, "<li>two</li>")
	assert.Contains(t, html, "&lt;img src=x onerror=")
	assert.NotContains(t, html, "<img")

	// A code block has a copy button (added after render: no inline
	// handler), which puts the code on the clipboard and says so.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = async (text) => { window.copied = text; }`),
		chromedp.Click(button("Copy code")),
		chromedp.WaitVisible(button("Copied")),
	)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.copied`))
	cancel()
	require.NoError(t, err)
	assert.Equal(t, "genzai serve\n", copied)

	// With the web search on, the answer lists its sources: the page's
	// markup stays text, the link opens apart from the app.
	up.groq.Default(fakeupstream.OK("Per [1], it is a title."))
	b.do(t,
		chromedp.Click(chromedp.CSS(".search-toggle input")),
		chromedp.SendKeys(chromedp.ID("prompt"), "What is the title?"+kb.Enter),
		chromedp.WaitVisible(button("Send")),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant:last-of-type .sources a")),
	)
	assert.Equal(t, []string{"What is the title?"}, ddgQueries())
	assert.Equal(t, "<script>alert(1)</script> Title", b.text(t, ".msg.assistant:last-of-type .sources a"))
	assert.Equal(t, "https://example.com/page?a=1&b=%3Cx%3E", attr(t, b, ".msg.assistant:last-of-type .sources a", "href"))
	assert.Equal(t, "noopener noreferrer", attr(t, b, ".msg.assistant:last-of-type .sources a", "rel"))
	assert.Equal(t, "_blank", attr(t, b, ".msg.assistant:last-of-type .sources a", "target"))
	assert.Zero(t, countOf(t, b, ".sources script"))
	b.screenshots(t, "chat")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")

	// The check above can fail: an inline script is a violation it sees.
	b.do(t, chromedp.Evaluate[chromedp.Void](`{ const s = document.createElement("script"); s.textContent = "1"; document.body.append(s); }`))
	assert.Eventually(t, func() bool { return len(b.Problems()) > 0 }, 10*time.Second, 20*time.Millisecond, "the CSP refuses inline scripts, and the test hears of it")
}

// TestBrowserConversations drives the sidebar (and rates an answer with a
// comment, which the export then holds): a conversation started before a
// reload is listed after it, opens with its messages, continues
// (the next prompt lands in it, not in a new one), is renamed, found by a
// search, and deleted after the confirmation.
func TestBrowserConversations(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(nil))
	up.groq.Default(fakeupstream.OK("Tram 15E goes there."))

	titles := func() string {
		return `[...document.querySelectorAll(".sidebar li .title")].map(b => b.textContent).join("|")`
	}
	token := signUpInBrowser(t, b, e, "ada@example.com")
	b.do(t,
		// On a phone the sidebar hides behind its button.
		chromedp.WaitNotVisible(chromedp.ID("sidebar")),
		chromedp.SendKeys(chromedp.ID("prompt"), "Which tram goes to Belem?"+kb.Enter),
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant .md")?.textContent ?? "").includes("15E")`),
		// Thumbs down, then a comment on it.
		chromedp.Click(button("Bad answer")),
		chromedp.WaitVisible(chromedp.CSS(".feedback .comment input")),
		chromedp.SendKeys(chromedp.CSS(".feedback .comment input"), "Which stop?"+kb.Enter),
		chromedp.WaitNotPresent(chromedp.CSS(".feedback .comment")),
	)
	assert.Equal(t, "true", attr(t, b, `.feedback button:nth-of-type(2)`, "aria-pressed"))
	assert.Equal(t, "Thanks for the feedback.", b.text(t, ".feedback [role=status]"))
	export := e.do(http.MethodGet, "/api/v1/me/export", nil, bearer(token))
	require.Equal(t, http.StatusOK, export.status, "export: %s", export.body)
	feedback, _ := export.json(t)["feedback"].([]any)
	require.Len(t, feedback, 1, "export: %s", export.body)
	assert.Equal(t, "down", feedback[0].(map[string]any)["rating"])
	assert.Equal(t, "Which stop?", feedback[0].(map[string]any)["comment"])

	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("prompt")),
	)
	// After the reload the thread is empty, and the sidebar lists the
	// conversation, named by its first prompt.
	assert.Zero(t, countOf(t, b, ".msg"))
	b.do(t,
		chromedp.Click(button("Conversations")),
		chromedp.WaitVisible(chromedp.ID("sidebar")),
		chromedp.Poll[chromedp.Void](titles()+` === "Which tram goes to Belem?"`),
		chromedp.Click(button("Which tram goes to Belem?")),
		chromedp.WaitNotVisible(chromedp.ID("sidebar")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 2`),
	)
	assert.Equal(t, "Which tram goes to Belem?", b.text(t, ".msg.user .text"))
	assert.Equal(t, "Tram 15E goes there.", strings.TrimSpace(b.text(t, ".msg.assistant .md")))

	// The next prompt continues it: still one conversation, four messages.
	up.groq.Default(fakeupstream.OK("From Martim Moniz."))
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Where from?"+kb.Enter),
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 4`),
	)
	// Regenerate asks again in place of the last answer: the thread (and
	// the stored one, read after the reload) holds the prompt once.
	up.groq.Default(fakeupstream.OK("From Praça da Figueira."))
	b.do(t,
		chromedp.Click(button("Regenerate")),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant:last-of-type .md")?.textContent ?? "").includes("Figueira")`),
		chromedp.WaitVisible(button("Regenerate")),
	)
	assert.Equal(t, 4, countOf(t, b, ".msg"))
	// A regeneration that brings nothing leaves the stored answer in
	// place: asking again still replaces it (the prompt stays once).
	for _, u := range []*fakeupstream.Server{up.groq, up.openrouter, up.huggingface} {
		u.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"down"}}`))
	}
	b.do(t,
		chromedp.Click(button("Regenerate")),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant:last-of-type .problem")),
		chromedp.WaitVisible(button("Regenerate")),
	)
	for _, u := range []*fakeupstream.Server{up.openrouter, up.huggingface} {
		u.Default(fakeupstream.OK(fakeupstream.Tokens(3)...))
	}
	up.groq.Default(fakeupstream.OK("From Praça da Figueira."))
	b.do(t,
		chromedp.Click(button("Regenerate")),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant:last-of-type .md")?.textContent ?? "").includes("Figueira")`),
		chromedp.WaitVisible(button("Regenerate")),
	)
	assert.Equal(t, 4, countOf(t, b, ".msg"))
	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.Click(button("Conversations")),
		chromedp.Poll[chromedp.Void](titles()+` === "Which tram goes to Belem?"`),
		chromedp.Click(button("Which tram goes to Belem?")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 4`),
	)
	assert.Equal(t, "From Praça da Figueira.", strings.TrimSpace(b.text(t, ".msg.assistant:last-of-type .md")), "the regenerated answer was stored in place")
	assert.Equal(t, "Where from?", b.text(t, ".msg.user:nth-last-of-type(2) .text"))

	// Rename, then search by the new title and by a word of an answer.
	b.do(t,
		chromedp.Click(button("Conversations")),
		chromedp.Click(chromedp.CSS(`button[aria-label="Rename Which tram goes to Belem?"]`)),
		chromedp.WaitVisible(chromedp.CSS(".rename input")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".rename input").select()`),
		chromedp.SendKeys(chromedp.CSS(".rename input"), "Lisbon trams"+kb.Enter),
		chromedp.Poll[chromedp.Void](titles()+` === "Lisbon trams"`),
		chromedp.SendKeys(chromedp.ID("search"), "nowhere"),
		chromedp.Poll[chromedp.Void](titles()+` === ""`),
		chromedp.WaitVisible(chromedp.CSS(".sidebar .muted")),
		chromedp.Evaluate[chromedp.Void](`{ const s = document.getElementById("search"); s.value = ""; s.dispatchEvent(new Event("input", { bubbles: true })); }`),
		chromedp.SendKeys(chromedp.ID("search"), "figueira"),
		chromedp.Poll[chromedp.Void](titles()+` === "Lisbon trams"`),
	)
	b.screenshots(t, "conversations")

	// Delete asks first: refused, the conversation stays; accepted, it goes
	// and the thread empties.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => false`),
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete Lisbon trams"]`)),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
	)
	assert.Equal(t, 1, countOf(t, b, ".sidebar li"), "a refused confirmation keeps the conversation")
	b.do(t,
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete Lisbon trams"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 0`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 0`),
	)
	// The browser logs the regeneration the providers refused, and nothing else.
	for _, p := range b.Problems() {
		assert.Regexp(t, `status of 503 .*/api/v1/chat$`, p, "no console error, exception or CSP violation")
	}
}

// attr is an attribute of the first element matching a CSS selector.
func attr(t *testing.T, b *browser, css, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute(%q)`, css, name)))
	require.NoError(t, err)
	return v
}

// button is the buttons whose text is label.
func button(label string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("button")].filter(b => b.textContent.trim() === %q)`, label))
}

// countOf is how many elements match a CSS selector.
func countOf(t *testing.T, b *browser, css string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, css)))
	require.NoError(t, err)
	return n
}

// TestBrowserSettings drives the settings page: an API key created is
// shown once (and works), is listed by its prefix after a reload, and
// stops working once revoked; the export downloads; the account is deleted
// with its password after a wrong one is refused.
func TestBrowserSettings(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(nil))

	quotaStatus := func(bearer string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/api/v1/quota", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := e.http.Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		return res.StatusCode
	}
	signUpInBrowser(t, b, e, "lin@example.com")
	b.do(t,
		// The header settles (quota and tiers loaded) before the click.
		chromedp.WaitVisible(chromedp.CSS(".quota")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#tier option").length > 1`),
		chromedp.Click(chromedp.CSS(`a[href="#/settings"]`)),
		chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.WaitVisible(chromedp.CSS(".settings .muted")),
		chromedp.SendKeys(chromedp.ID("key-name"), "laptop"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("new-key")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".keys tbody tr").length === 1`),
	)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	key, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("new-key").value`))
	cancel()
	require.NoError(t, err)
	require.Regexp(t, `^gz-[A-Za-z0-9_-]{43}$`, key, "the key is shown")
	assert.Equal(t, http.StatusOK, quotaStatus(key), "the key works")
	b.screenshots(t, "settings")

	// Once: after a reload only its prefix is listed.
	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".keys tbody tr").length === 1`),
	)
	assert.Zero(t, countOf(t, b, "#new-key"), "the key is not shown again")
	assert.Equal(t, "laptop", b.text(t, ".keys tbody td"))
	assert.Equal(t, key[:11]+"…", b.text(t, ".keys tbody code"))
	assert.NotContains(t, b.html(t, "body"), key)

	b.do(t,
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`button[aria-label="Revoke laptop"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".keys tbody tr").length === 0`),
	)
	assert.Equal(t, http.StatusUnauthorized, quotaStatus(key), "the revoked key is refused")

	b.do(t,
		chromedp.Click(button("Export my data")),
		chromedp.Poll[chromedp.Void](`(document.querySelector("#export-h")?.parentElement.textContent ?? "").includes("Export downloaded.")`),
	)

	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")

	// A wrong password is refused and keeps the account (the browser logs
	// that 401, and nothing else); the right one deletes it and signs out.
	b.do(t,
		chromedp.SendKeys(chromedp.ID("delete-password"), "wrong horse battery"),
		chromedp.Click(button("Delete my account")),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".settings .problem")?.textContent ?? "").includes("That password is not right.")`),
		chromedp.Evaluate[chromedp.Void](`{ const p = document.getElementById("delete-password"); p.value = ""; p.dispatchEvent(new Event("input", { bubbles: true })); }`),
		chromedp.SendKeys(chromedp.ID("delete-password"), "correct horse battery"),
		chromedp.Click(button("Delete my account")),
		chromedp.WaitVisible(button("Create an account")),
	)
	login := e.do(http.MethodPost, "/api/v1/auth/login", `{"email":"lin@example.com","password":"correct horse battery"}`, nil)
	assert.Equal(t, http.StatusUnauthorized, login.status, "the account is gone")
	for _, p := range b.Problems() {
		assert.Regexp(t, `status of 401 .*/api/v1/me$`, p, "only the wrong password's answer")
	}
}

// signUpInBrowser creates an account through the sign-in form and returns
// the session's token, for the API calls a test makes beside the page.
func signUpInBrowser(t *testing.T, b *browser, e *env, email string) string {
	t.Helper()
	b.do(t,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Click(button("Create an account")),
		chromedp.WaitVisible(button("Create account")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(button("Create account")),
		chromedp.WaitVisible(chromedp.ID("prompt")),
	)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	token, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem("genzai.session")).token`))
	require.NoError(t, err)
	return token
}

// TestBrowserChatPaging: the sidebar lists conversations a page at a time
// ("More conversations"), and a long thread opens on its latest messages
// with the earlier ones behind "Earlier messages" (read from the API a
// page at a time, from the thread's end: latest=true, then its cursor).
func TestBrowserChatPaging(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(map[string]string{"USER_DAILY_QUOTA": "1000", "RATE_LIMIT_PER_MINUTE": "10000"}))
	up.groq.Default(fakeupstream.OK("ok"))
	token := signUpInBrowser(t, b, e, "lin@example.com")
	// An address whose hash is not percent-encoded text still routes (the
	// app threw URIError while rendering: a blank page).
	b.do(t,
		chromedp.Navigate(e.srv.URL+"/#/admin/requests/%E0%A4%A"),
		chromedp.WaitVisible(chromedp.CSS(".admin .problem")),
		chromedp.Navigate(e.srv.URL+"/#/"),
		chromedp.WaitVisible(chromedp.ID("prompt")),
	)

	for i := range 34 {
		e.createConversation(token, strPtr(fmt.Sprintf("Topic %02d", i)))
	}
	long := e.createConversation(token, strPtr("The long one"))
	for i := range 51 {
		res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": fmt.Sprintf("q%d", i), "stream": false, "conversation_id": long}, bearer(token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}

	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.Click(button("Conversations")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 30`),
		chromedp.Click(button("More conversations")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 35`),
		chromedp.WaitNotPresent(button("More conversations")),
		chromedp.Click(button("The long one")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 40`),
	)
	assert.Equal(t, "q31", b.text(t, ".msg.user .text"), "the latest 40 of 102 messages")
	b.do(t,
		// A double click reads the earlier page once.
		chromedp.Evaluate[chromedp.Void](`{ const b = [...document.querySelectorAll("button")].find(b => b.textContent.trim() === "Earlier messages"); b.click(); b.click(); }`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length >= 80`),
		chromedp.Click(button("Earlier messages")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".msg").length === 102`),
		chromedp.WaitNotPresent(button("Earlier messages")),
	)
	assert.Equal(t, "q0", b.text(t, ".msg.user .text"))
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
}

// TestBrowserChatForgetsEmptyConversation: a new chat whose first turn
// delivered nothing is deleted by the server; the page forgets its id, so
// the next prompt starts a new conversation (rather than meeting a 404 in
// the deleted one), and the sidebar lists only the one that was stored.
func TestBrowserChatForgetsEmptyConversation(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(nil))
	// An empty answer: the stream begins (the meta names the new
	// conversation), then ends without a token.
	up.groq.Default(fakeupstream.OK())
	token := signUpInBrowser(t, b, e, "mae@example.com")
	titles := `[...document.querySelectorAll(".sidebar li .title")].map(b => b.textContent).join("|")`

	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Nothing comes back"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant")),
		chromedp.WaitVisible(button("Send")),
	)
	list := e.do(http.MethodGet, "/api/v1/conversations", nil, bearer(token))
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	assert.Empty(t, list.json(t)["conversations"], "the server deleted the empty conversation: %s", list.body)

	up.groq.Default(fakeupstream.OK("Here at last."))
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Try again"+kb.Enter),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant:last-of-type .md")?.textContent ?? "").includes("Here at last.")`),
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](titles+` === "Try again"`),
	)
	assert.Zero(t, countOf(t, b, ".msg .problem"), "the second prompt went to a conversation that exists")
	list = e.do(http.MethodGet, "/api/v1/conversations", nil, bearer(token))
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	convs, _ := list.json(t)["conversations"].([]any)
	require.Len(t, convs, 1, "%s", list.body)
	assert.Equal(t, "Try again", convs[0].(map[string]any)["title"])
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
}

// TestBrowserConversationsKeepPages: an answer stored moves its
// conversation to the top of the sidebar without dropping the pages "More
// conversations" loaded.
func TestBrowserConversationsKeepPages(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(map[string]string{"USER_DAILY_QUOTA": "1000", "RATE_LIMIT_PER_MINUTE": "10000"}))
	up.groq.Default(fakeupstream.OK("ok"))
	token := signUpInBrowser(t, b, e, "kai@example.com")
	for i := range 34 {
		e.createConversation(token, strPtr(fmt.Sprintf("Topic %02d", i)))
	}
	titles := `[...document.querySelectorAll(".sidebar li .title")].map(b => b.textContent)`

	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.Click(button("Conversations")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 30`),
		chromedp.Click(button("More conversations")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 34`),
		chromedp.Click(button("Conversations")),
		chromedp.WaitNotVisible(chromedp.ID("sidebar")),
	)
	// The topics share one instant (the fake clock's): the new one is later.
	e.clock.Advance(time.Minute)
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "A fresh topic"+kb.Enter),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".msg.assistant .md")?.textContent ?? "").includes("ok")`),
		chromedp.WaitVisible(button("Send")),
		chromedp.Poll[chromedp.Void](titles+`[0] === "A fresh topic"`),
	)
	// Topic 00 is the oldest: only the second page listed it.
	b.do(t, chromedp.Poll[chromedp.Void](`document.querySelectorAll(".sidebar li").length === 35 && `+titles+`.includes("Topic 00")`))
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](titles+`.join("|")`))
	cancel()
	require.NoError(t, err)
	listed := strings.Split(got, "|")
	require.NotEmpty(t, listed)
	assert.Equal(t, "A fresh topic", listed[0], "the conversation answered leads")
	var want []string
	for i := range 34 {
		want = append(want, fmt.Sprintf("Topic %02d", i))
	}
	assert.ElementsMatch(t, want, listed[1:], "every loaded conversation stays, each once")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
}

// TestBrowserMeReadAgain: a failed read of GET /api/v1/me (here blocked)
// is not kept for the session: the dashboard reads the account again and
// tells a non-admin it is for admins, instead of loading for ever.
func TestBrowserMeReadAgain(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(nil))
	signUpInBrowser(t, b, e, "kim@example.com")
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	block := func(on bool) {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: e.srv.URL + "/api/v1/me", Block: on}},
		})
		require.NoError(t, err)
	}
	block(true)
	b.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("prompt")))
	// The chat read the account at its start; a read after it fails too
	// (and so, by then, has the chat's).
	probe, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/v1/me").then(() => "read", () => "blocked")`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, "blocked", probe)
	block(false)
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/admin"`),
		chromedp.WaitVisible(chromedp.CSS(".admin .problem")),
	)
	assert.Equal(t, "The dashboard is for admins. Ask an admin of this server if you need access.", b.text(t, ".admin .problem"))
}

// TestBrowserChatQuota: a user whose quota ran out (here by a request
// beside the page) is told so in words, with the reset in local time and
// the request id, and the composer waits for the reset.
func TestBrowserChatQuota(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(map[string]string{"USER_DAILY_QUOTA": "1"}))
	up.groq.Default(fakeupstream.OK("ok"))
	token := signUpInBrowser(t, b, e, "mae@example.com")
	b.do(t, chromedp.Poll[chromedp.Void](`document.querySelector(".quota")?.textContent.includes("Quota: 0 / 1")`))
	res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "elsewhere", "stream": false}, bearer(token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	// Shift+Enter starts a new line; Enter sends.
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Hello"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.SendKeys(chromedp.ID("prompt"), "there"),
	)
	assert.Zero(t, countOf(t, b, ".msg"), "Shift+Enter sends nothing")
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant .problem")),
		chromedp.WaitVisible(chromedp.CSS(".composer .notice")),
	)
	assert.Equal(t, "Hello\nthere", b.text(t, ".msg.user .text"))
	problem := b.text(t, ".msg.assistant .problem")
	assert.Regexp(t, `^You have used today's requests\. You can chat again at .+\. \(request id: \S+\)$`, problem)
	assert.NotContains(t, problem, "quota_exceeded", "words, not an error dump")
	assert.Regexp(t, `^You have used all 1 of today's requests\. You can chat again at .+\.$`, b.text(t, ".composer .notice"))
	assert.Equal(t, 1, countOf(t, b, "#prompt:disabled"), "the prompt box waits for the reset")
	assert.Zero(t, countOf(t, b, ".regenerate"), "no regenerate either")
	b.screenshots(t, "chat-quota")
	// The browser logs the 429, and nothing else.
	for _, p := range b.Problems() {
		assert.Regexp(t, `status of 429 .*/api/v1/chat$`, p, "only the refused chat's answer")
	}
}

// TestBrowserImages drives image mode: the prompt goes to image
// generation instead of the chat (the fake Hugging Face draws it), the
// picture shows in the thread with the prompt as its text alternative and
// a download link, says it is not saved, and the quota counts its cost; a
// second picture the quota cannot pay for is refused in words that say
// the cost and what is left, with the request id.
func TestBrowserImages(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(imageVars(up, map[string]string{"USER_DAILY_QUOTA": "8"})))
	picture := dusk(t)
	up.huggingface.Default(fakeupstream.Image("image/png", picture))
	signUpInBrowser(t, b, e, "ida@example.com")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS(".quota")),
		chromedp.Click(button("Image")),
		chromedp.WaitVisible(chromedp.ID("image-note")),
		chromedp.WaitVisible(button("Create image")),
	)
	assert.Equal(t, "true", attr(t, b, ".image-mode", "aria-pressed"))
	assert.Contains(t, b.text(t, "#image-note"), "costs 5 of today's requests")
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "A lighthouse at dusk"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant .picture img")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".quota")?.textContent.includes("Quota: 5 / 8")`),
		chromedp.Poll[chromedp.Void](`document.querySelector(".picture img").complete`),
	)
	src := attr(t, b, ".picture img", "src")
	assert.Equal(t, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(picture), src)
	assert.Equal(t, "A lighthouse at dusk", attr(t, b, ".picture img", "alt"))
	assert.Equal(t, 1, countOf(t, b, ".picture img"))
	assert.Equal(t, 320, evalInt(t, b, `document.querySelector(".picture img").naturalWidth`), "the picture decoded")
	assert.Equal(t, src, attr(t, b, ".picture figcaption a", "href"))
	assert.Regexp(t, `^genzai-[0-9a-f-]+\.png$`, attr(t, b, ".picture figcaption a", "download"))
	assert.Contains(t, b.text(t, ".picture figcaption"), "not saved")
	assert.Zero(t, countOf(t, b, ".regenerate, .feedback"), "a picture is neither regenerated as a chat nor rated")
	reqs := up.huggingface.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "A lighthouse at dusk", reqs[0].Inputs)
	assert.Empty(t, up.groq.Requests(), "no chat")
	b.screenshots(t, "chat-image")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")

	// 3 units left, 5 needed: refused before any provider is asked.
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "A second lighthouse"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".msg.assistant:last-of-type .problem")),
	)
	assert.Regexp(t, `^An image costs 5 of today's requests and you have 3 left\. They renew at .+\. \(request id: \S+\)$`,
		b.text(t, ".msg.assistant:last-of-type .problem"))
	assert.Len(t, up.huggingface.Requests(), 1, "the provider was not asked")
	// The browser logs the 429, and nothing else.
	for _, p := range b.Problems() {
		assert.Regexp(t, `status of 429 .*/api/v1/images$`, p, "only the refused picture's answer")
	}
}

// TestBrowserVoice drives voice in Chromium with its fake microphone (a
// tone, granted without asking): a refused microphone is said in words;
// "Read aloud" sends an answer's text without its Markdown (within
// max_speech_chars) and plays the audio that comes back until pressed
// again; meanwhile Dictate records until pressed again, the recording
// (WebM, as the browser makes it) goes through the gateway to the fake
// Groq, and its transcription lands at the prompt's caret, not sent.
func TestBrowserVoice(t *testing.T) {
	t.Parallel()
	b := newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
	)
	up := newUpstreams(t)
	// Images on too: the composer with every tool, for the screenshots.
	// MAX_SPEECH_CHARS 24: the answer's 27 characters of text are cut, at a word.
	e := newEnv(t, up.vars(imageVars(up, voiceVars(map[string]string{"USER_DAILY_QUOTA": "10", "MAX_SPEECH_CHARS": "24"}))))
	signUpInBrowser(t, b, e, "vic@example.com")

	// A refused microphone (as a browser refuses it) is said in words.
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS(".quota")),
		chromedp.Evaluate[chromedp.Void](`navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"))`),
		chromedp.Click(button("Dictate")),
		chromedp.WaitVisible(chromedp.CSS(".composer .problem")),
	)
	assert.Equal(t, "The browser did not allow the microphone: allow it for this site, then press Dictate again.", b.text(t, ".composer .problem"))
	assert.Empty(t, up.groq.Requests())

	// The answer is read without its Markdown, cut to MAX_SPEECH_CHARS,
	// from long audio that plays until "Read aloud" is pressed again.
	up.groq.Default(fakeupstream.OK("Here is **bold** text", " and `code`."))
	b.do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(button("Dictate")),
		chromedp.SendKeys(chromedp.ID("prompt"), "Show me Markdown"+kb.Enter),
		chromedp.WaitVisible(button("Read aloud")),
	)
	up.groq.Default(fakeupstream.Speech("audio/wav", silentWAV(60)))
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`window.played = false; document.addEventListener("playing", () => { window.played = true; }, true)`),
		chromedp.Click(button("Read aloud")),
		chromedp.Poll[chromedp.Void](`window.played === true`),
		chromedp.WaitVisible(chromedp.CSS(`.speak[aria-pressed="true"]`)),
	)
	assert.Equal(t, 1, countOf(t, b, "audio"))
	assert.True(t, strings.HasPrefix(attr(t, b, "audio", "src"), "blob:"), "played from a blob: URL (the CSP allows it)")
	reqs := up.groq.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/audio/speech", reqs[1].Path)
	assert.Equal(t, "Here is bold text and", reqs[1].Input, "Here is bold text and code., cut to 24 at a word")

	up.groq.Default(fakeupstream.Transcript("Hello from the microphone", "English", time.Second))
	b.do(t,
		// chromedp's Enter that sent the prompt also typed a line break (a
		// person's does not): the box starts empty again.
		chromedp.Evaluate[chromedp.Void](`{ const p = document.getElementById("prompt"); p.value = ""; p.dispatchEvent(new Event("input", { bubbles: true })); }`),
		chromedp.SendKeys(chromedp.ID("prompt"), "Note:"),
		chromedp.Click(button("Dictate")),
		chromedp.WaitVisible(chromedp.CSS(`.mic[aria-pressed="true"]`)),
	)
	assert.Equal(t, "Recording… press Dictate again or Esc to stop.", b.text(t, ".voice-note"))
	assert.Equal(t, "Recording… press Dictate again or Esc to stop.", b.text(t, `.composer [role="status"]`), "announced")
	b.screenshots(t, "chat-voice")
	b.do(t,
		chromedp.Click(button("Dictate")),
		chromedp.Poll[chromedp.Void](`document.getElementById("prompt").value === "Note: Hello from the microphone"`),
		chromedp.WaitVisible(chromedp.CSS(`.mic[aria-pressed="false"]:enabled`)),
		chromedp.Poll[chromedp.Void](`document.querySelector(".quota")?.textContent.includes("Quota: 3 / 10")`),
	)
	assert.Equal(t, 2, countOf(t, b, ".msg"), "the transcription is not sent")
	reqs = up.groq.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "/audio/transcriptions", reqs[2].Path)
	require.Greater(t, len(reqs[2].File), 4)
	assert.Equal(t, []byte{0x1A, 0x45, 0xDF, 0xA3}, reqs[2].File[:4], "WebM (EBML) from the browser's recorder")

	// Esc ends a recording too; the text goes after the caret's.
	b.do(t,
		chromedp.Click(button("Dictate")),
		chromedp.WaitVisible(chromedp.CSS(`.mic[aria-pressed="true"]`)),
		chromedp.KeyEvent(kb.Escape),
		chromedp.Poll[chromedp.Void](`document.getElementById("prompt").value === "Note: Hello from the microphone Hello from the microphone"`),
		chromedp.WaitVisible(chromedp.CSS(`.speak[aria-pressed="true"]`)),
	)

	b.do(t,
		chromedp.Click(button("Read aloud")),
		chromedp.WaitVisible(chromedp.CSS(`.speak[aria-pressed="false"]`)),
	)
	assert.Zero(t, countOf(t, b, "audio"), "stopped")

	// A recording the browser ends itself (the microphone unplugged: its
	// tracks end) is transcribed, and then the microphone holds nothing:
	// the next Esc goes on to the chat rather than to a recording long over.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`{
			const get = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
			navigator.mediaDevices.getUserMedia = async (c) => { const s = await get(c); window.micStream = s; return s; };
			window.escTaken = null;
			window.addEventListener("keydown", (e) => { if (e.key === "Escape") window.escTaken = e.defaultPrevented; });
		}`),
		chromedp.Click(button("Dictate")),
		chromedp.WaitVisible(chromedp.CSS(`.mic[aria-pressed="true"]`)),
		chromedp.Evaluate[chromedp.Void](`window.micStream.getTracks().forEach((t) => t.stop())`),
		chromedp.Poll[chromedp.Void](`document.getElementById("prompt").value.endsWith("microphone Hello from the microphone Hello from the microphone")`),
		chromedp.WaitVisible(chromedp.CSS(`.mic[aria-pressed="false"]:enabled`)),
		chromedp.KeyEvent(kb.Escape),
		chromedp.Poll[chromedp.Void](`window.escTaken !== null`),
	)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	escTaken, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.escTaken`))
	require.NoError(t, err)
	assert.False(t, escTaken, "Esc after a recording that ended by itself is not taken by the microphone")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
}

// silentWAV is seconds of silence as a WAV file (8 kHz, 16-bit mono):
// audio that plays long enough to be stopped.
func silentWAV(seconds int) []byte {
	const rate = 8000
	n := uint32(2 * rate * seconds)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	// The fmt chunk: its size, PCM, mono, the rate, bytes per second,
	// block align, bits per sample.
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, n)
	b.Write(make([]byte, n))
	return b.Bytes()
}

// dusk is a 320x200 PNG (a sun setting over the sea): a picture a
// screenshot can show, where fakeupstream's default is one pixel.
func dusk(t *testing.T) []byte {
	t.Helper()
	const w, h, horizon = 320, 200, 130
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{A: 255}
			if y < horizon {
				f := float64(y) / horizon
				c.R, c.G, c.B = uint8(90+f*165), uint8(40+f*100), uint8(120-f*60)
				if dx, dy := x-220, y-118; dx*dx+dy*dy < 28*28 {
					c.R, c.G, c.B = 255, 214, 120
				}
			} else {
				f := float64(y-horizon) / (h - horizon)
				c.R, c.G, c.B = uint8(60-f*40), uint8(70-f*40), uint8(120-f*50)
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// evalInt is a JavaScript expression's value, a number.
func evalInt(t *testing.T, b *browser, expr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	require.NoError(t, err)
	return n
}

// TestBrowserAdmin drives the dashboard as an admin: a request just made
// is in the request log with its detail and attempts, the admin is in the
// user list with today's use and gets a quota of their own, the providers'
// keys are shown; then a plain user finds no entry to the dashboard, is
// told it is for admins, and gets 403 from its API.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(map[string]string{"USER_DAILY_QUOTA": "50"}))
	up.groq.Default(fakeupstream.OK("Hello", " there"))
	// The first key answers 429: the chat is answered with the second, the
	// request's detail lists the attempt, and the key cools down.
	up.groq.Script("gk-0", fakeupstream.RateLimited(time.Minute))
	bossID := e.registerAdmin("boss@example.com", pw)
	e.register("ada@example.com", pw)
	boss := e.login("boss@example.com", pw)

	button := func(label string) chromedp.JSPath {
		return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("button")].filter(b => b.textContent.trim() === %q)`, label))
	}
	signIn := func(email string) {
		b.do(t,
			chromedp.Navigate(e.srv.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(button("Sign in")),
			chromedp.WaitVisible(chromedp.ID("prompt")),
			chromedp.WaitVisible(chromedp.CSS(".quota")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll("#tier option").length > 1`),
		)
	}
	signIn("boss@example.com")
	b.do(t,
		chromedp.SendKeys(chromedp.ID("prompt"), "Hello"+kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelector(".quota")?.textContent.includes("Quota: 1 / ")`),
	)
	// The request log is written in batches: wait for the row.
	var requestID string
	require.Eventually(t, func() bool {
		res := e.do(http.MethodGet, "/api/v1/admin/requests", nil, bearer(boss))
		reqs, _ := res.json(t)["requests"].([]any)
		if len(reqs) == 0 {
			return false
		}
		requestID, _ = reqs[0].(map[string]any)["request_id"].(string)
		return true
	}, 10*time.Second, 50*time.Millisecond)
	require.NotEmpty(t, requestID)

	b.do(t,
		chromedp.Click(chromedp.CSS(`a[href="#/admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.admin .tabs`)),
		chromedp.Click(chromedp.CSS(`.admin .tabs a[href="#/admin/requests"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.requests tbody tr`)),
		chromedp.Click(chromedp.CSS(`.requests tbody tr button`)),
		chromedp.WaitVisible(chromedp.CSS(`.requests tr.detail`)),
	)
	assert.Equal(t, requestID, b.text(t, ".requests tr.detail .reqid-value"), "the request just made, in detail")
	detail := b.text(t, ".requests tr.detail")
	assert.Contains(t, detail, "groq: rate limited")
	assert.Contains(t, detail, "groq: answered")
	assert.Contains(t, detail, "native (/api/v1), streamed")
	b.screenshots(t, "dashboard-requests")

	bossRow := `[...document.querySelectorAll(".users tbody tr")].find((r) => r.querySelector(".email")?.textContent === "boss@example.com")`
	b.do(t,
		chromedp.Click(chromedp.CSS(`.admin .tabs a[href="#/admin/users"]`)),
		chromedp.Poll[chromedp.Void](bossRow+` !== undefined`),
	)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	used, err := chromedp.Run(ctx, chromedp.Evaluate[string](bossRow+`.children[1].textContent`))
	cancel()
	require.NoError(t, err)
	assert.Equal(t, "1 / 50", used, "today's use")
	b.do(t,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`{ const q = document.getElementById("quota-%s"); q.value = ""; q.dispatchEvent(new Event("input", { bubbles: true })); }`, bossID)),
		chromedp.SendKeys(chromedp.ID("quota-"+bossID), "7"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Set the daily quota of boss@example.com"]`)),
		chromedp.Poll[chromedp.Void](bossRow+`?.children[1].textContent === "1 / 7"`),
	)
	assert.Contains(t, b.text(t, ".admin .notice"), "boss@example.com: daily quota set to 7")
	assert.Equal(t, float64(7), e.do(http.MethodGet, "/api/v1/quota", nil, bearer(boss)).json(t)["limit"])
	// Making an admin waits for a second admin: said in words, nothing changed.
	b.do(t,
		chromedp.Click(chromedp.CSS(`button[aria-label="Make admin ada@example.com"]`)),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".admin .notice")?.textContent ?? "").includes("waits for another admin's confirmation")`),
	)
	assert.Contains(t, b.text(t, ".admin .notice"), "ada@example.com: this change waits for another admin's confirmation")
	b.screenshots(t, "dashboard-users")

	// From a user's row to their requests.
	b.do(t,
		chromedp.Click(chromedp.CSS(`a[aria-label="Requests of boss@example.com"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.getElementById("req-user")?.value === %q`, bossID)),
		chromedp.WaitVisible(chromedp.CSS(`.requests tbody tr`)),
	)
	assert.Equal(t, 1, countOf(t, b, ".requests tbody tr"), "the boss's one request")

	b.do(t,
		chromedp.Click(chromedp.CSS(`.admin .tabs a[href="#/admin/providers"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".admin .provider").length === 3`),
	)
	providers := b.text(t, ".admin main")
	assert.Contains(t, providers, "groq")
	assert.Contains(t, providers, "ready")
	assert.Contains(t, providers, "cooling down until")
	assert.NotContains(t, b.html(t, "body"), "gk-0", "never a key")
	b.screenshots(t, "dashboard-providers")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")

	// A plain user: no entry, the shell's refusal, and 403 from the API.
	b.do(t, chromedp.Evaluate[chromedp.Void](`localStorage.clear()`))
	signIn("ada@example.com")
	assert.Zero(t, countOf(t, b, `a[href="#/admin"]`), "no dashboard link for a plain user")
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/admin/requests"`),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".admin .problem")?.textContent ?? "").includes("The dashboard is for admins.")`),
	)
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
	ctx, cancel = context.WithTimeout(b.ctx, 30*time.Second)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/api/v1/admin/requests", {
		headers: { Authorization: "Bearer " + JSON.parse(localStorage.getItem("genzai.session")).token },
	}).then((r) => r.status)`, chromedp.EvalAwaitPromise))
	cancel()
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, status)
	for _, p := range b.Problems() {
		assert.Regexp(t, `status of 403 .*/api/v1/admin/requests$`, p, "only the refused fetch")
	}
}

// TestBrowserDashboardAnalytics drives the dashboard's analytics: an
// admin's chats (one answered, the same again from the response cache,
// one that every provider fails) show in today's requests by outcome and
// cache hit ratio, the period switches to 30 days, the page passes axe in
// the dark theme too; then, signed out, the public status page lists each
// provider.
func TestBrowserDashboardAnalytics(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	up := newUpstreams(t)
	e := newEnv(t, up.vars(map[string]string{"CACHE_ENABLED": "true"}))
	e.registerAdmin("boss@example.com", pw)
	token := e.login("boss@example.com", pw)

	// Probes recorded as the monitor would (it is off in tests): groq up,
	// huggingface down. (The default window's report, computed at start-up,
	// is cached: the page shows them over the last hour.)
	now := e.clock.Now()
	for _, c := range []domain.ProviderCheck{
		{Provider: domain.ProviderGroq, OK: true, Status: 200, Latency: 180 * time.Millisecond, CheckedAt: now.Add(-2 * time.Minute)},
		{Provider: domain.ProviderGroq, OK: true, Status: 200, Latency: 210 * time.Millisecond, CheckedAt: now.Add(-time.Minute)},
		{Provider: domain.ProviderOpenRouter, OK: true, Status: 200, Latency: 420 * time.Millisecond, CheckedAt: now.Add(-time.Minute)},
		{Provider: domain.ProviderHuggingFace, Status: 503, ErrorClass: domain.ReasonServerError, CheckedAt: now.Add(-2 * time.Minute)},
		{Provider: domain.ProviderHuggingFace, Status: 503, ErrorClass: domain.ReasonServerError, CheckedAt: now.Add(-time.Minute)},
	} {
		require.NoError(t, e.app.Database.RecordCheck(t.Context(), c))
	}
	up.groq.Default(fakeupstream.OK("Hello", " there"))
	chat := func(prompt string) response {
		return e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": prompt, "stream": false}, bearer(token))
	}
	require.Equal(t, http.StatusOK, chat("Hi").status)
	cached := chat("Hi")
	require.Equal(t, http.StatusOK, cached.status)
	require.Equal(t, "hit", cached.header.Get("X-Genzai-Cache"), "the second is served from the cache")
	for _, u := range []*fakeupstream.Server{up.groq, up.openrouter, up.huggingface} {
		u.Default(fakeupstream.Status(500, "down"))
	}
	require.Equal(t, http.StatusServiceUnavailable, chat("Hi again").status, "every provider fails")
	// The request log is written in batches: wait for the three rows.
	require.Eventually(t, func() bool {
		res := e.do(http.MethodGet, "/api/v1/admin/analytics?days=1", nil, bearer(token))
		return res.status == http.StatusOK && res.json(t)["totals"].(map[string]any)["requests"] == 3.0
	}, 10*time.Second, 50*time.Millisecond)

	button := func(label string) chromedp.JSPath {
		return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("button")].filter(b => b.textContent.trim() === %q)`, label))
	}
	radio := func(label string) chromedp.JSPath {
		return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("fieldset.period label")].filter(l => l.textContent.trim() === %q).map(l => l.querySelector("input"))`, label))
	}
	legend := `[...document.querySelectorAll("#ch-outcomes-h ~ .legend li")].map(li => li.textContent).join("|")`
	b.do(t,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "boss@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(chromedp.ID("prompt")),
		chromedp.Navigate(e.srv.URL+"/#/admin/analytics"),
		chromedp.WaitVisible(chromedp.CSS(".tiles")),
		chromedp.Click(radio("Today")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".analytics > p.muted")?.textContent.startsWith("Today")`),
	)
	eval := func(js string) string {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		require.NoError(t, err)
		return s
	}
	assert.Equal(t, "Answered: 2|Cancelled: 0|Invalid: 0|Over quota: 0|Failed: 1|Interrupted: 0", eval(legend),
		"today's requests by outcome")
	tile := func(name string) string {
		return eval(fmt.Sprintf(`[...document.querySelectorAll(".tiles div")].find(d => d.querySelector("dt").textContent === %q).querySelector("dd").textContent`, name))
	}
	assert.Equal(t, "3", tile("Requests"))
	// One hit of three lookups: the first request and the failed one missed.
	assert.Equal(t, "33.3%", tile("Cache hit ratio today"))
	assert.Equal(t, "1", tile("Provider calls saved"))
	assert.Equal(t, len(domain.Outcomes), countOf(t, b, "#ch-outcomes-h ~ svg rect title"), "a bar per outcome, its number in its title")
	assert.Equal(t, "Chat: 3 (100%)|Images: 0 (0%)|Transcriptions: 0 (0%)|Speech: 0 (0%)",
		eval(`[...document.querySelectorAll("#ch-kind-h ~ ul.hbars li")].map(li => li.textContent).join("|")`),
		"today's requests by kind, every kind listed")

	b.do(t,
		chromedp.Click(radio("30 days")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#ch-outcomes-h ~ details tbody tr").length === 30`),
	)
	assert.Equal(t, "Answered: 2|Cancelled: 0|Invalid: 0|Over quota: 0|Failed: 1|Interrupted: 0", eval(legend), "the same requests over 30 days")
	b.screenshots(t, "dashboard-analytics")

	// The dark palette passes axe too (contrast).
	dark := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	})
	b.do(t, dark, chromedp.Poll[chromedp.Void](`matchMedia("(prefers-color-scheme: dark)").matches`))
	b.axe(t, "analytics (dark)")
	b.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}},
		})
		return err
	}))

	// Signed out, the status page lists each provider in words.
	b.do(t,
		chromedp.Evaluate[chromedp.Void](`localStorage.clear()`),
		chromedp.Navigate(e.srv.URL+"/#/status"),
		chromedp.Reload(),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".providers .provider").length === 3`),
		chromedp.Click(radio("1 hour")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".provider.s-down").length === 1`),
	)
	assert.Equal(t, "Groq|OpenRouter|Hugging Face", eval(`[...document.querySelectorAll(".provider h2")].map(h => h.textContent).join("|")`))
	assert.Equal(t, "Down", strings.TrimSpace(eval(`document.querySelectorAll(".provider .state")[2].textContent.replace(/^\S+/, "")`)),
		"huggingface's two failed probes, in words beside the symbol")
	assert.Contains(t, eval(`document.querySelector(".provider").textContent`), "100.00%", "groq's uptime")
	assert.Contains(t, eval(`document.querySelector(".provider").textContent`), "Serveschat", "what groq serves (images are off)")
	assert.Equal(t, "Sign in", b.text(t, ".status-page header a"))
	b.screenshots(t, "status")
	assert.Empty(t, b.Problems(), "no console error, exception or CSP violation")
}
