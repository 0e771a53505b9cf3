package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/app"
)

// gateway serves the real app on httptest for the client commands.
func gateway(t *testing.T, vars map[string]string) string {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL": pgtest.NewURL(t), "DATABASE_POOL_SIZE": "1", "DATABASE_POOL_MAX_OVERFLOW": "4",
		"JWT_SECRET": testSecret, "MOCK_PROVIDER_DELAY_MS": "0", "PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"RATE_LIMIT_PER_MINUTE": "100000", "AUTH_RATE_LIMIT_PER_MINUTE": "100000", "USER_DAILY_QUOTA": "2",
		// Development on PostgreSQL must say it wants email-only login.
		"AUTH_ALLOW_EMAIL_LOGIN": "true",
	}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	cheap := argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &cheap})
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv.URL
}

// user is one CLI user: a config file and an environment.
type user struct {
	t      *testing.T
	config string
	env    map[string]string
}

func newUser(t *testing.T, host string) *user {
	config := filepath.Join(t.TempDir(), "genzai", "config.yaml")
	return &user{t: t, config: config, env: map[string]string{"GENZAI_CONFIG": config, "GENZAI_HOST": host}}
}

// run runs the CLI in process and returns stdout, stderr and the exit code.
func (tm *user) run(ctx context.Context, stdin string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	err := run(ctx, args, func(k string) (string, bool) { v, ok := tm.env[k]; return v, ok }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), exitCode(err)
}

func TestCLIAccountFlow(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, nil))
	ctx := context.Background()

	out, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "Ada@Example.com")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "created the account ada@example.com and logged in (token valid for 24h)\n", out)
	info, err := os.Stat(tm.config)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token file is private")

	out, _, code = tm.run(ctx, "", "config", "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, `^host=http://127\.0\.0\.1:\d+  \(from the environment: GENZAI_HOST\)\n`+
		`model=fast  \(default\)\noutput=text  \(default\)\n`+
		`token=eyJh…[A-Za-z0-9_-]{4}  \(from the config file .+config\.yaml\)\n$`, out, "the token is masked")

	out, _, code = tm.run(ctx, "", "quota")
	require.Equal(t, 0, code)
	assert.Regexp(t, `^0 of 2 requests used today, 2 left; resets at \d{4}-\d\d-\d\d 00:00 UTC \(in (\d+h \d+m|\d+m|under a minute)\)\n$`, out)

	out, _, code = tm.run(ctx, "", "quota", "-o", "json")
	require.Equal(t, 0, code)
	var q map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &q))
	assert.Equal(t, float64(2), q["limit"])

	out, _, code = tm.run(ctx, "", "chat", "--model", "smart", "Hello AI!")
	require.Equal(t, 0, code)
	assert.Equal(t, `This is the genzai mock provider (model mock-smart): no API keys are configured, so I echo you. You said: "Hello AI!".`+"\n", out)

	out, _, code = tm.run(ctx, "", "chat", "--no-stream", "-o", "json", "Hi")
	require.Equal(t, 0, code)
	var reply map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &reply))
	assert.Equal(t, "mock", reply["provider"])

	_, errOut, code = tm.run(ctx, "", "chat", "Hi")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^error: Daily quota exceeded \(used 2 of 2\) \[request [0-9a-f-]{36}\]\n$`, errOut)

	out, _, code = tm.run(ctx, "", "models")
	require.Equal(t, 0, code)
	assert.Equal(t, ""+
		"MODEL     NAME         PROVIDER  AVAILABLE  DESCRIPTION\n"+
		"fast      Fast ⚡      mock      true       Quick responses, good for simple queries\n"+
		"balanced  Balanced ⚖️  mock      true       Good balance of speed and quality\n"+
		"smart     Smart 🧠     mock      true       Best quality for complex reasoning\n"+
		"\n"+
		"images: off (the operator turns it on with ENABLE_IMAGE_GENERATION=true and keys for IMAGE_PROVIDERS)\n"+
		"voice: off (the operator turns it on with ENABLE_VOICE=true and keys for VOICE_PROVIDERS)\n", out, "columns line up on a terminal")

	out, _, code = tm.run(ctx, "", "status")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^groq\s+unconfigured\s+-\s+never\s+-$`, out, "plain text when not a terminal")
}

// TestCLIModelsImagesAndVoice: with images and voice on, genzai models
// says so after the tiers: cost, providers in fallback order, and voice's
// voices and limits.
func TestCLIModelsImagesAndVoice(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	host := gateway(t, map[string]string{
		"ENABLE_IMAGE_GENERATION": "true", "IMAGE_QUOTA_COST": "3", "ENABLE_VOICE": "true",
		"MAX_AUDIO_BYTES": "1048576", "MAX_SPEECH_CHARS": "300", "GROQ_SPEECH_VOICES": "Arista-PlayAI,Fritz-PlayAI",
		"GROQ_API_KEYS": "gsk-a", "GROQ_BASE_URL": up.URL(),
		"OPENROUTER_API_KEYS": "sk-or-a", "OPENROUTER_BASE_URL": up.URL(),
		"HUGGINGFACE_API_KEY": "hf_a", "HUGGINGFACE_BASE_URL": up.URL(), "HUGGINGFACE_INFERENCE_URL": up.URL(),
	})
	tm := newUser(t, host)
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)

	out, errOut, code := tm.run(ctx, "", "models")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasSuffix(out, "\n"+
		"images: on, 3 units a request, providers huggingface, openrouter\n"+
		"voice: on, 1 unit a request, providers groq; voices Fritz-PlayAI, Arista-PlayAI (the first is the default); "+
		"uploads up to 1.0 MiB (1048576 bytes), speech up to 300 characters\n"), out)
}

func TestCLIHealth(t *testing.T) {
	t.Parallel()
	tm := newUser(t, gateway(t, nil))
	out, errOut, code := tm.run(context.Background(), "", "health", "--detailed")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "GenZ AI Backend: healthy (version ")
	assert.Contains(t, out, "ready (development)\n  database  ok\n")
	assert.Contains(t, out, "PROVIDER")

	down := newUser(t, "http://127.0.0.1:1")
	_, errOut, code = down.run(context.Background(), "", "health")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: no server answers at http://127.0.0.1:1 (connection refused); start one with: genzai serve, "+
		"or check the host (genzai config get host shows which is used and why)\n", errOut)

	unknown := newUser(t, "http://genzai.invalid")
	_, errOut, code = unknown.run(context.Background(), "", "health")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "error: cannot reach http://genzai.invalid (")
	assert.Contains(t, errOut, "set the server with: genzai config set host URL", "a host that does not resolve is the host's fault")
}

func TestCLIErrorsAndExitCodes(t *testing.T) {
	t.Parallel()
	host := gateway(t, nil)
	tm := newUser(t, host)
	ctx := context.Background()
	_, errOut, code := tm.run(ctx, "", "quota")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^error: Missing bearer token; log in with: genzai login \[request .+\]\n$`, errOut, "never logged in")

	tm.env["GENZAI_TOKEN"] = "not-a-token"
	_, errOut, _ = tm.run(ctx, "", "quota")
	assert.Contains(t, errOut, "Invalid authentication token; log in again with: genzai login")

	for _, args := range [][]string{{"quota", "--bogus"}, {"chat", "two", "messages"}, {"config", "get", "nope"}, {"config", "set", "model", "turbo"}, {"quota", "-o", "yaml"}} {
		_, _, code := tm.run(ctx, "", args...)
		assert.Equal(t, 2, code, "%v is a usage error", args)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	tm := newUser(t, srv.URL)
	for _, tc := range []struct {
		args  []string
		stdin string
		msg   string
		usage string
	}{
		{args: []string{"bogus"}, msg: `unknown command "bogus" for "genzai"`, usage: "genzai COMMAND [flags]"},
		{args: []string{"confg"}, msg: `unknown command "confg" for "genzai" (did you mean config?)`, usage: "genzai COMMAND [flags]"},
		{args: []string{"config", "bogus"}, msg: `unknown command "bogus" for "genzai config"`, usage: "genzai config COMMAND [flags]"},
		{args: []string{"keys", "bogus"}, msg: `unknown command "bogus" for "genzai keys"`, usage: "genzai keys COMMAND [flags]"},
		{args: []string{"quota", "--bogus"}, msg: "unknown flag: --bogus", usage: "genzai quota [flags]"},
		{args: []string{"quota", "extra"}, msg: "genzai quota takes 0 argument(s), got 1", usage: "genzai quota [flags]"},
		{args: []string{"migrate", "up", "extra"}, msg: `unknown command "extra" for "genzai migrate up"`, usage: "genzai migrate up [flags]"},
		{args: []string{"chat", "two", "messages"}, msg: "chat takes one message (quote it), or none for a session", usage: "genzai chat MESSAGE [flags]"},
		{args: []string{"login"}, msg: "--email is required when standard input is not a terminal", usage: "genzai login [flags]"},
		{args: []string{"register"}, stdin: "ada@example.com\nsecret\n", msg: "--email is required when standard input is not a terminal", usage: "genzai register [flags]"},
	} {
		out, errOut, code := tm.run(context.Background(), tc.stdin, tc.args...)
		assert.Equal(t, 2, code, "%v is a usage error", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.Regexp(t, `^`+regexp.QuoteMeta("error: "+tc.msg+"\nusage: "+tc.usage+"\n")+`run 'genzai[a-z ]* --help' for more\n$`, errOut, "%v", tc.args)
	}
	assert.Zero(t, requests.Load(), "a usage error sends nothing")

	for _, args := range [][]string{{}, {"config"}} {
		out, errOut, code := tm.run(context.Background(), "", args...)
		assert.Equal(t, 0, code, "%v alone prints its help: %s", args, errOut)
		assert.Contains(t, out, "Available Commands:")
	}
}

func TestCLIMissingRequiredFlagIsAUsageError(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	root := newRootCmd(func(string) (string, bool) { return "", false }, strings.NewReader(""), io.Discard, &errOut)
	ran := false
	needy := &cobra.Command{Use: "needy", RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
	needy.Flags().String("name", "", "")
	require.NoError(t, needy.MarkFlagRequired("name"))
	root.AddCommand(needy)
	root.SetArgs([]string{"needy"})
	_, err := root.ExecuteC()
	assert.Equal(t, 2, exitCode(err), "%v", err)
	assert.False(t, ran)
}

func TestCLIConfigPrecedence(t *testing.T) {
	t.Parallel()
	tm := newUser(t, "")
	delete(tm.env, "GENZAI_HOST")
	ctx := context.Background()
	hostOf := func(args ...string) string {
		_, errOut, _ := tm.run(ctx, "", append([]string{"health"}, args...)...)
		start := strings.Index(errOut, "no server answers at ")
		require.GreaterOrEqual(t, start, 0, errOut)
		return strings.Fields(errOut[start+len("no server answers at "):])[0]
	}
	assert.Equal(t, defaultHost, hostOf(), "default")
	_, _, code := tm.run(ctx, "", "config", "set", "host", "http://127.0.0.1:2/")
	require.Equal(t, 0, code)
	assert.Equal(t, "http://127.0.0.1:2", hostOf(), "config file")
	tm.env["GENZAI_HOST"] = "http://127.0.0.1:3"
	assert.Equal(t, "http://127.0.0.1:3", hostOf(), "environment over file")
	assert.Equal(t, "http://127.0.0.1:4", hostOf("--host", "http://127.0.0.1:4"), "flag over environment")

	get := func(key string) (string, string) {
		out, errOut, code := tm.run(ctx, "", "config", "get", key)
		require.Equal(t, 0, code, errOut)
		return out, errOut
	}
	out, errOut := get("host")
	assert.Equal(t, "http://127.0.0.1:3\n", out, "the host the commands use")
	assert.Equal(t, "(from the environment: GENZAI_HOST, over http://127.0.0.1:2 in the config file)\n", errOut)
	delete(tm.env, "GENZAI_HOST")
	out, errOut = get("host")
	assert.Equal(t, "http://127.0.0.1:2\n", out)
	assert.Equal(t, "(from the config file "+tm.config+")\n", errOut)
	_, _, code = tm.run(ctx, "", "config", "unset", "host")
	require.Equal(t, 0, code)
	out, errOut = get("host")
	assert.Equal(t, defaultHost+"\n", out, "unset: the default, not an empty line")
	assert.Equal(t, "(default; change it with: genzai config set host URL)\n", errOut)
	out, errOut = get("token")
	assert.Equal(t, "\n", out)
	assert.Equal(t, "(not set; log in with: genzai login)\n", errOut)
	out, _ = get("model")
	assert.Equal(t, "fast\n", out)
}

func TestCLIChatStreamsAndStops(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	host := gateway(t, map[string]string{"GROQ_BASE_URL": up.URL(), "GROQ_API_KEYS": "k1", "PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30"})
	tm := newUser(t, host)
	_, errOut, code := tm.run(context.Background(), "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)

	up.Default(fakeupstream.HangAfterTokens(1).WithTokens("first "))
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		err := run(ctx, []string{"chat", "Hi"}, func(k string) (string, bool) { v, ok := tm.env[k]; return v, ok }, strings.NewReader(""), pw, io.Discard)
		_ = pw.Close()
		done <- exitCode(err)
	}()
	buf := make([]byte, len("first "))
	_, err := io.ReadFull(pr, buf)
	require.NoError(t, err)
	assert.Equal(t, "first ", string(buf), "tokens are printed as they arrive")
	cancel() // Ctrl-C
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	select {
	case code := <-done:
		assert.Equal(t, 1, code)
	case <-time.After(10 * time.Second):
		t.Fatal("chat did not stop")
	}
	up.WaitCancelled(t, 1, 10*time.Second)
}

func TestCLIChatWebSearchOutcome(t *testing.T) {
	t.Parallel()
	results, err := os.ReadFile("../../adapters/duckduckgo/testdata/results.html")
	require.NoError(t, err)
	ddg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(results) }))
	t.Cleanup(ddg.Close)
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		outcome string
		line    string
	}{
		{"used", map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL, "DUCKDUCKGO_LITE_URL": ddg.URL}, "used", `^web search: used, [1-9]\d* sources\n$`},
		{"unavailable", map[string]string{"DUCKDUCKGO_BASE_URL": "http://127.0.0.1:1/", "DUCKDUCKGO_LITE_URL": "http://127.0.0.1:1/"},
			"unavailable", `^web search: unavailable(; \w+: [^;]+)* \(answered without sources\)\n$`},
		{"disabled", map[string]string{"ENABLE_WEB_SEARCH": "false"}, "disabled", `^web search: disabled on this server \(answered without sources\)\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"USER_DAILY_QUOTA": "10"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			tm := newUser(t, gateway(t, vars))
			ctx := context.Background()
			_, errOut, code := tm.run(ctx, "correct horse\n", "register", "--email", "ada@example.com")
			require.Equal(t, 0, code, errOut)
			for _, mode := range [][]string{{}, {"--no-stream"}} {
				out, errOut, code := tm.run(ctx, "", append(append([]string{"chat", "--web-search"}, mode...), "Hi")...)
				require.Equal(t, 0, code, errOut)
				assert.Regexp(t, tc.line, errOut, "%v: the outcome is on stderr", mode)
				assert.Contains(t, out, "You said:", "%v: the answer is on stdout", mode)
			}
			out, errOut, code := tm.run(ctx, "", "chat", "--web-search", "-o", "json", "Hi")
			require.Equal(t, 0, code, errOut)
			var reply map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &reply))
			assert.Equal(t, tc.outcome, reply["web_search"], "the JSON keeps the field")
			assert.Empty(t, errOut)

			_, errOut, code = tm.run(ctx, "", "chat", "Hi")
			require.Equal(t, 0, code, errOut)
			assert.Empty(t, errOut, "no search asked, nothing said")
		})
	}
}

func TestCLIChatSession(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	host := gateway(t, map[string]string{"GROQ_BASE_URL": up.URL(), "GROQ_API_KEYS": "k1", "OPENROUTER_BASE_URL": up.URL(), "OPENROUTER_API_KEYS": "k2", "USER_DAILY_QUOTA": "10"})
	tm := newUser(t, host)
	_, errOut, code := tm.run(context.Background(), "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	up.Script("k1", fakeupstream.OK("Hi", " Ada."), fakeupstream.OK("You", " said", " hello."))
	up.Script("k2", fakeupstream.OK("Smart", " answer."))

	out, errOut, code := tm.run(context.Background(), "hello\nwhat did I say?\n/model turbo\n/model smart\nthird\n/clear\n/bogus\nfourth\n/exit\nnever sent\n", "chat")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Hi Ada.\nYou said hello.\nSmart answer.\nSmart answer.\n", out)
	assert.Contains(t, errOut, "usage: /model fast|balanced|smart")
	assert.Contains(t, errOut, "(conversation cleared)")
	assert.Contains(t, errOut, "unknown command")

	reqs := up.Requests()
	require.Len(t, reqs, 4, "/exit ends the session")
	assert.Len(t, reqs[0].Messages, 1)
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "hello"}, {Role: "assistant", Content: "Hi Ada."}, {Role: "user", Content: "what did I say?"}}, reqs[1].Messages, "the history goes along")
	assert.Equal(t, "k2", reqs[2].Key, "/model smart goes to openrouter first")
	assert.Len(t, reqs[2].Messages, 5)
	assert.Len(t, reqs[3].Messages, 1, "/clear forgot the conversation")
}

func TestCLISessionInterruptStopsOnlyTheAnswer(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	host := gateway(t, map[string]string{"GROQ_BASE_URL": up.URL(), "GROQ_API_KEYS": "k1", "PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "USER_DAILY_QUOTA": "10"})
	tm := newUser(t, host)
	_, errOut, code := tm.run(context.Background(), "correct horse\n", "register", "--email", "ada@example.com")
	require.Equal(t, 0, code, errOut)
	up.Script("k1", fakeupstream.HangAfterTokens(1).WithTokens("partial"), fakeupstream.OK("second", " answer"))

	var out, errBuf bytes.Buffer
	c := newCLI(func(k string) (string, bool) { v, ok := tm.env[k]; return v, ok }, strings.NewReader("first\nsecond\n"), &out, &errBuf)
	interrupts := 0
	c.onInterrupt = func(stop func()) func() {
		interrupts++
		if interrupts == 1 { // Ctrl-C during the first answer, once it started
			go func() {
				up.WaitRequests(t, 1, 10*time.Second)
				time.Sleep(200 * time.Millisecond)
				stop()
			}()
		}
		return func() {}
	}
	root := c.rootCmd()
	root.SetArgs([]string{"chat"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	assert.Contains(t, out.String(), "second answer\n", "the session went on after the interrupt")
	up.WaitCancelled(t, 1, 10*time.Second)
}

func TestCLIDoctor(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	up.Script("gk-good", fakeupstream.Models("llama-3.1-8b-instant", "llama-3.3-70b-versatile"))
	up.Script("gk-bad", fakeupstream.Unauthorized())
	tm := newUser(t, "")
	for k, v := range map[string]string{
		"DATABASE_URL": pgtest.NewEmptyURL(t) + "&password=hunter2", "JWT_SECRET": testSecret,
		"GROQ_BASE_URL": up.URL(), "GROQ_API_KEYS": "gk-good,gk-bad", "AUTH_ALLOW_EMAIL_LOGIN": "true",
		"ENABLE_VOICE": "true", "ENABLE_IMAGE_GENERATION": "true",
	} {
		tm.env[k] = v
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		tm.env["REDIS_URL"] = u
	}
	envFile := filepath.Join(t.TempDir(), "empty.env") // no stray .env is read
	require.NoError(t, os.WriteFile(envFile, nil, 0o600))
	out, _, code := tm.run(context.Background(), "", "doctor", "--env-file", envFile)
	assert.Equal(t, 1, code, "a rejected key fails the check:\n%s", out)
	assert.Regexp(t, `(?m)^ok   configuration .*env=development database=postgres://\S+/genzai_e_\w+\?password=xxxxx\S* keys: groq=2 openrouter=0 huggingface=0$`, out)
	assert.Regexp(t, `(?m)^warn database\s+the database at postgres://\S+/genzai_e_\w+\?password=xxxxx\S* is empty \(no migrations applied, \d+ pending\); `+
		`if the gateway's data is elsewhere, point DATABASE_URL at the gateway's database$`, out)
	assert.Regexp(t, `(?m)^ok   groq key 0\s+valid, 2 models \(\d+ ms\)$`, out)
	assert.Regexp(t, `(?m)^FAIL groq key 1\s+key_rejected \(status 401\)$`, out)
	assert.Regexp(t, `(?m)^ok   openrouter\s+no keys: skipped in every chain$`, out)
	// Risky settings warn without failing the check.
	assert.Regexp(t, `(?m)^warn risky setting\s+ENV is development `, out)
	assert.Regexp(t, `(?m)^warn risky setting\s+AUTH_ALLOW_EMAIL_LOGIN is on`, out)
	assert.Regexp(t, `(?m)^warn risky setting\s+METRICS_TOKEN is not set`, out)
	// So does a feature turned on that no provider with keys serves; voice
	// has Groq's.
	assert.Regexp(t, `(?m)^warn feature\s+ENABLE_IMAGE_GENERATION=true but no provider of IMAGE_PROVIDERS has API keys`, out)
	assert.NotContains(t, out, "ENABLE_VOICE")
	assert.NotContains(t, out, "hunter2")
	assert.NotContains(t, out, "gk-good")
	for _, r := range up.Requests() {
		assert.Equal(t, "/models", r.Path, "probes cost no tokens")
	}
}

func TestCLIDoctorNeverCreatesADatabase(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "empty.env")
	require.NoError(t, os.WriteFile(envFile, nil, 0o600))
	doctor := func(dbURL string) (string, int) {
		tm := newUser(t, "")
		tm.env["DATABASE_URL"] = dbURL
		tm.env["AUTH_ALLOW_EMAIL_LOGIN"] = "true" // development on PostgreSQL must say so
		out, errOut, code := tm.run(context.Background(), "", "doctor", "--env-file", envFile)
		assert.Empty(t, errOut)
		return out, code
	}
	dir := filepath.Join(t.TempDir(), "elsewhere", "data")
	file := filepath.Join(dir, "genzai.db")
	out, code := doctor("sqlite://" + file)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "warn database               no database at "+file+": serve would create an empty one there; "+
		"if the gateway's data is elsewhere, run doctor where serve runs (a relative path is relative to it), or set DATABASE_URL=sqlite:///path/to/genzai.db\n")
	assert.NoDirExists(t, dir, "doctor creates nothing")

	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	out, code = doctor("sqlite://" + file)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^warn database\s+the database at `+regexp.QuoteMeta(file)+` is empty \(no migrations applied, \d+ pending\); if the gateway's data is elsewhere`, out)
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Zero(t, info.Size(), "doctor wrote nothing into it")

	tm := newUser(t, "")
	tm.env["DATABASE_URL"] = "sqlite://" + file
	_, errOut, code := tm.run(context.Background(), "", "migrate", "up", "--env-file", envFile)
	require.Equal(t, 0, code, errOut)
	out, code = doctor("sqlite://" + file)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^ok   database\s+`+regexp.QuoteMeta(file)+`: \d+ migrations applied; SQLite: one instance only$`, out)

	missing := strings.Replace(pgtest.NewEmptyURL(t), "/genzai_e_", "/genzai_missing_", 1)
	for range 2 {
		out, code = doctor(missing)
		assert.Equal(t, 0, code, out)
		assert.Regexp(t, `(?m)^warn database\s+no database at postgres://\S+/genzai_missing_\w+\S*: serve would create an empty one there; `+
			`if the gateway's data is elsewhere, point DATABASE_URL at the gateway's database$`, out, "and it is still missing the second time")
	}
}

// TestCLIDoctorConnectionBudget warns, without failing, when the
// instances' pools can take more connections than the server has.
func TestCLIDoctorConnectionBudget(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "empty.env")
	require.NoError(t, os.WriteFile(envFile, nil, 0o600))
	tm := newUser(t, "")
	tm.env["DATABASE_URL"] = pgtest.NewURL(t)
	tm.env["AUTH_ALLOW_EMAIL_LOGIN"] = "true"
	tm.env["DATABASE_INSTANCES"] = "50"
	out, errOut, code := tm.run(context.Background(), "", "doctor", "--env-file", envFile)
	assert.Empty(t, errOut)
	assert.Equal(t, 0, code, "a warning does not fail the check:\n%s", out)
	assert.Regexp(t, `(?m)^warn connections\s+50 instance\(s\) \(DATABASE_INSTANCES 50, 0 connected now\) × \(pool 20 \+ overflow 40\) = 3000 connections; `+
		`the server has -?\d+ for them \(max_connections \d+ − \d+ reserved − \d+ held by other clients − 5 headroom\); `+
		`.*raise max_connections to at least \d+$`, out)
}
