package app_test

// Attack tests (issue 11, "Bad input and attacks"): forged tokens, hostile
// bodies, SQL metacharacters, HTML and slow bodies, all through the real
// HTTP stack (the app's handler behind an httptest server), so that the
// statuses and bodies are the ones clients see.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// assertJSONAnswer checks what every JSON answer must be for a browser that
// is tricked into loading it: declared JSON, never sniffed as HTML, under a
// policy that runs nothing, and without a raw < or > (encoding/json writes
// them as \u003c and \u003e), so that no byte of it can open a tag.
func assertJSONAnswer(t *testing.T, res response) {
	t.Helper()
	mt, _, err := mime.ParseMediaType(res.header.Get("Content-Type"))
	require.NoError(t, err, "Content-Type %q", res.header.Get("Content-Type"))
	assert.Equal(t, "application/json", mt)
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	assert.True(t, strings.HasPrefix(res.header.Get("Content-Security-Policy"), "default-src 'none'"), "CSP %q", res.header.Get("Content-Security-Policy"))
	assert.False(t, bytes.ContainsAny(res.body, "<>"), "raw < or > in a JSON answer: %s", res.body)
}

// assertErrorAnswer checks the error contract of a refused request.
func assertErrorAnswer(t *testing.T, res response, status int, code, message string) {
	t.Helper()
	require.Equal(t, status, res.status, "body: %s", res.body)
	assertJSONAnswer(t, res)
	body := res.json(t)
	assert.Equal(t, code, body["code"], "body: %s", res.body)
	if message != "" {
		assert.Equal(t, message, body["error"], "body: %s", res.body)
	}
	assert.NotEmpty(t, body["error"])
	assert.Equal(t, res.header.Get("X-Request-ID"), body["request_id"])
}

// b64 is a JWT segment of v (JSON-encoded unless it is already bytes).
func b64(t *testing.T, v any) string {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		raw, err = json.Marshal(v)
		require.NoError(t, err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// hmacSHA256 signs a JWT signing input with key.
func hmacSHA256(key []byte, input string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// forge builds a token from any header and claims; sign gets the signing
// input and returns the signature segment ("" for none).
func forge(t *testing.T, header, claims map[string]any, sign func(input string) string) string {
	t.Helper()
	input := b64(t, header) + "." + b64(t, claims)
	return input + "." + sign(input)
}

// TestAttackForgedTokens tries to reach an admin route as the admin with
// tokens an attacker can make without the server's secret, or with it but
// against the rules (wrong algorithm, times, claims). The leeway for clock
// skew is adapters/jwt's 30 s: a token issued up to 30 s in the future is
// accepted (instances' clocks differ a little), later is refused.
func TestAttackForgedTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	bossID := e.registerAdmin("boss@example.com", pw)
	e.register("ada@example.com", pw)
	adaToken := e.login("ada@example.com", pw)
	secret := []byte(e.cfg.JWTSecret.Reveal())

	attackerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(&attackerKey.PublicKey)
	require.NoError(t, err)
	attackerPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	now := time.Now()
	// boss are the claims of a valid token of the admin; each case changes
	// one thing about them or about how they are signed.
	boss := func(change func(c map[string]any)) map[string]any {
		c := map[string]any{
			"sub": bossID, "email": "boss@example.com", "iss": "genzai",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	withSecret := func(input string) string { return hmacSHA256(secret, input) }
	unsigned := func(string) string { return "" }
	signWith := func(method gojwt.SigningMethod, key any, claims map[string]any) string {
		s, err := gojwt.NewWithClaims(method, gojwt.MapClaims(claims)).SignedString(key)
		require.NoError(t, err)
		return s
	}
	// tamper keeps ada's real header and signature and swaps in other claims.
	tamper := func(claims map[string]any) string {
		parts := strings.Split(adaToken, ".")
		require.Len(t, parts, 3)
		return parts[0] + "." + b64(t, claims) + "." + parts[2]
	}
	adaClaims := func() map[string]any {
		parts := strings.Split(adaToken, ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		var c map[string]any
		require.NoError(t, json.Unmarshal(raw, &c))
		return c
	}

	const invalid = "Invalid authentication token"
	tests := []struct {
		name    string
		token   string
		status  int
		code    string
		message string
	}{
		// The control: the same claims, signed as the server signs, pass.
		{name: "control: HS256 with the server's secret", token: forge(t, hs256, boss(nil), withSecret), status: http.StatusOK},
		{name: "alg none, no signature", token: forge(t, map[string]any{"alg": "none", "typ": "JWT"}, boss(nil), unsigned), status: 401, code: "unauthorized", message: invalid},
		{name: "alg None, no signature", token: forge(t, map[string]any{"alg": "None", "typ": "JWT"}, boss(nil), unsigned), status: 401, code: "unauthorized", message: invalid},
		{name: "alg none with a valid HS256 signature", token: forge(t, map[string]any{"alg": "none"}, boss(nil), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "RS256 signed with the attacker's RSA key", token: signWith(gojwt.SigningMethodRS256, attackerKey, boss(nil)), status: 401, code: "unauthorized", message: invalid},
		{
			name:   "RS256 header, HMAC-signed with the attacker's public key",
			token:  forge(t, map[string]any{"alg": "RS256", "typ": "JWT"}, boss(nil), func(in string) string { return hmacSHA256(attackerPublicPEM, in) }),
			status: 401, code: "unauthorized", message: invalid,
		},
		{name: "RS256 header, HMAC-signed with the server's secret", token: forge(t, map[string]any{"alg": "RS256", "typ": "JWT"}, boss(nil), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "HS512 with the server's secret", token: signWith(gojwt.SigningMethodHS512, secret, boss(nil)), status: 401, code: "unauthorized", message: invalid},
		{name: "HS256 with a wrong secret", token: forge(t, hs256, boss(nil), func(in string) string { return hmacSHA256([]byte("guessed-secret-guessed-secret-guessed"), in) }), status: 401, code: "unauthorized", message: invalid},
		{name: "HS256 with an empty secret", token: forge(t, hs256, boss(nil), func(in string) string { return hmacSHA256(nil, in) }), status: 401, code: "unauthorized", message: invalid},
		{
			name:   "kid pointing at /dev/null, HMAC-signed with nothing",
			token:  forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "../../../../dev/null"}, boss(nil), func(in string) string { return hmacSHA256(nil, in) }),
			status: 401, code: "unauthorized", message: invalid,
		},
		{
			name:   "ada's token with sub changed to the admin, signature kept",
			token:  tamper(func() map[string]any { c := adaClaims(); c["sub"] = bossID; c["email"] = "boss@example.com"; return c }()),
			status: 401, code: "unauthorized", message: invalid,
		},
		{
			name:   "ada's token with admin claims added, signature kept",
			token:  tamper(func() map[string]any { c := adaClaims(); c["is_admin"] = true; c["role"] = "admin"; return c }()),
			status: 401, code: "unauthorized", message: invalid,
		},
		{name: "no exp", token: forge(t, hs256, boss(func(c map[string]any) { delete(c, "exp") }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{
			name:   "exp in the past",
			token:  forge(t, hs256, boss(func(c map[string]any) { c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix() }), withSecret),
			status: 401, code: "token_expired", message: "Token has expired",
		},
		{name: "exp is not a number", token: forge(t, hs256, boss(func(c map[string]any) { c["exp"] = "never" }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "no iat", token: forge(t, hs256, boss(func(c map[string]any) { delete(c, "iat") }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "iat a day in the future", token: forge(t, hs256, boss(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(24*time.Hour).Unix(), now.Add(25*time.Hour).Unix()
		}), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "iat two minutes in the future, beyond the 30 s leeway", token: forge(t, hs256, boss(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "iat 5 s in the future, within the leeway", token: forge(t, hs256, boss(func(c map[string]any) { c["iat"] = now.Add(5 * time.Second).Unix() }), withSecret), status: http.StatusOK},
		{name: "nbf in the future", token: forge(t, hs256, boss(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "another issuer", token: forge(t, hs256, boss(func(c map[string]any) { c["iss"] = "evil" }), withSecret), status: 401, code: "unauthorized", message: invalid},
		{name: "sub that is SQL", token: forge(t, hs256, boss(func(c map[string]any) { c["sub"] = "' OR '1'='1" }), withSecret), status: 401, code: "unauthorized", message: invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/admin/users", "/api/v1/quota"} {
				res := e.do(http.MethodGet, path, nil, bearer(tc.token))
				if tc.status == http.StatusOK {
					require.Equal(t, http.StatusOK, res.status, "%s: %s", path, res.body)
					continue
				}
				assertErrorAnswer(t, res, tc.status, tc.code, tc.message)
				assert.True(t, strings.HasPrefix(res.header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`), "challenge %q", res.header.Get("WWW-Authenticate"))
				assert.NotContains(t, string(res.body), "boss@example.com", "%s: no data in a refusal", path)
			}
		})
	}

	t.Run("a disabled account's valid token is refused", func(t *testing.T) {
		adaID := func() string {
			res := e.do(http.MethodGet, "/api/v1/admin/users?query=ada@", nil, bearer(forge(t, hs256, boss(nil), withSecret)))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			users := res.json(t)["users"].([]any)
			require.Len(t, users, 1)
			return users[0].(map[string]any)["id"].(string)
		}()
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/quota", nil, bearer(adaToken)).status)
		res := e.do(http.MethodPatch, "/api/v1/admin/users/"+adaID, map[string]any{"disabled": true}, bearer(forge(t, hs256, boss(nil), withSecret)))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		for _, path := range []string{"/api/v1/quota", "/api/v1/models"} {
			assertErrorAnswer(t, e.do(http.MethodGet, path, nil, bearer(adaToken)), http.StatusForbidden, "forbidden", "Account is disabled")
		}
		assertErrorAnswer(t, e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi"}, bearer(adaToken)), http.StatusForbidden, "forbidden", "Account is disabled")
	})
}

// TestAttackAdminEscalation checks that a plain user cannot make itself an
// admin, and that anonymous and plain callers get the error contract on
// every admin route (TestAdminRoutesAreForAdminsOnly checks the statuses).
func TestAttackAdminEscalation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.registerAdmin("boss@example.com", pw)
	boss := e.login("boss@example.com", pw)
	adaID := e.register("ada@example.com", pw)
	ada := e.login("ada@example.com", pw)

	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/admin/analytics?days=7", nil},
		{http.MethodGet, "/api/v1/admin/users", nil},
		{http.MethodGet, "/api/v1/admin/requests", nil},
		{http.MethodPatch, "/api/v1/admin/users/" + adaID, map[string]any{"is_admin": true}},
		{http.MethodPatch, "/api/v1/admin/users/" + adaID, map[string]any{"daily_quota": 1000000}},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			assertErrorAnswer(t, e.do(r.method, r.path, r.body, nil), http.StatusUnauthorized, "unauthorized", "Missing bearer token")
			assertErrorAnswer(t, e.do(r.method, r.path, r.body, bearer(ada)), http.StatusForbidden, "forbidden", "Admin access required")
		})
	}

	// Nothing changed: ada is neither an admin nor given a quota.
	res := e.do(http.MethodGet, "/api/v1/admin/users?query=ada@", nil, bearer(boss))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	users := res.json(t)["users"].([]any)
	require.Len(t, users, 1)
	assert.Equal(t, false, users[0].(map[string]any)["is_admin"])
	assert.Nil(t, users[0].(map[string]any)["daily_quota"])
	// And a login does not grant it either.
	ada = e.login("ada@example.com", pw)
	assertErrorAnswer(t, e.do(http.MethodGet, "/api/v1/admin/users", nil, bearer(ada)), http.StatusForbidden, "forbidden", "Admin access required")
}

// chunked sends body without Content-Length (Transfer-Encoding: chunked).
func (e *env) chunked(method, path, body string, header map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, struct{ io.Reader }{strings.NewReader(body)})
	require.NoError(e.t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// TestAttackBodies sends hostile chat bodies. Oversized, non-JSON,
// malformed, too deep and too long ones get a clean 4xx with the error
// contract, reach no provider and cost no quota; so do bodies that are not
// UTF-8 (encoding/json would quietly turn the bad bytes into U+FFFD) and
// prompts with control characters (escaped NULs, terminal escapes). Line
// breaks, tabs and U+2028 are text: they are answered, reach the provider
// exactly as sent, and every answer escapes them and the control
// characters a model may send back, so that neither JSON nor SSE framing
// can be broken.
func TestAttackBodies(t *testing.T) {
	t.Parallel()
	const limit = 4_000_000 // large enough that depth and array checks are reached
	c := newChatEnv(t, map[string]string{"MAX_REQUEST_SIZE_BYTES": fmt.Sprint(limit), "USER_DAILY_QUOTA": "100"})
	auth := bearer(c.token)

	messages := func(n, size int) string {
		one := `{"role":"user","content":"` + strings.Repeat("m", size) + `"}`
		return `{"prompt":"Hi","messages":[` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + `]}`
	}
	huge := `{"prompt":"` + strings.Repeat("x", limit+1) + `"}`
	refused := []struct {
		name    string
		body    string
		ctype   string // "" = application/json; "-" = none
		chunked bool
		status  int
		code    string
		message string
	}{
		{name: "oversized with Content-Length", body: huge, status: 413, code: "payload_too_large", message: fmt.Sprintf("Request body too large (limit %d bytes)", limit)},
		{name: "oversized, chunked", body: huge, chunked: true, status: 413, code: "payload_too_large", message: fmt.Sprintf("Request body too large (limit %d bytes)", limit)},
		{name: "text/plain", body: `{"prompt":"Hi"}`, ctype: "text/plain", status: 415, code: "unsupported_media_type", message: "Request body must be application/json"},
		{name: "form", body: `prompt=Hi`, ctype: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
		{name: "multipart", body: "--x\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nHi\r\n--x--\r\n", ctype: "multipart/form-data; boundary=x", status: 415, code: "unsupported_media_type"},
		{name: "XML", body: `<chat><prompt>Hi</prompt></chat>`, ctype: "application/xml", status: 415, code: "unsupported_media_type"},
		{name: "no Content-Type", body: `{"prompt":"Hi"}`, ctype: "-", status: 415, code: "unsupported_media_type"},
		{name: "unparseable Content-Type", body: `{"prompt":"Hi"}`, ctype: "application/json; charset", status: 415, code: "unsupported_media_type"},
		{name: "100k nested arrays", body: `{"prompt":"Hi","messages":` + strings.Repeat("[", 100_000), status: 400, code: "invalid_request"},
		{name: "100k nested arrays, closed", body: `{"prompt":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`, status: 400, code: "invalid_request"},
		{name: "100k nested objects", body: strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000), status: 400, code: "invalid_request"},
		{name: "100k nested arrays, chunked", body: `{"prompt":` + strings.Repeat("[", 100_000), chunked: true, status: 400, code: "invalid_request"},
		{name: "100k messages", body: messages(100_000, 1), status: 400, code: "invalid_request", message: "messages: at most 50 earlier messages"},
		{name: "50 messages of 32k characters", body: messages(50, 32_000), status: 400, code: "invalid_request", message: "messages: the conversation is longer than 128000 characters"},
		{name: "raw NUL in a JSON string", body: "{\"prompt\":\"Hi\x00\"}", status: 400, code: "invalid_request"},
		{name: "raw ESC in a JSON string", body: "{\"prompt\":\"Hi\x1b[31m\"}", status: 400, code: "invalid_request"},
		{name: "raw newline in a JSON string", body: "{\"prompt\":\"Hi\nthere\"}", status: 400, code: "invalid_request"},
		{name: "JSON array", body: `[{"prompt":"Hi"}]`, status: 400, code: "invalid_request"},
		{name: "JSON string", body: `"Hi"`, status: 400, code: "invalid_request"},
		{name: "prompt of the wrong type", body: `{"prompt":{"$gt":""}}`, status: 400, code: "invalid_request"},
		{name: "number too large", body: `{"prompt":"Hi","max_tokens":1e400}`, status: 400, code: "invalid_request"},
		{name: "truncated", body: `{"prompt":"Hi`, status: 400, code: "invalid_request", message: "Invalid JSON body: unexpected end of input"},
		{name: "invalid UTF-8 in the prompt", body: "{\"prompt\":\"Hi \xff\xfe there\"}", status: 400, code: "invalid_request", message: "Request body must be valid UTF-8"},
		{name: "truncated UTF-8 sequence", body: "{\"prompt\":\"Hi \xe2\x82\"}", status: 400, code: "invalid_request", message: "Request body must be valid UTF-8"},
		{name: "UTF-16 surrogate encoded in UTF-8", body: "{\"prompt\":\"\xed\xa0\x80\"}", status: 400, code: "invalid_request", message: "Request body must be valid UTF-8"},
		{name: "invalid UTF-8, chunked", body: "{\"prompt\":\"\xff\"}", chunked: true, status: 400, code: "invalid_request", message: "Request body must be valid UTF-8"},
		{name: "escaped NUL", body: `{"prompt":"Hi\u0000there"}`, status: 400, code: "invalid_request", message: "prompt: must not contain control characters (U+0000)"},
		{name: "escaped ESC sequences", body: `{"prompt":"\u001b[2J\u001b[31mred"}`, status: 400, code: "invalid_request", message: "prompt: must not contain control characters (U+001B)"},
		{name: "escaped BEL in the system", body: `{"prompt":"Hi","system":"ding\u0007"}`, status: 400, code: "invalid_request", message: "system: must not contain control characters (U+0007)"},
		{name: "escaped NUL in a message", body: `{"prompt":"Hi","messages":[{"role":"user","content":"a\u0000b"}]}`, status: 400, code: "invalid_request", message: "messages[0].content: must not contain control characters (U+0000)"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": auth["Authorization"]}
			switch tc.ctype {
			case "":
			case "-":
				hdr["Content-Type"] = ""
			default:
				hdr["Content-Type"] = tc.ctype
			}
			// A hang fails through the client's 30 s timeout; each takes milliseconds.
			var res response
			if tc.chunked {
				res = c.chunked(http.MethodPost, "/api/v1/chat", tc.body, hdr)
			} else {
				res = c.do(http.MethodPost, "/api/v1/chat", tc.body, hdr)
			}
			assertErrorAnswer(t, res, tc.status, tc.code, tc.message)
		})
	}
	assert.Empty(t, c.up.groq.Requests(), "no refused request reached a provider")
	quota := c.do(http.MethodGet, "/api/v1/quota", nil, auth)
	require.Equal(t, http.StatusOK, quota.status)
	assert.Equal(t, float64(0), quota.json(t)["used"], "refused requests cost no quota")

	// Line breaks, tabs and separators are text. The model answers with
	// control characters too, to show that the answers escape them.
	answer := "nul\x00 esc\x1b[2J bel\x07 sep\u2028 para\u2029 bad\uFFFD end"
	c.up.groq.Default(fakeupstream.OK("nul\x00 esc\x1b[2J bel\x07 ", "sep\u2028 para\u2029 ", "bad\uFFFD end"))
	accepted := []struct {
		name, body string
		want       []fakeupstream.Message // what the provider is sent
	}{
		{"replacement character as text", "{\"prompt\":\"Hi \uFFFD there\"}", []fakeupstream.Message{{Role: "user", Content: "Hi \uFFFD there"}}},
		{"U+2028 and U+2029, raw and escaped", "{\"prompt\":\"a\u2028b\\u2029c\"}", []fakeupstream.Message{{Role: "user", Content: "a\u2028b\u2029c"}}},
		{"tabs and escaped newlines", `{"prompt":"line one\nline two\r\n\ttabbed"}`, []fakeupstream.Message{{Role: "user", Content: "line one\nline two\r\n\ttabbed"}}},
	}
	for i, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(tc.body, "{", `{"stream":false,`, 1)
			res := c.do(http.MethodPost, "/api/v1/chat", body, auth)
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			assertJSONAnswer(t, res)
			assert.Equal(t, answer, res.json(t)["content"])
			assert.False(t, bytes.ContainsFunc(res.body, func(r rune) bool { return r < ' ' && r != '\n' || r == '\u2028' || r == '\u2029' }),
				"control characters and line separators are escaped in JSON: %q", res.body)
			reqs := c.up.groq.Requests()
			require.Len(t, reqs, i+1)
			assert.Equal(t, tc.want, reqs[i].Messages, "the provider gets the text as decoded")
		})
	}

	stream := c.openStream(context.Background(), map[string]any{"prompt": "Hi\t\u2028"})
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)
	raw, err := io.ReadAll(stream.Body)
	require.NoError(t, err)
	assert.False(t, bytes.ContainsFunc(raw, func(r rune) bool { return r < ' ' && r != '\n' || r == '\u2028' || r == '\u2029' }),
		"control characters and line separators are escaped in SSE data: %q", raw)
	events := readEvents(t, bytes.NewReader(raw))
	require.NotEmpty(t, events)
	assert.Equal(t, "done", events[len(events)-1].name, "the stream's framing is intact: %q", raw)
	var streamed strings.Builder
	for _, ev := range events {
		if ev.name == "" && !ev.comment {
			var tok string
			require.NoError(t, json.Unmarshal([]byte(ev.data), &tok))
			streamed.WriteString(tok)
		}
	}
	assert.Equal(t, answer, streamed.String())

	quota = c.do(http.MethodGet, "/api/v1/quota", nil, auth)
	assert.Equal(t, float64(len(accepted)+1), quota.json(t)["used"], "only the answered requests cost quota")
}

// ddgPage is a results page of DuckDuckGo's HTML endpoint with markup in
// the title and snippet, as entities and as tags.
const ddgPage = `<html><body><div class="results">
<div class="result results_links results_links_deep web-result">
  <h2 class="result__title"><a rel="nofollow" class="result__a" href="https://example.com/page?a=1&amp;b=%3Cx%3E">&lt;script&gt;alert(1)&lt;/script&gt; Title</a></h2>
  <a class="result__snippet" href="https://example.com/page">Snippet with <b>bold</b> and &lt;img src=x onerror=alert(1)&gt;</a>
</div>
</div></body></html>`

// recordingDuckDuckGo serves ddgPage and records every query it is sent.
func recordingDuckDuckGo(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var (
		mu      sync.Mutex
		queries []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		queries = append(queries, r.Form.Get("q"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, ddgPage)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(queries)
	}
}

// sqlPayloads are the SQL metacharacters and classic injections every
// input is tried with; the last two are text PostgreSQL cannot store.
var sqlPayloads = []string{
	`'`, `"`, `;`, `--`, `%`, `_`, `\`, `' OR '1'='1`, `' OR 1=1 --`, `1; DROP TABLE users; --`,
	`%' OR email LIKE '%`, `\'; SELECT pg_sleep(5); --`, "nul\x00byte", "bad\xffutf8",
}

// TestAttackSQLInjection sends SQL metacharacters in register and login
// emails and passwords, in web-search queries and in every parameter of
// every GET route of the spec: each gets its expected 2xx or 4xx, LIKE
// wildcards match only themselves, and the database is intact afterwards.
func TestAttackSQLInjection(t *testing.T) {
	t.Parallel()
	ddg, ddgQueries := recordingDuckDuckGo(t)
	e := newEnv(t, map[string]string{
		"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/",
		"AUTH_ALLOW_EMAIL_LOGIN": "false", // no account appears by logging in
	})
	e.requirePostgres()
	const sqlPassword = `p'"; DROP TABLE users; --\%_`
	e.registerAdmin("boss@example.com", pw)
	boss := e.login("boss@example.com", pw)

	registered := []string{"boss@example.com"}
	t.Run("register", func(t *testing.T) {
		for _, tc := range []struct {
			email  string
			status int
		}{
			{"o'brien@example.com", 201},
			{"100%real@example.com", 201},
			{"under_score@example.com", 201},
			{"dash--dash@example.com", 201},
			{"x'; DROP TABLE users; --@example.com", 400},
			{`" OR ""="@example.com`, 400},
			{`back\slash@example.com`, 400},
			{"semi;colon@example.com", 400},
			{"nul\x00@example.com", 400},
			{"' OR '1'='1", 400},
		} {
			res := e.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": tc.email, "password": sqlPassword}, nil)
			require.Equal(t, tc.status, res.status, "%q: %s", tc.email, res.body)
			assertJSONAnswer(t, res)
			if tc.status == 201 {
				assert.Equal(t, tc.email, res.json(t)["email"])
				registered = append(registered, tc.email)
			}
		}
	})

	t.Run("login", func(t *testing.T) {
		for _, tc := range []struct {
			email, password string
			status          int
		}{
			{"o'brien@example.com", sqlPassword, 200},
			{"100%real@example.com", sqlPassword, 200},
			{"o'brien@example.com", "' OR '1'='1", 401},
			{"o'brien@example.com", `' OR 1=1 --`, 401},
			{"%@example.com", sqlPassword, 401}, // a LIKE wildcard matches no one
			{"_@example.com", sqlPassword, 401},
			{"%real@example.com", sqlPassword, 401},
			{"' OR '1'='1' --", sqlPassword, 401},
			{"x'; DROP TABLE users; --@example.com", sqlPassword, 401},
			{"nul\x00@example.com", sqlPassword, 401},
		} {
			res := e.do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": tc.email, "password": tc.password}, nil)
			if tc.status == 401 && res.status == 400 {
				// Malformed emails may be refused as such; never let in.
				assertErrorAnswer(t, res, 400, "invalid_request", "")
				continue
			}
			require.Equal(t, tc.status, res.status, "%q / %q: %s", tc.email, tc.password, res.body)
			assertJSONAnswer(t, res)
		}
	})

	// LIKE's wildcards and escape character match only themselves.
	t.Run("admin user search", func(t *testing.T) {
		for query, want := range map[string][]string{
			`%`:           {"100%real@example.com"},
			`_`:           {"under_score@example.com"},
			`'`:           {"o'brien@example.com"},
			`--`:          {"dash--dash@example.com"},
			`\`:           nil,
			`"`:           nil,
			`' OR '1'='1`: nil,
			`%'--`:        nil,
			`@example.com`: {
				"100%real@example.com", "boss@example.com", "dash--dash@example.com", "o'brien@example.com", "under_score@example.com",
			},
		} {
			res := e.do(http.MethodGet, "/api/v1/admin/users?query="+url.QueryEscape(query), nil, bearer(boss))
			require.Equal(t, http.StatusOK, res.status, "%q: %s", query, res.body)
			assertJSONAnswer(t, res)
			var got []string
			for _, u := range res.json(t)["users"].([]any) {
				got = append(got, u.(map[string]any)["email"].(string))
			}
			assert.Equal(t, want, got, "query %q", query)
		}
		// Cursors are base64 of an email: one that decodes to SQL is just a
		// position, one that decodes to what no email can hold is refused.
		cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		res := e.do(http.MethodGet, "/api/v1/admin/users?cursor="+cursor("' OR '1'='1"), nil, bearer(boss))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assert.Len(t, res.json(t)["users"], len(registered), "every email sorts after a quote")
		for _, bad := range []string{"\x00", "a\x00b", "\xff", "\xc3\x28"} {
			res := e.do(http.MethodGet, "/api/v1/admin/users?cursor="+cursor(bad), nil, bearer(boss))
			assertErrorAnswer(t, res, http.StatusBadRequest, "invalid_request", "cursor: not a cursor this server issued")
		}
		// Text PostgreSQL cannot hold is refused before it reaches a query
		// (it was a 500).
		for target, message := range map[string]string{
			"/api/v1/admin/users?query=a%00b":       "query: must be text",
			"/api/v1/admin/requests?provider=a%00b": "provider: must be text",
			"/api/v1/admin/requests?provider=a%FFb": "provider: must be text",
		} {
			assertErrorAnswer(t, e.do(http.MethodGet, target, nil, bearer(boss)), http.StatusBadRequest, "invalid_request", message)
		}
	})

	// Every parameter of every GET route, with every payload.
	t.Run("every GET parameter", func(t *testing.T) {
		s := loadSpec(t)
		swept := 0
		for path, item := range s.doc.Paths.Map() {
			op := item.Get
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				param := p.Value
				for _, payload := range sqlPayloads {
					target := path
					query := url.Values{}
					switch param.In {
					case "path":
						target = strings.ReplaceAll(path, "{"+param.Name+"}", url.PathEscape(payload))
					case "query":
						query.Set(param.Name, payload)
					default:
						continue
					}
					if len(query) > 0 {
						target += "?" + query.Encode()
					}
					res := e.do(http.MethodGet, target, nil, bearer(boss))
					swept++
					if strings.HasPrefix(path, "/v1/") {
						// The OpenAI-compatible model: no payload is a tier
						// (404) and some are not text (400), in OpenAI's shape.
						assert.Contains(t, []int{400, 404}, res.status, "GET %s: %s", target, res.body)
						assertJSONAnswer(t, res)
						assert.NotEmpty(t, res.json(t)["error"].(map[string]any)["message"], "GET %s", target)
						continue
					}
					assert.Contains(t, []int{200, 400}, res.status, "GET %s: %s", target, res.body)
					if res.status == 400 {
						assertErrorAnswer(t, res, 400, "invalid_request", "")
					} else if strings.HasPrefix(path, "/api/") {
						assertJSONAnswer(t, res)
					}
				}
			}
		}
		assert.GreaterOrEqual(t, swept, 12*len(sqlPayloads), "the spec's GET parameters were all tried")
	})

	t.Run("web search passes queries through as data", func(t *testing.T) {
		before := len(ddgQueries())
		for _, payload := range sqlPayloads[:len(sqlPayloads)-2] { // storable text
			res := e.do(http.MethodGet, "/api/v1/web-search?q="+url.QueryEscape(payload+" unique"), nil, bearer(boss))
			require.Equal(t, http.StatusOK, res.status, "%q: %s", payload, res.body)
			assertJSONAnswer(t, res)
			assert.Equal(t, payload+" unique", res.json(t)["query"])
		}
		got := ddgQueries()[before:]
		for _, payload := range sqlPayloads[:len(sqlPayloads)-2] {
			assert.Contains(t, got, payload+" unique", "DuckDuckGo is sent the query as typed")
		}
	})

	t.Run("the database is intact", func(t *testing.T) {
		for _, table := range []string{"users", "quota_usage", "request_log", "provider_checks", "feedback", "goose_db_version"} {
			var exists bool
			e.queryRow("SELECT to_regclass('public."+table+"') IS NOT NULL", &exists)
			assert.True(t, exists, "table %s exists", table)
		}
		var users int
		var emails string
		e.queryRow("SELECT count(*), string_agg(email, ',' ORDER BY email COLLATE \"C\") FROM users", &users, &emails)
		slices.Sort(registered)
		assert.Equal(t, len(registered), users, "exactly the accepted registrations")
		assert.Equal(t, strings.Join(registered, ","), emails)
		var admins int
		e.queryRow("SELECT count(*) FROM users WHERE is_admin", &admins)
		assert.Equal(t, 1, admins, "nobody became an admin")
	})
}

// TestAttackHTMLIsNeverRendered puts markup in prompts, model output,
// search results and paths. The only HTML genzai serves is the static docs
// page and the web app's static page; everything else is JSON or an event stream that browsers are told
// not to sniff, and markup in it is always escaped.
func TestAttackHTMLIsNeverRendered(t *testing.T) {
	t.Parallel()
	ddg, _ := recordingDuckDuckGo(t)
	c := newChatEnv(t, map[string]string{"DUCKDUCKGO_BASE_URL": ddg.URL + "/html/", "DUCKDUCKGO_LITE_URL": ddg.URL + "/lite/"})
	auth := bearer(c.token)
	const xss = `<script>alert(document.cookie)</script>`

	t.Run("the docs page does not reflect its URL", func(t *testing.T) {
		plain := c.do(http.MethodGet, "/docs", nil, nil)
		require.Equal(t, http.StatusOK, plain.status)
		mt, _, _ := mime.ParseMediaType(plain.header.Get("Content-Type"))
		require.Equal(t, "text/html", mt)
		for _, q := range []string{"?q=" + url.QueryEscape(xss), "?" + url.QueryEscape(xss) + "=1"} {
			res := c.do(http.MethodGet, "/docs"+q, nil, nil)
			require.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, plain.body, res.body, "the page is the same whatever the URL says")
			assert.NotContains(t, string(res.body), "alert(")
			assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
			assert.Contains(t, res.header.Get("Content-Security-Policy"), "script-src 'self'", "no inline script may run")
		}
	})

	t.Run("the web app's page does not reflect its URL", func(t *testing.T) {
		plain := c.do(http.MethodGet, "/", nil, nil)
		require.Equal(t, http.StatusOK, plain.status)
		res := c.do(http.MethodGet, "/"+url.PathEscape(xss), nil, nil)
		require.Equal(t, http.StatusOK, res.status, "an app path: the page")
		assert.Equal(t, plain.body, res.body, "the page is the same whatever the URL says")
		assert.Contains(t, res.header.Get("Content-Security-Policy"), "script-src 'self'", "no inline script may run")
	})

	t.Run("error answers for markup in paths and parameters", func(t *testing.T) {
		for _, target := range []string{
			"/api/v1/" + url.PathEscape(xss),
			"/docs/" + url.PathEscape(xss),
			"/api/v1/status?window=" + url.QueryEscape(xss),
		} {
			res := c.do(http.MethodGet, target, nil, auth)
			assert.GreaterOrEqual(t, res.status, 400, target)
			assert.Less(t, res.status, 500, target)
			assertJSONAnswer(t, res)
		}
		res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "model": xss}, auth)
		assertErrorAnswer(t, res, 400, "invalid_request", "model: must be fast, balanced or smart")
		res = c.do(http.MethodPost, "/api/v1/auth/register", map[string]any{"email": xss + "@example.com", "password": pw}, nil)
		assertErrorAnswer(t, res, 400, "invalid_request", "")
	})

	t.Run("chat: markup in the prompt and in the answer", func(t *testing.T) {
		c.up.groq.Default(fakeupstream.OK("<b>", "bold", "</b>", `<img src=x onerror="alert(1)">`, xss))
		res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": xss, "system": "<i>be nice</i>", "stream": false}, auth)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assertJSONAnswer(t, res)
		assert.Equal(t, `<b>bold</b><img src=x onerror="alert(1)">`+xss, res.json(t)["content"], "the answer is data, unchanged")
		sent := c.up.groq.Requests()
		require.NotEmpty(t, sent)
		msgs := sent[len(sent)-1].Messages
		assert.Equal(t, xss, msgs[len(msgs)-1].Content, "the prompt reaches the provider unchanged")

		stream := c.openStream(context.Background(), map[string]any{"prompt": xss})
		defer stream.Body.Close()
		require.Equal(t, http.StatusOK, stream.StatusCode)
		assert.Equal(t, "text/event-stream", stream.Header.Get("Content-Type"))
		assert.Equal(t, "nosniff", stream.Header.Get("X-Content-Type-Options"))
		assert.True(t, strings.HasPrefix(stream.Header.Get("Content-Security-Policy"), "default-src 'none'"))
		raw, err := io.ReadAll(stream.Body)
		require.NoError(t, err)
		assert.False(t, bytes.ContainsAny(raw, "<>"), "raw markup in the stream: %s", raw)
		var answer strings.Builder
		for _, ev := range readEvents(t, bytes.NewReader(raw)) {
			if ev.name == "" && !ev.comment {
				var tok string
				require.NoError(t, json.Unmarshal([]byte(ev.data), &tok))
				answer.WriteString(tok)
			}
		}
		assert.Equal(t, `<b>bold</b><img src=x onerror="alert(1)">`+xss, answer.String())
	})

	t.Run("chat: markup in a provider's error message", func(t *testing.T) {
		c.up.groq.Default(fakeupstream.Status(http.StatusBadRequest, `{"error":{"message":"`+xss+` is not allowed"}}`))
		res := c.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, auth)
		require.Equal(t, http.StatusBadGateway, res.status, "%s", res.body)
		assertJSONAnswer(t, res)
		assert.Contains(t, res.json(t)["error"], xss, "the message is data, escaped")
	})

	t.Run("web search: markup in the query and the results", func(t *testing.T) {
		res := c.do(http.MethodGet, "/api/v1/web-search?q="+url.QueryEscape(xss), nil, auth)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		assertJSONAnswer(t, res)
		body := res.json(t)
		assert.Equal(t, xss, body["query"])
		results := body["results"].([]any)
		require.Len(t, results, 1)
		r := results[0].(map[string]any)
		assert.Equal(t, "<script>alert(1)</script> Title", r["title"])
		assert.Equal(t, "Snippet with bold and <img src=x onerror=alert(1)>", r["snippet"])
		assert.Equal(t, "https://example.com/page?a=1&b=%3Cx%3E", r["url"])
	})
}

// trickle opens a connection to addr, sends head at once, then one piece
// every interval until the server answers and closes, or until giveUp. It
// returns what the server sent and whether it closed the connection.
func trickle(t *testing.T, addr, head string, piece func(i int) string, interval, giveUp time.Duration) (reply string, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)

	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, conn) // until the server closes (or we do)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	stop := time.After(giveUp)
	for i := 0; ; i++ {
		select {
		case <-done:
			return buf.String(), true
		case <-stop:
			_ = conn.Close()
			<-done
			return buf.String(), false
		case <-tick.C:
			_, _ = io.WriteString(conn, piece(i)) // a write error shows as the close
		}
	}
}

// TestAttackSlowBodyIsCut sends the headers of a request and then its body
// a byte at a time: the server stops waiting once the request timeout has
// passed (408, connection closed), for every kind of route, with or without
// Content-Length.
func TestAttackSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"REQUEST_TIMEOUT_SECONDS": "1"})
	addr := c.srv.Listener.Addr().String()
	t.Run("group", func(t *testing.T) {
		slowBodies(t, addr, c.token)
	})
	assert.Empty(t, c.up.groq.Requests(), "no slow request reached a provider")
}

// slowBodies trickles the body of a login and of a chat, with and without
// Content-Length, in parallel subtests, and expects each to be cut.
func slowBodies(t *testing.T, addr, token string) {
	for _, tc := range []struct {
		name, path string
		chunked    bool
	}{
		{"login, Content-Length", "/api/v1/auth/login", false},
		{"login, chunked", "/api/v1/auth/login", true},
		{"chat (no handler timeout), Content-Length", "/api/v1/chat", false},
		{"chat (no handler timeout), chunked", "/api/v1/chat", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			head := "POST " + tc.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token + "\r\n"
			piece := func(int) string { return "a" }
			if tc.chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n" + "a\r\n{\"prompt\":\r\n"
				piece = func(int) string { return "1\r\n \r\n" }
			} else {
				head += "Content-Length: 10000\r\n\r\n" + `{"prompt":"`
			}
			// The server must give up after about 1 s; 15 s proves it never would.
			reply, closed := trickle(t, addr, head, piece, 100*time.Millisecond, 15*time.Second)
			require.True(t, closed, "the server kept reading a slow body; it sent %q", reply)
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(reply)), nil)
			require.NoError(t, err, "reply %q", reply)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assertErrorAnswer(t, response{status: res.StatusCode, header: res.Header, body: raw}, http.StatusRequestTimeout, "request_timeout", "Request body not received in time")
		})
	}
}

// TestAttackStreamOutlivesBodyDeadline checks the other side of the body
// deadline: it bounds the arrival of the body only, so a streamed answer
// may last longer than the request timeout (the chat route is also exempt
// from the handler time limit).
func TestAttackStreamOutlivesBodyDeadline(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, map[string]string{"REQUEST_TIMEOUT_SECONDS": "1"})
	c.up.groq.Default(fakeupstream.OK(fakeupstream.Tokens(6)...).WithInterval(400 * time.Millisecond)) // about 2.4 s
	res := c.openStream(context.Background(), map[string]any{"prompt": "Tell me a slow story"})
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := readEvents(t, res.Body)
	require.NotEmpty(t, events)
	assert.Equal(t, "done", events[len(events)-1].name, "the stream ran to its end: %v", events)
	tokens := 0
	for _, ev := range events {
		if ev.name == "" && !ev.comment {
			tokens++
		}
	}
	assert.Equal(t, 6, tokens)
	assert.Zero(t, c.up.groq.Cancelled(), "the upstream request was not cancelled")
}
