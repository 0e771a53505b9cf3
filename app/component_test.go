package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/email"
)

const pw = "correct horse"

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res := e.do(http.MethodGet, "/health", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, map[string]any{"status": "healthy", "version": "v1.2.3-test", "service": "GenZ AI Backend"}, res.json(t))
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		assert.Equal(t, want, res.header.Get(h), h)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name, sent string
		kept       bool // as the correlation id
	}{
		{"generated when absent", "", false},
		{"valid: kept as the correlation id", "trace-4bf92f3577b34da6.a3ce929d:0e0e", true},
		{"dropped when it has spaces", "abc def", false},
		{"dropped when too long", strings.Repeat("a", 129), false},
		{"dropped when it could forge markup", "<script>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.sent != "" {
				hdr["X-Request-ID"] = tt.sent
			}
			res := e.do(http.MethodGet, "/api/v1/nope", nil, hdr)
			got := res.header.Get("X-Request-ID")
			// Always the server's own: a UUIDv7 (time-ordered).
			assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, got)
			if tt.kept {
				assert.Equal(t, tt.sent, res.header.Get("X-Correlation-ID"))
			} else {
				assert.Empty(t, res.header.Get("X-Correlation-ID"))
			}
			assert.Equal(t, got, res.json(t)["request_id"], "the body names the same id")
		})
	}
	assert.Contains(t, e.logs.String(), `"correlation_id":"trace-4bf92f3577b34da6.a3ce929d:0e0e"`, "the access log carries the client's id")
	assert.NotContains(t, e.logs.String(), `"correlation_id":"abc def"`)
}

func TestReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res := e.do(http.MethodGet, "/ready", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, map[string]any{"ready": true, "environment": "development", "checks": map[string]any{"database": "ok"}}, res.json(t))

	e.app.Close() // the database goes away
	// The answer is cached for a second: the outage shows once it expires.
	require.Eventually(t, func() bool {
		res = e.do(http.MethodGet, "/ready", nil, nil)
		return res.status != http.StatusOK
	}, 5*time.Second, 100*time.Millisecond)
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	body := res.json(t)
	assert.Equal(t, false, body["ready"])
	assert.Equal(t, "development", body["environment"])
	reason := body["checks"].(map[string]any)["database"].(string)
	assert.NotEqual(t, "ok", reason)
	assert.NotContains(t, reason, "127.0.0.1", "reasons do not reveal the database address")
}

func TestReadyReportsProduction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENV": "production"})
	res := e.do(http.MethodGet, "/ready", nil, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "production", res.json(t)["environment"])
}

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("taken@example.com", pw)
	tests := []struct {
		name    string
		body    any
		ctype   string
		status  int
		code    string
		message string
	}{
		{"created", map[string]any{"email": " Ada@Example.com ", "password": pw}, "", http.StatusCreated, "", ""},
		{"admin email", map[string]any{"email": "boss@example.com", "password": pw}, "", http.StatusCreated, "", ""},
		{"internationalised domain", map[string]any{"email": "zoë@bücher.example", "password": pw}, "", http.StatusCreated, "", ""},
		{"invalid internationalised domain", map[string]any{"email": "a@xn--a.com", "password": pw}, "", http.StatusBadRequest, "invalid_request", "email: the domain is not a valid internationalised domain name"},
		{"duplicate in another case", map[string]any{"email": "TAKEN@example.com", "password": pw}, "", http.StatusConflict, "conflict", "An account with this email already exists"},
		{"invalid email", map[string]any{"email": "ada", "password": pw}, "", http.StatusBadRequest, "invalid_request", "email: not a valid email address"},
		{"missing email", map[string]any{"password": pw}, "", http.StatusBadRequest, "invalid_request", "email: is required"},
		{"short password", map[string]any{"email": "s@example.com", "password": "1234567"}, "", http.StatusBadRequest, "invalid_request", "password: must be 8 to 128 characters"},
		{"long password", map[string]any{"email": "l@example.com", "password": strings.Repeat("p", 129)}, "", http.StatusBadRequest, "invalid_request", "password: must be 8 to 128 characters"},
		{"missing password", map[string]any{"email": "m@example.com"}, "", http.StatusBadRequest, "invalid_request", "password: must be 8 to 128 characters"},
		{"empty body", "", "", http.StatusBadRequest, "invalid_request", "email: is required"},
		{"malformed JSON", `{"email": "x@example.com",`, "", http.StatusBadRequest, "invalid_request", "Invalid JSON body: unexpected end of input"},
		{"syntax error", `{"email" "x"}`, "", http.StatusBadRequest, "invalid_request", `Invalid JSON at line 1, column 10: invalid character '"' after object key`},
		{"wrong type", `{"email": 42, "password": "x"}`, "", http.StatusBadRequest, "invalid_request", "email: must be a string"},
		{"form body", "email=a@example.com&password=12345678", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported_media_type", "Request body must be application/json"},
		{"text body", `{"email":"a@example.com"}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.ctype != "" {
				hdr["Content-Type"] = tt.ctype
			}
			res := e.do(http.MethodPost, "/api/v1/auth/register", tt.body, hdr)
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			body := res.json(t)
			if tt.status == http.StatusCreated {
				assert.NotEmpty(t, body["id"])
				want, err := email.New(idn.Lookup{}).Normalize(tt.body.(map[string]any)["email"].(string))
				require.NoError(t, err)
				assert.Equal(t, want, body["email"])
				assert.Equal(t, false, body["is_admin"], "registering never makes an admin, ADMIN_EMAILS or not")
				assert.Equal(t, false, body["email_verified"])
				return
			}
			assert.Equal(t, tt.code, body["code"])
			if tt.message != "" {
				assert.Equal(t, tt.message, body["error"])
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_REQUEST_SIZE_BYTES": "2000"})
	big := `{"email":"big@example.com","password":"` + strings.Repeat("x", 3000) + `"}`

	res := e.do(http.MethodPost, "/api/v1/auth/register", big, nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	assert.Equal(t, "payload_too_large", res.json(t)["code"])
	assert.Equal(t, "Request body too large (limit 2000 bytes)", res.json(t)["error"])

	// Without Content-Length (chunked) the limit holds while reading.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/auth/register", struct{ *strings.Reader }{strings.NewReader(big)})
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	hres, err := e.http.Do(req)
	require.NoError(t, err)
	defer hres.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, hres.StatusCode)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"JWT_EXPIRATION_HOURS": "2"})
	id := e.register("ada@example.com", pw)

	res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ADA@example.com ", "password": pw}, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.Equal(t, "bearer", body["token_type"])
	assert.Equal(t, float64(7200), body["expires_in"])

	// The token is an HS256 JWT with the documented claims.
	parts := strings.Split(body["access_token"].(string), ".")
	require.Len(t, parts, 3)
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"alg":"HS256","typ":"JWT"}`, string(header))
	claims, err := jwt.New([]byte(e.cfg.JWTSecret.Reveal()), "genzai").Verify(body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, domain.UserID(id), claims.UserID)
	assert.Equal(t, "ada@example.com", claims.Email)
	assert.WithinDuration(t, claims.IssuedAt.Add(2*time.Hour), claims.ExpiresAt, time.Second)
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_ALLOW_EMAIL_LOGIN": "false"})
	e.register("ada@example.com", pw)
	wrongPassword := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong password"}, nil)
	unknownEmail := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": pw}, nil)
	for _, res := range []response{wrongPassword, unknownEmail} {
		require.Equal(t, http.StatusUnauthorized, res.status)
		body := res.json(t)
		delete(body, "request_id")
		assert.Equal(t, map[string]any{"error": "Invalid email or password", "code": "unauthorized"}, body)
	}

	emailOnly := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com"}, nil)
	require.Equal(t, http.StatusBadRequest, emailOnly.status)
	assert.Equal(t, "password: is required", emailOnly.json(t)["error"])
}

// TestLoginDisabledAccount guesses the right password of a disabled
// account: the answer is byte for byte a wrong password's (request id
// aside), so it confirms neither the password nor the account's state.
func TestLoginDisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	e.sql("UPDATE users SET disabled = true WHERE email = $1", "ada@example.com")

	answer := func(password string) (int, string) {
		res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": password}, nil)
		id := res.header.Get("X-Request-ID")
		require.NotEmpty(t, id)
		return res.status, strings.Replace(string(res.body), id, "REQUEST_ID", 1)
	}
	rightStatus, right := answer(pw)
	wrongStatus, wrong := answer("wrong password")
	assert.Equal(t, http.StatusUnauthorized, rightStatus)
	assert.Equal(t, wrongStatus, rightStatus)
	assert.Equal(t, wrong, right, "the very same body")
	assert.JSONEq(t, `{"error":"Invalid email or password","code":"unauthorized","request_id":"REQUEST_ID"}`, right)

	res := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
	assert.Equal(t, http.StatusForbidden, res.status, "a token issued before disabling stops working")
}

func TestEmailOnlyLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // development: allowed by default
	res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "New@Example.com"}, nil)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	token := res.json(t)["access_token"].(string)
	quota := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
	assert.Equal(t, http.StatusOK, quota.status, "the account was created on first login")

	e.register("pw@example.com", pw)
	res = e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "pw@example.com"}, nil)
	assert.Equal(t, http.StatusUnauthorized, res.status, "accounts with a password need it")
}

func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"USER_DAILY_QUOTA": "50"})
	id := e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	now := e.clock.Now()
	midnight := domain.NextQuotaReset(now)

	res, err := e.client.GetQuotaWithResponse(context.Background(), func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode())
	assert.Equal(t, 0, res.JSON200.Used)
	assert.Equal(t, 50, res.JSON200.Limit)
	assert.Equal(t, 50, res.JSON200.Remaining)
	assert.True(t, midnight.Equal(res.JSON200.ResetsAt), "resets_at %s", res.JSON200.ResetsAt)
	assert.Equal(t, "00:00 UTC", string(res.JSON200.ResetTimeUtc))

	e.sql("INSERT INTO quota_usage (user_id, day, used) VALUES ($1, $2, 15)", id, domain.QuotaDay(now))
	body := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
	assert.Equal(t, map[string]any{
		"used": float64(15), "limit": float64(50), "remaining": float64(35),
		"resets_at": midnight.Format(time.RFC3339), "reset_time_utc": "00:00 UTC",
	}, body)

	e.sql("UPDATE users SET daily_quota = 10 WHERE id = $1", id)
	body = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
	assert.Equal(t, float64(10), body["limit"], "the user's own limit wins")
	assert.Equal(t, float64(0), body["remaining"], "never negative")

	e.clock.Set(midnight) // the next UTC day
	body = e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token)).json(t)
	assert.Equal(t, float64(0), body["used"])
	assert.Equal(t, midnight.AddDate(0, 0, 1).Format(time.RFC3339), body["resets_at"])
}

func TestQuotaAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.register("ada@example.com", pw)
	secret := []byte(e.cfg.JWTSecret.Reveal())
	now := time.Now()
	issue := func(secret []byte, c domain.TokenClaims) string {
		tok, err := jwt.New(secret, "genzai").Issue(c)
		require.NoError(t, err)
		return tok
	}
	valid := domain.TokenClaims{UserID: domain.UserID(id), Email: "ada@example.com", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	expired := valid
	expired.IssuedAt, expired.ExpiresAt = now.Add(-3*time.Hour), now.Add(-2*time.Hour)
	ghost := valid
	ghost.UserID = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+id+`","iss":"genzai","exp":`+itoa(now.Add(time.Hour).Unix())+`}`)) + "."

	tests := []struct {
		name    string
		header  string
		status  int
		code    string
		message string
	}{
		{"valid", "Bearer " + issue(secret, valid), http.StatusOK, "", ""},
		{"lower-case scheme", "bearer " + issue(secret, valid), http.StatusOK, "", ""},
		{"missing", "", http.StatusUnauthorized, "unauthorized", "Missing bearer token"},
		{"basic scheme", "Basic YWRhOnB3", http.StatusUnauthorized, "unauthorized", "Missing bearer token"},
		{"empty token", "Bearer ", http.StatusUnauthorized, "unauthorized", "Missing bearer token"},
		{"malformed", "Bearer abc.def", http.StatusUnauthorized, "unauthorized", "Invalid authentication token"},
		{"alg none", "Bearer " + none, http.StatusUnauthorized, "unauthorized", "Invalid authentication token"},
		{"other secret", "Bearer " + issue([]byte("another-secret-another-secret-xx"), valid), http.StatusUnauthorized, "unauthorized", "Invalid authentication token"},
		{"expired", "Bearer " + issue(secret, expired), http.StatusUnauthorized, "token_expired", "Token has expired"},
		{"deleted account", "Bearer " + issue(secret, ghost), http.StatusUnauthorized, "unauthorized", "Invalid authentication token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["Authorization"] = tt.header
			}
			res := e.do(http.MethodGet, "/api/v1/quota", nil, hdr)
			require.Equal(t, tt.status, res.status, "body: %s", res.body)
			if tt.status == http.StatusOK {
				return
			}
			assert.Equal(t, tt.code, res.json(t)["code"])
			assert.Equal(t, tt.message, res.json(t)["error"])
			assert.True(t, strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer"), "challenge: %q", res.header.Get("WWW-Authenticate"))
		})
	}
}

func TestErrorContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown route", http.MethodGet, "/api/v1/nope", http.StatusNotFound, "not_found"},
		{"wrong method", http.MethodDelete, "/api/v1/quota", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"wrong method on login", http.MethodGet, "/api/v1/auth/login", http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.method, tt.path, nil, nil)
			require.Equal(t, tt.status, res.status)
			body := res.json(t)
			assert.Equal(t, tt.code, body["code"])
			assert.NotEmpty(t, body["error"])
			assert.Equal(t, res.header.Get("X-Request-ID"), body["request_id"])
			assert.Equal(t, "application/json", res.header.Get("Content-Type"))
		})
	}
}

// TestEveryOperationIsServed proves the server routes every operation of the
// spec (no 404/405 from the router), so the contract cannot promise a route
// the server lacks. Mail is on: without it the mail routes answer their own
// 404 (mail is off), which this test could not tell from the router's.
func TestEveryOperationIsServed(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, nil)
	s := loadSpec(t)
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			var body any
			if method == http.MethodPost {
				body = map[string]any{}
			}
			res := e.do(method, path, body, nil)
			assert.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, res.status, "%s %s", method, path)
		}
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.register("ada@example.com", pw)
	token := e.login("ada@example.com", pw)
	e.do(http.MethodGet, "/api/v1/quota", nil, bearer(token))
	e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong password"}, nil)
	logs := e.logs.String()
	require.Contains(t, logs, `"route":"/api/v1/quota"`, "the access log was captured")
	for _, secret := range []string{pw, "wrong password", token, e.cfg.JWTSecret.Reveal()} {
		assert.NotContains(t, logs, secret)
	}
}
