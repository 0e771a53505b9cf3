package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/smtpmail/smtptest"
)

// mailEnv is a gateway that sends its mail to an SMTP server of the test.
type mailEnv struct {
	*env
	smtp *smtptest.Server
}

func newMailEnv(t *testing.T, vars map[string]string) mailEnv {
	t.Helper()
	smtp := smtptest.Start(t)
	base := map[string]string{
		"SMTP_URL":               smtp.URL("genzai:mail-password"),
		"SMTP_FROM":              "noreply@example.com",
		"PUBLIC_URL":             "https://chat.example.com/",
		"MOCK_PROVIDER_DELAY_MS": "0",
	}
	for k, v := range vars {
		base[k] = v
	}
	return mailEnv{env: newEnv(t, base), smtp: smtp}
}

// verify follows the verification link of the n-th mail (1-based).
func (m mailEnv) verify(n int) response {
	m.t.Helper()
	msg := m.smtp.WaitFor(m.t, n)[n-1]
	return m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": msg.Token(m.t, "/verify-email")}, nil)
}

// verifyWithPassword follows the n-th mail's link choosing the account's
// password, as the owner of an ADMIN_EMAILS address must.
func (m mailEnv) verifyWithPassword(n int, password string) response {
	m.t.Helper()
	msg := m.smtp.WaitFor(m.t, n)[n-1]
	return m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": msg.Token(m.t, "/verify-email"), "new_password": password}, nil)
}

// TestAttackAdminEmailSquatting performs the squatting attack of issue 19:
// in production with ADMIN_EMAILS=ops@example.com, an attacker registers
// OPS@example.com first. The account must not be an admin, on either store,
// whether or not the server sends mail; the real owner, who proves the
// address, is the one promoted.
func TestAttackAdminEmailSquatting(t *testing.T) {
	t.Parallel()
	for _, st := range stores {
		t.Run(st.engine, func(t *testing.T) {
			t.Parallel()
			t.Run("without SMTP", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, map[string]string{"ENV": "production", "DATABASE_URL": st.url(t), "ADMIN_EMAILS": "ops@example.com"})
				assert.Contains(t, e.logs.String(), "ADMIN_EMAILS promotes nobody", "start-up says the list is inert")
				assert.Contains(t, e.logs.String(), "genzai admin grant EMAIL")

				res := e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "OPS@example.com", "password": "attacker-pass"}, nil)
				require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
				assert.Equal(t, false, res.json(t)["is_admin"])
				token := e.login("ops@example.com", "attacker-pass")
				assertErrorAnswer(t, e.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token)), http.StatusForbidden, "forbidden", "Admin access required")
				// Logging in again does not promote either.
				token = e.login("OPS@example.com", "attacker-pass")
				assertErrorAnswer(t, e.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token)), http.StatusForbidden, "forbidden", "Admin access required")
			})
			t.Run("with SMTP", func(t *testing.T) {
				t.Parallel()
				m := newMailEnv(t, map[string]string{"ENV": "production", "DATABASE_URL": st.url(t), "ADMIN_EMAILS": "ops@example.com"})
				res := m.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "OPS@example.com", "password": "attacker-pass"}, nil)
				require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
				assert.Equal(t, false, res.json(t)["is_admin"])
				token := m.login("ops@example.com", "attacker-pass")
				assertErrorAnswer(t, m.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token)), http.StatusForbidden, "forbidden", "Admin access required")
				// The attacker cannot verify: the link went to the real owner's
				// mailbox. A forged token is refused.
				res = m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": "b3BzQGV4YW1wbGUuY29tLjk5OTk5OTk5OTk.AAAA"}, nil)
				assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", "")
				assertErrorAnswer(t, m.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token)), http.StatusForbidden, "forbidden", "Admin access required")

				// The owner of the mailbox follows the link. Confirming alone
				// would make the attacker's account (and password) admin: the
				// link takes the owner's own password, which revokes the
				// attacker's, and only then promotes.
				msg := m.smtp.WaitFor(t, 1)[0]
				assert.Equal(t, []string{"ops@example.com"}, msg.To)
				res = m.verify(1)
				assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", "")
				assert.Contains(t, res.json(t)["error"], "new_password: is required")
				assertErrorAnswer(t, m.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token)), http.StatusForbidden, "forbidden", "Admin access required")
				res = m.verifyWithPassword(1, "the owner's password")
				require.Equal(t, http.StatusOK, res.status, "%s", res.body)
				assert.Equal(t, true, res.json(t)["is_admin"])
				assert.Equal(t, true, res.json(t)["email_verified"])
				res = m.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(token))
				assert.Equal(t, http.StatusUnauthorized, res.status, "the attacker's token died: %s", res.body)
				res = m.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ops@example.com", "password": "attacker-pass"}, nil)
				assert.Equal(t, http.StatusUnauthorized, res.status, "the attacker's password is gone: %s", res.body)
				m.clock.Advance(time.Millisecond) // the test's clock stands still; a real one moves on
				owner := m.login("ops@example.com", "the owner's password")
				res = m.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(owner))
				assert.Equal(t, http.StatusOK, res.status, "%s", res.body)
			})
		})
	}
}

// TestAttackAddressVariants performs the quota-multiplying attack: carol@,
// carol+1@, carol@exämple.com and carol@xn--exmple-cua.com must be one
// account, and every spelling logs into it.
func TestAttackAddressVariants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.register("carol@exämple.com", pw)
	for _, variant := range []string{"carol@xn--exmple-cua.com", "carol+1@exämple.com", "CAROL+free@XN--EXMPLE-CUA.COM", "carol@EXÄMPLE.com"} {
		res := e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": variant, "password": pw}, nil)
		assertErrorAnswer(t, res, http.StatusConflict, "conflict", "An account with this email already exists")
	}
	e.register("dave+news@example.com", pw)
	assertErrorAnswer(t, e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "dave@example.com", "password": pw}, nil),
		http.StatusConflict, "conflict", "")
	assertErrorAnswer(t, e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "carol@xn--a.com", "password": pw}, nil),
		http.StatusBadRequest, "invalid_request", "email: the domain is not a valid internationalised domain name")

	// One account: every spelling logs into it, and they share one quota.
	for _, variant := range []string{"carol@xn--exmple-cua.com", "carol+1@exämple.com"} {
		token := e.login(variant, pw)
		res := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
		require.Equal(t, http.StatusOK, res.status)
	}
	res := e.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(e.login(e.registerAdminEmail(), pw)))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var carols []string
	for _, u := range res.json(t)["users"].([]any) {
		u := u.(map[string]any)
		if strings.HasPrefix(u["email"].(string), "carol") {
			carols = append(carols, u["email"].(string))
			assert.Equal(t, id, u["id"])
		}
	}
	assert.Equal(t, []string{"carol@xn--exmple-cua.com"}, carols, "one account, stored in ASCII")
}

// registerAdminEmail makes an admin for reading the user list.
func (e *env) registerAdminEmail() string {
	e.t.Helper()
	e.registerAdmin("root@example.com", pw)
	return "root@example.com"
}

// TestEmailVerification walks registration, the 403 before verification
// on both chat APIs, web search and key creation, the mailed link (over SMTP), and the
// refusals of tampered, expired and foreign links.
func TestEmailVerification(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, map[string]string{"EMAIL_TOKEN_TTL": "1h", "EMAIL_RATE_LIMIT_PER_HOUR": "2"})
	res := m.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": "Ada@example.com", "password": pw}, nil)
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	assert.Equal(t, false, res.json(t)["email_verified"])
	token := m.login("ada@example.com", pw)

	msg := m.smtp.WaitFor(t, 1)[0]
	assert.Equal(t, "noreply@example.com", msg.From)
	assert.Equal(t, []string{"ada@example.com"}, msg.To)
	assert.Equal(t, "genzai:mail-password", msg.Auth, "the SMTP_URL's credentials")
	assert.Equal(t, "Confirm your email address", msg.Header.Get("Subject"))
	assert.Contains(t, msg.Body, "https://chat.example.com/verify-email?token=")

	// Until verified: no chat on either API, no API key.
	const unverified = "Confirm your email address first: follow the link we mailed you, or ask for a new one with POST /api/v1/auth/verify/resend"
	chat := map[string]any{"prompt": "Hello", "model": "smart", "stream": false}
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/chat", chat, bearer(token)), http.StatusForbidden, "email_unverified", unverified)
	streamed := map[string]any{"prompt": "Hello", "model": "smart", "stream": true}
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/chat", streamed, bearer(token)), http.StatusForbidden, "email_unverified", unverified)
	oa := m.do(http.MethodPost, "/v1/chat/completions", map[string]any{"model": "smart", "messages": []any{map[string]any{"role": "user", "content": "Hello"}}}, bearer(token))
	require.Equal(t, http.StatusForbidden, oa.status, "%s", oa.body)
	assert.Equal(t, "email_unverified", oa.json(t)["error"].(map[string]any)["code"])
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "laptop"}, bearer(token)), http.StatusForbidden, "email_unverified", unverified)
	assertErrorAnswer(t, m.do(http.MethodGet, "/api/v1/web-search?q=go", nil, bearer(token)), http.StatusForbidden, "email_unverified", unverified)
	// Nothing was counted against the quota.
	assert.Equal(t, float64(0), m.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)["used"])

	// A resend, within the mail budget; the third in the hour is refused.
	require.Equal(t, http.StatusAccepted, m.do(http.MethodPost, "/api/v1/auth/verify/resend", nil, bearer(token)).status)
	require.Equal(t, http.StatusAccepted, m.do(http.MethodPost, "/api/v1/auth/verify/resend", nil, bearer(token)).status)
	res = m.do(http.MethodPost, "/api/v1/auth/verify/resend", nil, bearer(token))
	assertErrorAnswer(t, res, http.StatusTooManyRequests, "rate_limited", "")
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	assert.Equal(t, http.StatusUnauthorized, m.do(http.MethodPost, "/api/v1/auth/verify/resend", nil, nil).status)
	m.smtp.WaitFor(t, 3)

	link := msg.Token(t, "/verify-email")
	payload, sig, _ := strings.Cut(link, ".")
	tampered := payload + "." + flipFirst(sig)
	for name, bad := range map[string]string{
		"tampered signature": tampered,
		"tampered payload":   flipFirst(payload) + "." + sig,
		"not a token":        "hello",
		"empty":              "",
		"huge":               strings.Repeat("A", 10_000),
	} {
		res := m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": bad}, nil)
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", name, res.body)
	}
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": tampered}, nil),
		http.StatusBadRequest, "invalid_request", "token: not a valid link (it may have been used already); ask for a new one")

	// The genuine link works, twice (idempotent), and chat opens.
	res = m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": link}, nil)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, true, res.json(t)["email_verified"])
	assert.Equal(t, false, res.json(t)["is_admin"])
	require.Equal(t, http.StatusOK, m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": link}, nil).status)
	require.Equal(t, http.StatusOK, m.do(http.MethodPost, "/api/v1/chat", chat, bearer(token)).status)
	require.Equal(t, http.StatusCreated, m.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "laptop"}, bearer(token)).status)
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/auth/verify/resend", nil, bearer(token)), http.StatusConflict, "conflict", "Your email address is already confirmed")

	// A link of another account that expired.
	m.register("bob@example.com", pw)
	late := m.smtp.WaitFor(t, 4)[3].Token(t, "/verify-email")
	m.clock.Advance(time.Hour + time.Second)
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/auth/verify", map[string]any{"token": late}, nil),
		http.StatusBadRequest, "invalid_request", "token: the link has expired; ask for a new one")
}

func flipFirst(s string) string {
	if s == "" {
		return "x"
	}
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// TestPasswordResetByMail walks a reset over SMTP: the same 202 for known
// and unknown addresses, a link that works once and revokes older tokens,
// and refusals of tampered, reused and expired links.
func TestPasswordResetByMail(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, nil)
	m.register("carol@example.com", pw)
	m.smtp.WaitFor(t, 1) // the verification mail
	old := m.login("carol@example.com", pw)

	for _, email := range []string{"nobody@example.com", "carol+reset@example.com"} {
		res := m.do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": email}, nil)
		require.Equal(t, http.StatusAccepted, res.status, "%s: %s", email, res.body)
		assert.Empty(t, res.body, "the answer says nothing about the address")
	}
	assertErrorAnswer(t, m.do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": "not an address"}, nil),
		http.StatusBadRequest, "invalid_request", "email: not a valid email address")
	msgs := m.smtp.WaitFor(t, 2)
	time.Sleep(100 * time.Millisecond) // no mail for the unknown address arrives late
	require.Len(t, m.smtp.Messages(), 2, "one reset mail, to the account's own address")
	reset := msgs[1]
	assert.Equal(t, []string{"carol@example.com"}, reset.To)
	assert.Equal(t, "Reset your password", reset.Header.Get("Subject"))
	link := reset.Token(t, "/reset-password")

	payload, sig, _ := strings.Cut(link, ".")
	confirm := func(token, password string) response {
		return m.do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": token, "new_password": password}, nil)
	}
	assertErrorAnswer(t, confirm(payload+"."+flipFirst(sig), "a brand new password"), http.StatusBadRequest, "invalid_request", "")
	assertErrorAnswer(t, confirm(link, "short"), http.StatusBadRequest, "invalid_request", "password: must be 8 to 128 characters")
	// A verification link is not a reset link.
	assertErrorAnswer(t, confirm(msgs[0].Token(t, "/verify-email"), "a brand new password"), http.StatusBadRequest, "invalid_request", "")

	res := confirm(link, "a brand new password")
	require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
	assertErrorAnswer(t, confirm(link, "another new password"), http.StatusBadRequest, "invalid_request",
		"token: not a valid link (it may have been used already); ask for a new one")
	m.login("carol@example.com", "a brand new password")
	assert.Equal(t, http.StatusUnauthorized, m.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "carol@example.com", "password": pw}, nil).status)
	assert.Equal(t, http.StatusUnauthorized, m.do(http.MethodGet, "/api/v1/quota", nil, bearer(old)).status, "older tokens are revoked")

	// An expired link (one hour).
	require.Equal(t, http.StatusAccepted, m.do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": "carol@example.com"}, nil).status)
	late := m.smtp.WaitFor(t, 3)[2].Token(t, "/reset-password")
	m.clock.Advance(time.Hour + time.Second)
	assertErrorAnswer(t, confirm(late, "a third new password"), http.StatusBadRequest, "invalid_request", "token: the link has expired; ask for a new one")
}

// TestMailRoutesWithoutSMTP: without SMTP_URL accounts work at once and the
// mail routes say how to turn them on.
func TestMailRoutesWithoutSMTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MOCK_PROVIDER_DELAY_MS": "0"})
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hello", "model": "smart", "stream": false}, bearer(token)).status)
	for path, body := range map[string]any{
		"/api/v1/auth/verify":                 map[string]any{"token": "x.y"},
		"/api/v1/auth/verify/resend":          nil,
		"/api/v1/auth/password-reset":         map[string]any{"email": "ada@example.com"},
		"/api/v1/auth/password-reset/confirm": map[string]any{"token": "x.y", "new_password": "a brand new password"},
	} {
		res := e.do(http.MethodPost, path, body, bearer(token))
		assertErrorAnswer(t, res, http.StatusNotFound, "not_found", "")
		assert.Contains(t, res.json(t)["error"], "SMTP_URL", path)
	}
}
