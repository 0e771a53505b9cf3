package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/api"
)

// TestServeKeysCLI runs `genzai keys` against a real server: a key is
// created and printed once, works as the CLI's credential (GENZAI_TOKEN),
// is listed without the key, and is refused once revoked by prefix.
func TestServeKeysCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", serverVars(pgtest.NewURL(t)).with(vars{"MOCK_PROVIDER_DELAY_MS": "0"}))
	s.register(t, "ada@example.com", "correct horse")
	token := s.login(t, "ada@example.com", "correct horse").AccessToken

	dir := t.TempDir()
	cli := func(credential string, args ...string) (string, string, int) {
		t.Helper()
		return runGenzai(t, dir, vars{"GENZAI_HOST": s.url, "GENZAI_TOKEN": credential, "GENZAI_CONFIG": dir + "/config.yaml"}, args...)
	}
	ok := func(credential string, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := cli(credential, args...)
		require.Equal(t, 0, code, "genzai %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
		return out, errOut
	}

	out, errOut := ok(token, "keys", "create", "laptop")
	key := strings.TrimSpace(out)
	require.Regexp(t, `^gz-[A-Za-z0-9_-]{43}$`, key, "stdout is the key alone, for scripts")
	assert.Contains(t, errOut, `created key "laptop" (`+key[:11])
	assert.Contains(t, errOut, "not shown again")

	out, _ = ok(token, "keys", "create", "ci", "-o", "json")
	var created api.APIKeyCreated
	require.NoError(t, json.Unmarshal([]byte(out), &created), out)
	assert.Equal(t, "ci", created.Name)

	// The key is a credential for the CLI like a token.
	out, _ = ok(key, "quota")
	assert.Contains(t, out, "0 of 50 requests used today")

	// The unmodified OpenAI SDK, pointed at the binary with the key, chats
	// and streams (the mock provider answers).
	oa := openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello binary")}}
	whole, err := oa.Chat.Completions.New(t.Context(), params)
	require.NoError(t, err)
	require.Len(t, whole.Choices, 1)
	assert.NotEmpty(t, whole.Choices[0].Message.Content)
	stream := oa.Chat.Completions.NewStreaming(t.Context(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, whole.Choices[0].Message.Content, acc.Choices[0].Message.Content, "the mock answers alike")
	out, _ = ok(key, "quota")
	assert.Contains(t, out, "2 of 50 requests used today", "the SDK's requests spend the key owner's quota")

	// Keys are managed with the access token: a key cannot list or mint keys.
	_, errOut, code := cli(key, "keys", "list")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "API keys cannot be used here")
	out, _ = ok(token, "keys", "list")
	assert.Regexp(t, `^PREFIX\s+NAME\s+ID\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\n`, out)
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(key[:11])+`\s+laptop\s+[0-9a-f-]{36}\s+chat\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+never$`, out, "used just now")
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(created.Prefix)+`\s+ci\s+`+created.Id.String()+`\s+chat\s+.*never\s+never$`, out)
	assert.NotContains(t, out, key[11:])

	_, errOut, code = cli(key, "keys", "create", "more")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "API keys cannot be used here")

	// Revoked by its prefix: refused from the next request on.
	out, _ = ok(token, "keys", "revoke", key[:11])
	assert.Contains(t, out, "revoked ")
	r := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(key)...)
	assertError(t, r, http.StatusUnauthorized, "unauthorized")
	_, err = oa.Chat.Completions.New(t.Context(), params)
	var ae *openai.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.StatusCode, "the SDK gets a revoked key's 401")
	_, errOut, code = cli(token, "keys", "revoke", key[:11])
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "no API key of yours starts with")
	ok(token, "keys", "revoke", created.Id.String())
	out, _ = ok(token, "keys", "list")
	assert.Equal(t, "no API keys\n", out)

	_, errOut, code = cli(token, "keys", "revoke", "nonsense")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "neither a key id nor a key prefix")
}
