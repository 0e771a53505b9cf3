package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/api"
)

// TestServeAdminCLI drives the admin and feedback commands of the real
// binary against a real server on PostgreSQL: an admin (an ADMIN_EMAILS
// address, promoted when its owner follows the mailed verification link)
// manages a normal user, who chats, rates an answer and is refused the
// admin commands.
func TestServeAdminCLI(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	v, smtp := withMail(t, serverVars(dbURL).with(vars{
		"ADMIN_EMAILS": "root@example.com", "USER_DAILY_QUOTA": "3", "MOCK_PROVIDER_DELAY_MS": "0",
	}))
	s := startServer(t, "", v)
	root := s.register(t, "root@example.com", "correct horse")
	require.False(t, root.IsAdmin, "registering never makes an admin")
	root = s.verify(t, smtp, 1, "correct horse")
	require.True(t, root.IsAdmin, "ADMIN_EMAILS promotes a verified address")
	ada := s.register(t, "ada@example.com", "battery staple")
	require.False(t, s.verify(t, smtp, 2, "").IsAdmin)
	require.False(t, ada.IsAdmin)
	rootToken := s.login(t, "root@example.com", "correct horse").AccessToken
	adaToken := s.login(t, "ada@example.com", "battery staple").AccessToken

	dir := t.TempDir()
	cli := func(token string, args ...string) (string, string, int) {
		t.Helper()
		return runGenzai(t, dir, vars{"GENZAI_HOST": s.url, "GENZAI_TOKEN": token, "GENZAI_CONFIG": dir + "/config.yaml"}, args...)
	}
	ok := func(token string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(token, args...)
		require.Equal(t, 0, code, "genzai %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
		return out
	}
	quotaLimit := func() int {
		t.Helper()
		r := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(adaToken)...)
		require.Equal(t, http.StatusOK, r.status, "quota: %s", r.body)
		return decode[quotaBody](t, r).Limit
	}

	// The account list.
	out := ok(rootToken, "admin", "users", "list")
	assert.Regexp(t, `^EMAIL\s+ID\s+ADMIN\s+DISABLED\s+USED TODAY\s+DAILY QUOTA\s+LAST LOGIN\n`, out)
	assert.Regexp(t, `(?m)^ada@example\.com\s+`+ada.ID+`\s+no\s+no\s+0\s+3 \(default\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, out)
	assert.Regexp(t, `(?m)^root@example\.com\s+`+root.ID+`\s+yes\s+no\s+`, out)
	assert.Less(t, strings.Index(out, "ada@"), strings.Index(out, "root@"), "ordered by email")
	out = ok(rootToken, "admin", "users", "list", "--limit", "1", "--all", "-o", "json")
	var page api.AdminUserPage
	require.NoError(t, json.Unmarshal([]byte(out), &page), out)
	assert.Len(t, page.Users, 2, "--all follows the server's cursors")

	// A normal user is refused every admin command, with the server's message.
	for _, args := range [][]string{
		{"admin", "users", "list"},
		{"admin", "analytics"},
		{"admin", "requests", "-o", "json"},
		{"admin", "users", "set-quota", ada.ID, "100"},
	} {
		out, errOut, code := cli(adaToken, args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.Regexp(t, `^error: Admin access required \[request [0-9a-f-]{36}\]\n$`, errOut, "%v", args)
	}

	// Chats, and a rating of the last answer.
	var ids []string
	for _, prompt := range []string{"Hello AI!", "Tell me more"} {
		var reply api.ChatReply
		require.NoError(t, json.Unmarshal([]byte(ok(adaToken, "chat", "--no-stream", "-o", "json", prompt)), &reply))
		ids = append(ids, reply.Id)
	}
	out = ok(adaToken, "feedback", ids[1], "up", "--comment", "Clear, thanks")
	assert.Equal(t, "rated "+ids[1]+` up: "Clear, thanks"`+"\n", out)
	_, errOut, code := cli(rootToken, "feedback", ids[0], "down")
	assert.Equal(t, 1, code, "only the asker rates an answer")
	assert.Contains(t, errOut, "error: ")

	// Quota: a limit of the user's own, then the default again.
	out = ok(rootToken, "admin", "users", "set-quota", "ada@example.com", "10")
	assert.Equal(t, "ada@example.com: daily quota 10, 2 used today\n", out)
	assert.Equal(t, 10, quotaLimit(), "the user's limit changed")
	out = ok(adaToken, "quota")
	assert.True(t, strings.HasPrefix(out, "2 of 10 requests used today"), out)
	out = ok(rootToken, "admin", "users", "set-quota", ada.ID, "default", "-o", "json")
	var u api.AdminUser
	require.NoError(t, json.Unmarshal([]byte(out), &u), out)
	assert.Nil(t, u.DailyQuota)
	assert.Equal(t, 3, u.EffectiveQuota)
	assert.Equal(t, 3, quotaLimit())
	_, errOut, code = cli(rootToken, "admin", "users", "set-quota", "nobody@example.com", "10")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "error: no account with the email nobody@example.com")

	// Analytics, once the request log has the chats (it is written in batches).
	var a api.Analytics
	require.Eventually(t, func() bool {
		out, _, code := cli(rootToken, "admin", "analytics", "--days", "1", "-o", "json")
		return code == 0 && json.Unmarshal([]byte(out), &a) == nil && a.Totals.Requests == 2
	}, 15*time.Second, 100*time.Millisecond, "analytics count both chats")
	assert.Equal(t, 1, a.Totals.ActiveUsers)
	assert.Equal(t, api.FeedbackSummary{Up: 1, Down: 0, WithComment: 1}, a.Feedback)
	out = ok(rootToken, "admin", "analytics", "--days", "1")
	for _, want := range []string{
		`(?m)^Last 1 day\(s\), (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d) \(UTC\)$`,
		`(?m)^\d{4}-\d\d-\d\d\s+1\s+2\s+2\.0\s+-\s+0$`,  // the cache off: no hit ratio, no call saved
		`(?m)^\d{4}-\d\d-\d\d\s+2\s+0\s+0\s+0\s+0\s+0$`, // both chats answered
		`(?m)^Totals: 2 request\(s\) from 1 user\(s\)$`,
		`(?m)^  4xx errors \(refused for the caller\)\s+0\s+0\.00%$`,
		`(?m)^  5xx errors \(gateway or providers\)\s+0\s+0\.00%$`,
		`(?m)^ada@example\.com\s+2\s+` + ada.ID + `$`,
		`(?m)^fast\s+mock\s+2\s+0\s+0\.00%$`,
		`(?m)^  successful requests\s+\d+\s+\d+\s+\d+$`,
		`(?m)^Feedback: 1 up, 0 down, 1 with a comment$`,
	} {
		assert.Regexp(t, want, out)
	}

	// The request log, one user's.
	out = ok(rootToken, "admin", "requests", "--user", "ada@example.com")
	assert.Regexp(t, `^TIME \(UTC\)\s+REQUEST ID\s+TIER\s+PROVIDER\s+OUTCOME\s+LATENCY\s+TTFT\s+TOKENS\s+TRIED BEFORE\n`, out, "no user column for one user")
	assert.Regexp(t, `(?m)^\S+ \S+\s+`+ids[1]+`\s+fast\s+mock\s+success\s+\d+ms\s+`, out)
	assert.Less(t, strings.Index(out, ids[1]), strings.Index(out, ids[0]), "newest first")
	out = ok(rootToken, "admin", "requests", "--provider", "mock", "--outcome", "success", "--limit", "1", "-o", "json")
	var log api.RequestLogPage
	require.NoError(t, json.Unmarshal([]byte(out), &log), out)
	require.Len(t, log.Requests, 1)
	assert.Equal(t, ids[1], *log.Requests[0].RequestId)
	assert.NotNil(t, log.NextCursor)

	// A lone admin's promotion waits for a second admin; the operator
	// grants without one, on the user's existing token. Taking it back
	// takes a second admin too (ada agrees to step down).
	pendingID := regexp.MustCompile(`genzai admin confirm ([0-9a-f-]{36})\n$`)
	out = ok(rootToken, "admin", "users", "promote", "ada@example.com")
	require.Regexp(t, pendingID, out, "the pending change and how to confirm it")
	_, _, code = cli(adaToken, "admin", "users", "list")
	assert.Equal(t, 1, code, "not an admin yet")
	out, errOut, code = runGenzai(t, dir, vars{"ENV": "development", "DATABASE_URL": dbURL, "JWT_SECRET": testSecret}, "admin", "grant", "ada@example.com")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Equal(t, "ada@example.com is now an admin\n", out)
	ok(adaToken, "admin", "users", "list")
	out = ok(rootToken, "admin", "users", "demote", "ada@example.com")
	m := pendingID.FindStringSubmatch(out)
	require.NotNil(t, m, "the pending change and how to confirm it: %s", out)
	ok(adaToken, "admin", "users", "list")
	_, errOut, code = cli(rootToken, "admin", "confirm", m[1])
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "a different admin must confirm it")
	assert.Equal(t, "confirmed root@example.com's change to ada@example.com: admin false, disabled false\n", ok(adaToken, "admin", "confirm", m[1]))
	_, _, code = cli(adaToken, "admin", "users", "list")
	assert.Equal(t, 1, code)
	_, errOut, code = cli(rootToken, "admin", "users", "demote", "root@example.com")
	assert.Equal(t, 1, code, "admins cannot demote themselves")
	assert.Regexp(t, `^error: .*demote themselves`, errOut)

	// Disabling refuses the user's existing token at once; enabling does not
	// revive it: the user logs in again.
	assert.Equal(t, "ada@example.com is disabled; its tokens are refused from now on\n", ok(rootToken, "admin", "users", "disable", "ada@example.com"))
	_, errOut, code = cli(adaToken, "quota")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^error: Account is disabled \[request [0-9a-f-]{36}\]\n$`, errOut)
	r := s.do(t, http.MethodPost, "/api/v1/chat", `{"prompt":"Hi","stream":false}`, bearer(adaToken)...)
	assertError(t, r, http.StatusForbidden, "forbidden")
	out = ok(rootToken, "admin", "users", "list", "--query", "ada@")
	assert.Regexp(t, `(?m)^ada@example\.com\s+\S+\s+no\s+yes\s+`, out)
	assert.Equal(t, "ada@example.com is enabled; log in again: older tokens stay refused\n", ok(rootToken, "admin", "users", "enable", ada.ID))
	_, errOut, code = cli(adaToken, "quota")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^error: Invalid authentication token; log in again with: genzai login \[request [0-9a-f-]{36}\]\n$`, errOut)
	adaToken = s.login(t, "ada@example.com", "battery staple").AccessToken
	assert.Regexp(t, regexp.MustCompile(`^2 of 3 requests used today`), ok(adaToken, "quota"))
}
