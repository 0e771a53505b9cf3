// Package gateway builds the genzai binary and runs it as a child process,
// as in production: its own process, configured by the environment, logging
// JSON to a file.
package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Build compiles ./cmd/genzai of the module in dir into out, stamped with
// the version "git describe" gives (as the Makefile's build does). Symbols
// are kept so that a CPU profile of the process can name its functions.
func Build(ctx context.Context, dir, out string) error {
	version := "dev"
	if b, err := exec.CommandContext(ctx, "git", "-C", dir, "describe", "--tags", "--always", "--dirty").Output(); err == nil {
		version = strings.TrimSpace(string(b))
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./cmd/genzai")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/genzai: %w\n%s", err, b)
	}
	return nil
}

// Version returns what "bin version" prints.
func Version(ctx context.Context, bin string) string {
	b, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Process is a gateway started as a child process.
type Process struct {
	// URL is the root of its API, such as http://127.0.0.1:40123.
	URL string
	// PID is its process id.
	PID int
	// LogPath is the file its log goes to.
	LogPath string
	// PprofURL is the root of its net/http/pprof listener when PPROF_ADDR
	// was given ("" otherwise), such as http://127.0.0.1:40124.
	PprofURL string

	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
}

// passEnv are the variables of the harness's environment the gateway
// inherits; everything else it is given explicitly, so that a stray
// provider key or .env file cannot change what is measured.
var passEnv = []string{"PATH", "HOME", "TMPDIR", "TZ", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG"}

// Start runs "bin serve --host 127.0.0.1 --port 0" in an empty working
// directory dir with the variables env (NAME=value) on top of passEnv,
// sends its output to logPath and waits until it listens (or timeout).
func Start(ctx context.Context, bin, dir string, env []string, logPath string, timeout time.Duration) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create gateway log: %w", err)
	}
	cmd := exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", "0")
	cmd.Dir = dir
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C to the harness does not reach it
	// directly, so that the harness can stop it gracefully and last.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	p := &Process{PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	addr, err := p.waitListening(ctx, timeout)
	if err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	p.URL = "http://" + addr
	if a := logAddr(logPath, "pprof listening"); a != "" {
		p.PprofURL = "http://" + a
	}
	return p, nil
}

// waitListening polls the log for the "listening" line.
func (p *Process) waitListening(ctx context.Context, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if addr := logAddr(p.LogPath, "listening"); addr != "" {
			return addr, nil
		}
		select {
		case <-p.exited:
			return "", fmt.Errorf("gateway exited before listening (%v); log %s ends:\n%s", p.err, p.LogPath, p.Tail(20))
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("gateway not listening after %v; log %s ends:\n%s", timeout, p.LogPath, p.Tail(20))
		}
	}
}

// logAddr finds the address ("addr") of the gateway's JSON log line whose
// message is msg.
func logAddr(path, msg string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"`+msg+`"`)) {
			continue
		}
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == msg && l.Addr != "" {
			return l.Addr
		}
	}
	return ""
}

// Tail returns the last n lines of the log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for a graceful exit, then SIGKILL after
// timeout. It returns the exit error of an unclean exit.
func (p *Process) Stop(timeout time.Duration) error {
	defer p.log.Close()
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("gateway did not stop within %v: killed", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return fmt.Errorf("gateway exited: %w", p.err)
	}
	return p.err
}

// ModuleRoot finds the genzai module's directory from dir upwards.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module github.com/genzai/genzai\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the genzai repository (no go.mod of github.com/genzai/genzai above the working directory); pass --gateway-bin")
		}
		dir = parent
	}
}
