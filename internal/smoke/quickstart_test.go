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

	// The setup block is exactly: clone, serve, test.
	cmds := commands(setup)
	require.Len(t, cmds, 3, "the quick start is clone, serve, test:\n%s", setup)
	clone, serveCmd, testCmd := cmds[0].run, cmds[1].run, cmds[2].run
	m := regexp.MustCompile(`^git clone (\S+) && cd (\S+)$`).FindStringSubmatch(clone)
	require.NotNil(t, m, "first command clones and enters the repository: %q", clone)
	assert.Equal(t, "go run ./cmd/genzai serve", serveCmd)
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(ci), "\n"+testCmd+"\n", "CI runs the README's test command")

	// A fresh clone of what is committed; the public URL is unreachable
	// here, so the clone comes from this repository.
	dir := t.TempDir()
	run(t, dir, "git", "clone", "--quiet", root, m[2])
	work := filepath.Join(dir, m[2])

	requirePortFree(t, serverAddr)
	srv := startServer(t, work, serveCmd)

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
	outputs := runSession(t, work, steps)
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
// that the module download is not repeated), nothing of genzai's.
func cleanEnv() []string {
	env := []string{}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GONOSUMDB", "GOPRIVATE", "GOSUMDB"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// Let Go's own caches be found when the variables were not set.
	for _, k := range []string{"GOCACHE", "GOMODCACHE"} {
		if _, ok := os.LookupEnv(k); !ok {
			if out, err := exec.Command("go", "env", k).Output(); err == nil {
				env = append(env, k+"="+strings.TrimSpace(string(out)))
			}
		}
	}
	return env
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

// startServer runs the README's serve command in its own process group, as
// a terminal would, so that Ctrl-C (SIGINT to the group) reaches the server
// that go run starts.
func startServer(t *testing.T, dir, line string) *server {
	t.Helper()
	s := &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command("bash", "-c", line)
	s.cmd.Dir = dir
	s.cmd.Env = cleanEnv()
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
		// The exit status is go run's, which reports the interrupt it saw
		// itself; the server's own clean exit is its "stopped" line.
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
func runSession(t *testing.T, dir string, steps []command) []string {
	t.Helper()
	const sep = "@@genzai-smoke-step@@"
	var script strings.Builder
	script.WriteString("set -u\n")
	for _, s := range steps {
		script.WriteString(s.run)
		fmt.Fprintf(&script, "\nprintf '\\n%s\\n'\n", sep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "the curl flow runs: %s", stderr.String())
	parts := strings.Split(string(out), "\n"+sep+"\n")
	require.Len(t, parts, len(steps)+1, "one output per command:\n%s", out)
	return parts[:len(steps)]
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
		return matchJSON(w, g, "$")
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
	return matchJSON(w, g, "$") == ""
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
