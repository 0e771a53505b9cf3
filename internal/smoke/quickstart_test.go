// Package smoke runs the README's quick start word for word, the way a
// newcomer would: a fresh clone, the serve command, the curl flow. It is
// slow (it builds the binary from scratch), so it runs only when
// GENZAI_SMOKE=1; .ci/run sets it.
package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README marks the blocks this test runs with these comments, each
// directly before a ```sh block.
const (
	setupMarker = "<!-- quickstart:setup -->"
	tryMarker   = "<!-- quickstart:try -->"
)

// serverAddr is where the README's commands expect the server.
const serverAddr = "localhost:8000"

func TestQuickStart(t *testing.T) {
	if os.Getenv("GENZAI_SMOKE") != "1" {
		t.Skip("set GENZAI_SMOKE=1 to run the README quick start from a fresh clone (.ci/run does)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	setup := codeBlock(t, string(readme), setupMarker)
	try := codeBlock(t, string(readme), tryMarker)

	// The setup block is: clone, install, put the install directory on
	// the PATH, serve, test.
	cmds := commands(setup)
	require.GreaterOrEqual(t, len(cmds), 3, "the quick start is clone, install, serve, test:\n%s", setup)
	clone, testCmd := cmds[0].run, cmds[len(cmds)-1].run
	m := regexp.MustCompile(`^git clone (\S+) && cd (\S+)$`).FindStringSubmatch(clone)
	require.NotNil(t, m, "first command clones and enters the repository: %q", clone)
	var startup []string // what a newcomer runs in the first terminal
	for _, c := range cmds[1 : len(cmds)-1] {
		startup = append(startup, c.run)
	}
	assert.Contains(t, startup, "go install ./cmd/genzai", "the quick start installs the command the rest of the README uses")
	assert.Equal(t, "genzai serve", startup[len(startup)-1], "the installed command serves")
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(ci), "\n"+testCmd+"\n", "CI runs the README's test command")

	// A fresh clone of what is committed; the public URL is unreachable
	// here, so the clone comes from this repository.
	dir := t.TempDir()
	run(t, dir, "git", "clone", "--quiet", root, m[2])
	work := filepath.Join(dir, m[2])
	env := cleanEnv(t, filepath.Join(dir, "gopath"))

	requirePortFree(t, serverAddr)
	srv := startServer(t, work, env, strings.Join(startup, "\n"))

	waitReady(t, srv, "http://"+serverAddr+"/ready", 5*time.Minute)
	assert.Eventually(t, func() bool {
		return strings.Contains(srv.stdout.String(), "/docs")
	}, 10*time.Second, 50*time.Millisecond, "the banner names the docs")
	banner := srv.stdout.String()
	for _, want := range []string{"http://localhost:8000", "http://localhost:8000/docs", "SQLite data/genzai.db", "mock", "curl "} {
		assert.Contains(t, banner, want, "banner")
	}
	assert.FileExists(t, filepath.Join(work, "data", "genzai.db"), "the default store is ./data/genzai.db")

	steps := commands(try)
	require.NotEmpty(t, steps)
	outputs, err := runSession(work, env, steps)
	require.NoError(t, err, "the curl flow runs")
	for i, s := range steps {
		t.Run(fmt.Sprintf("step %d: %s", i+1, firstLine(s.run)), func(t *testing.T) {
			if len(s.want) == 0 {
				return
			}
			if msg := matchOutput(s.want, outputs[i]); msg != "" {
				t.Errorf("the answer does not match the README: %s\nREADME:\n%s\nanswer:\n%s", msg, strings.Join(s.want, "\n"), outputs[i])
			}
		})
	}
	// Every command that prints something has its answer in the README.
	for i, s := range steps {
		if len(s.want) == 0 {
			assert.Empty(t, strings.TrimSpace(outputs[i]), "step %d prints output the README does not show", i+1)
		}
	}

	t.Run("a failed login stops the flow", func(t *testing.T) {
		testFailedLogin(t, work, env, steps)
	})

	srv.stop(t)
	assert.Contains(t, srv.stderr.String(), "stopped", "the server shut down gracefully")
}

// codeBlock returns the body of the ```sh block directly after marker.
func codeBlock(t *testing.T, doc, marker string) string {
	t.Helper()
	i := strings.Index(doc, marker)
	require.GreaterOrEqual(t, i, 0, "README has %s", marker)
	rest := strings.TrimLeft(doc[i+len(marker):], "\n")
	require.True(t, strings.HasPrefix(rest, "```sh\n"), "a ```sh block follows %s", marker)
	rest = rest[len("```sh\n"):]
	end := strings.Index(rest, "\n```")
	require.GreaterOrEqual(t, end, 0, "the block after %s ends", marker)
	return rest[:end+1]
}

// command is one shell command of a README block and the output shown for
// it: the comment lines directly below it.
type command struct {
	run  string
	want []string
}

// commands splits a block into commands: lines continued with a trailing
// backslash are one command, a trailing "# ..." remark is dropped, comment
// lines before a command describe it and comment lines after it are its
// expected output.
func commands(block string) []command {
	var out []command
	var cur strings.Builder
	afterCommand := false
	for line := range strings.SplitSeq(block, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			afterCommand = false
		case strings.HasPrefix(trimmed, "#"):
			if afterCommand && len(out) > 0 {
				out[len(out)-1].want = append(out[len(out)-1].want, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			}
		default:
			if before, ok := strings.CutSuffix(line, "\\"); ok {
				cur.WriteString(before)
				cur.WriteString("\\\n")
				continue
			}
			cur.WriteString(stripRemark(line))
			out = append(out, command{run: strings.TrimSpace(cur.String())})
			cur.Reset()
			afterCommand = true
		}
	}
	return out
}

// stripRemark drops a "  # remark" at the end of a line (outside quotes).
func stripRemark(line string) string {
	quote := rune(0)
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimRight(line[:i], " \t")
		}
	}
	return line
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(strings.TrimSpace(s), "\\")
}

// cleanEnv is a newcomer's environment: a PATH and a home, Go's caches (so
// that the module download and the compilation are not repeated), nothing
// of genzai's. GOPATH is gopath, so that go install writes there and not
// into this machine's GOPATH; a genzai already on the PATH is hidden, so
// that only the one the README installs can answer.
func cleanEnv(t *testing.T, gopath string) []string {
	t.Helper()
	env := []string{"GOPATH=" + gopath}
	for _, k := range []string{"HOME", "TMPDIR", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GONOSUMDB", "GOPRIVATE", "GOSUMDB"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// Let Go's own caches be found when the variables were not set.
	for _, k := range []string{"GOCACHE", "GOMODCACHE"} {
		if _, ok := os.LookupEnv(k); !ok {
			out, err := exec.Command("go", "env", k).Output()
			require.NoError(t, err, "go env %s", k)
			env = append(env, k+"="+strings.TrimSpace(string(out)))
		}
	}
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if info, err := os.Stat(filepath.Join(d, "genzai")); err == nil && !info.IsDir() {
			continue
		}
		path = append(path, d)
	}
	return append(env, "PATH="+strings.Join(path, string(filepath.ListSeparator)))
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

func requirePortFree(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("something already listens on %s: the README's commands need that port", addr)
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type server struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan error
}

// startServer runs the README's first-terminal commands in one shell in
// its own process group, as a terminal would, so that Ctrl-C (SIGINT to
// the group) reaches the server.
func startServer(t *testing.T, dir string, env []string, script string) *server {
	t.Helper()
	s := &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command("bash", "-c", script)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, s.cmd.Start())
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", s.stdout, s.stderr)
		}
	})
	return s
}

// stop sends Ctrl-C and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT))
	select {
	case <-s.done:
		// The exit status is the shell's; the server's own clean exit is
		// its "stopped" line.
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30s of Ctrl-C")
	}
}

func waitReady(t *testing.T, s *server, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("the server exited before it was ready: %v", err)
		default:
		}
		res, err := client.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s", url, within)
}

// runSession runs the commands in one bash session, as a person pasting
// them would (variables carry over), and returns each command's output.
func runSession(dir string, env []string, steps []command) ([]string, error) {
	const sep = "@@genzai-smoke-step@@"
	var script strings.Builder
	script.WriteString("set -u\n")
	for _, s := range steps {
		script.WriteString(s.run)
		fmt.Fprintf(&script, "\nprintf '\\n%s\\n'\n", sep)
	}
	out, stderr, err := runScript(dir, env, script.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr)
	}
	parts := strings.Split(out, "\n"+sep+"\n")
	if len(parts) != len(steps)+1 {
		return nil, fmt.Errorf("want one output per command, got %d:\n%s", len(parts)-1, out)
	}
	return parts[:len(steps)], nil
}

// runScript runs script with bash in dir, as a file (so that a failed
// ${VAR:?} ends it, as it ends a script a person runs).
func runScript(dir string, env []string, script string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	return string(out), errBuf.String(), err
}

// testFailedLogin runs the README's login commands until the server
// refuses a login (429 past AUTH_RATE_LIMIT_PER_MINUTE, 10, logins a
// minute from one address): they must stop there, saying why, rather than
// keep the error answer as the token for the next command to send.
func testFailedLogin(t *testing.T, dir string, env []string, steps []command) {
	var login []string
	for _, s := range steps {
		login = append(login, s.run)
		if strings.Contains(s.run, "${TOKEN:?") {
			break
		}
	}
	require.Contains(t, login[len(login)-1], "${TOKEN:?", "the README's login stops when it gets no token")

	const tries = 30
	script := fmt.Sprintf("set -u\nfor i in $(seq %d); do\n%s\necho \"logged in $i\"\ndone\necho \"the flow went on\"\n", tries, strings.Join(login, "\n"))
	stdout, stderr, err := runScript(dir, env, script)
	require.Error(t, err, "the login commands stop the script when the login fails:\n%s", stdout)
	assert.Contains(t, stdout, "logged in 1\n", "the first logins succeed")
	assert.NotContains(t, stdout, "the flow went on")
	assert.Contains(t, stderr, "TOKEN: login failed", "the shell says the login failed")
	assert.Contains(t, stderr, "error: 429", "curl says why")
	assert.Contains(t, stderr, `"code":"rate_limited"`, "the server's answer is shown")
}

// matchOutput checks an answer against the README's rendering of it. JSON
// is compared by value: "…" stands for any value, "…" inside a string for
// any text, objects may have keys the README leaves out, and an array
// ending in "…" may have more elements. Server-Sent Events are compared as
// an ordered subsequence of lines, "data:" lines by the same JSON rules.
func matchOutput(want []string, got string) string {
	if len(want) == 1 && (strings.HasPrefix(want[0], "{") || strings.HasPrefix(want[0], "[")) {
		var w, g any
		if err := json.Unmarshal([]byte(want[0]), &w); err != nil {
			return fmt.Sprintf("the README's output is not JSON: %v", err)
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(got)), &g); err != nil {
			return fmt.Sprintf("the answer is not JSON: %v", err)
		}
		if msg := matchJSON(w, g, "$"); msg != "" {
			return msg
		}
		return matchKeyOrder(want[0], strings.TrimSpace(got))
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(got))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	i := 0
	for _, w := range want {
		if w == "…" {
			continue
		}
		found := false
		for ; i < len(lines); i++ {
			if lineMatches(w, lines[i]) {
				found, i = true, i+1
				break
			}
		}
		if !found {
			return fmt.Sprintf("no line matches %q (in order)", w)
		}
	}
	return ""
}

func lineMatches(want, got string) bool {
	if want == got {
		return true
	}
	wd, okW := strings.CutPrefix(want, "data: ")
	gd, okG := strings.CutPrefix(got, "data: ")
	if !okW || !okG {
		return false
	}
	var w, g any
	if json.Unmarshal([]byte(wd), &w) != nil || json.Unmarshal([]byte(gd), &g) != nil {
		return false
	}
	return matchJSON(w, g, "$") == "" && matchKeyOrder(wd, gd) == ""
}

// matchKeyOrder returns "" when every object of want lists its keys in the
// order the same object of got has them (the README shows an answer's
// fields in the order the server sends them), else where it differs.
func matchKeyOrder(want, got string) string {
	w, err := keyOrders(want)
	if err != nil {
		return fmt.Sprintf("the README's output is not JSON: %v", err)
	}
	g, err := keyOrders(got)
	if err != nil {
		return fmt.Sprintf("the answer is not JSON: %v", err)
	}
	for path, keys := range w {
		at := -1
		for _, k := range keys {
			i := slices.Index(g[path], k)
			if i < at {
				return fmt.Sprintf("%s: the README lists the keys as %v, the answer sends %v", path, keys, g[path])
			}
			at = i
		}
	}
	return ""
}

// keyOrders returns the keys of each object in a JSON text in the order
// they appear, by path ($, $.models[0], ...).
func keyOrders(text string) (map[string][]string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	out := map[string][]string{}
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				keys = append(keys, key)
				if err := walk(path + "." + key); err != nil {
					return err
				}
			}
			out[path] = keys
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	return out, walk("$")
}

// matchJSON returns "" when got matches want, else where it differs.
func matchJSON(want, got any, path string) string {
	switch w := want.(type) {
	case string:
		if w == "…" {
			return ""
		}
		g, ok := got.(string)
		if !ok {
			return fmt.Sprintf("%s: want a string, got %v", path, got)
		}
		if strings.Contains(w, "…") {
			parts := strings.Split(w, "…")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			if regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(g) {
				return ""
			}
		}
		if w != g {
			return fmt.Sprintf("%s: want %q, got %q", path, w, g)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if msg := matchJSON(wv, gv, path+"."+k); msg != "" {
				return msg
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want an array, got %v", path, got)
		}
		open := len(w) > 0 && w[len(w)-1] == "…"
		if open {
			w = w[:len(w)-1]
		}
		if len(g) < len(w) || !open && len(g) != len(w) {
			return fmt.Sprintf("%s: want %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if msg := matchJSON(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
	default:
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if !bytes.Equal(wb, gb) {
			return fmt.Sprintf("%s: want %s, got %s", path, wb, gb)
		}
	}
	return ""
}
