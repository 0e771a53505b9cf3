package jwt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/jwt"
	"github.com/genzai/genzai/domain"
)

const testIssuer = "genzai-test"

var (
	testSecret  = []byte("test-secret-0123456789abcdef-0123456789")
	otherSecret = []byte("another-secret-0123456789abcdef-0123456")
)

func newIssuer() *jwt.Issuer { return jwt.New(testSecret, testIssuer) }

// validClaims are claims Verify accepts when signed with HS256 and testSecret;
// each refusal case changes exactly one thing about them.
func validClaims(now time.Time) gojwt.MapClaims {
	return gojwt.MapClaims{
		"sub":   "user-1",
		"email": "ada@example.com",
		"iss":   testIssuer,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
}

// sign signs claims with any method and key through golang-jwt.
func sign(t *testing.T, method gojwt.SigningMethod, key any, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := gojwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

// b64JSON encodes v as a base64url JWT segment.
func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeSegment decodes one base64url JSON segment of a token.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// hs256 computes an HS256 signature over signing input by hand.
func hs256(secret []byte, input string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		claims domain.TokenClaims
	}{
		{
			name: "typical",
			claims: domain.TokenClaims{
				UserID: "0b8f1d1e-6a43-4c1e-9a53-1f1f3c2b7e10", Email: "ada@example.com",
				IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
			},
		},
		{
			name: "unicode email and sub-second times",
			claims: domain.TokenClaims{
				UserID: "user-ü", Email: "zoë@exämple.com",
				IssuedAt:  now.Add(-10 * time.Minute).Add(987 * time.Millisecond),
				ExpiresAt: now.Add(time.Hour).Add(123 * time.Millisecond),
			},
		},
		{
			name: "empty email",
			claims: domain.TokenClaims{
				UserID: "u", IssuedAt: now, ExpiresAt: now.Add(time.Minute),
			},
		},
		{
			name: "long lifetime",
			claims: domain.TokenClaims{
				UserID: "u-long", Email: "long@example.com",
				IssuedAt: now, ExpiresAt: now.Add(366 * 24 * time.Hour),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := newIssuer()
			token, err := iss.Issue(tc.claims)
			require.NoError(t, err)

			got, err := iss.Verify(token)
			require.NoError(t, err)
			assert.Equal(t, tc.claims.UserID, got.UserID)
			assert.Equal(t, tc.claims.Email, got.Email)
			// exp has second precision; iat keeps microseconds.
			assert.WithinDuration(t, tc.claims.IssuedAt.Truncate(time.Microsecond), got.IssuedAt, 0, "iat keeps microseconds")
			assert.WithinDuration(t, tc.claims.ExpiresAt.Truncate(time.Second), got.ExpiresAt, 0)
		})
	}
}

func TestIssueWritesHeaderAndClaims(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		issuer string
		claims domain.TokenClaims
	}{
		{
			name:   "test issuer",
			issuer: testIssuer,
			claims: domain.TokenClaims{UserID: "user-1", Email: "ada@example.com", IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		},
		{
			name:   "url issuer",
			issuer: "https://genzai.example.com",
			claims: domain.TokenClaims{UserID: "user-2", Email: "bob@example.com", IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(2 * time.Hour)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token, err := jwt.New(testSecret, tc.issuer).Issue(tc.claims)
			require.NoError(t, err)
			parts := strings.Split(token, ".")
			require.Len(t, parts, 3)

			header := decodeSegment(t, parts[0])
			assert.Equal(t, jwt.Algorithm, header["alg"])
			assert.Equal(t, "HS256", header["alg"])
			assert.Equal(t, "JWT", header["typ"])

			claims := decodeSegment(t, parts[1])
			assert.Equal(t, string(tc.claims.UserID), claims["sub"])
			assert.Equal(t, tc.claims.Email, claims["email"])
			assert.Equal(t, tc.issuer, claims["iss"])
			assert.InDelta(t, float64(tc.claims.IssuedAt.UnixMicro())/1e6, claims["iat"], 1e-6)
			assert.InDelta(t, float64(tc.claims.ExpiresAt.Unix()), claims["exp"], 0)

			// The signature is HMAC-SHA256 over header.claims with the secret.
			assert.Equal(t, hs256(testSecret, parts[0]+"."+parts[1]), parts[2])
		})
	}
}

// TestVerifyAcceptsHandBuiltToken is the control for the refusal cases: the
// hand-built claims they start from are themselves valid.
// TestIssuedAtMicroseconds covers iat to the microsecond: two tokens issued
// in one second keep their order (what revoking tokens at an instant needs),
// and iat written by other issuers, whole or fractional, reads exactly.
func TestIssuedAtMicroseconds(t *testing.T) {
	t.Parallel()
	iss := newIssuer()
	second := time.Now().UTC().Truncate(time.Second)

	t.Run("same second, distinct instants", func(t *testing.T) {
		t.Parallel()
		for _, at := range []time.Time{second, second.Add(time.Microsecond), second.Add(999_999 * time.Microsecond), second.Add(1500 * time.Nanosecond)} {
			token, err := iss.Issue(domain.TokenClaims{UserID: "u", IssuedAt: at, ExpiresAt: at.Add(time.Hour)})
			require.NoError(t, err)
			got, err := iss.Verify(token)
			require.NoError(t, err)
			assert.True(t, at.Truncate(time.Microsecond).Equal(got.IssuedAt), "issued %v, read %v", at, got.IssuedAt)
			assert.Equal(t, time.UTC, got.IssuedAt.Location())
		}
	})

	tests := []struct {
		name string
		iat  string
		want time.Time
	}{
		{name: "whole seconds", iat: "1700000000", want: time.Unix(1700000000, 0)},
		{name: "microseconds", iat: "1700000000.123456", want: time.UnixMicro(1700000000_123456)},
		{name: "fewer decimals", iat: "1700000000.5", want: time.UnixMicro(1700000000_500000)},
		{name: "more decimals are dropped", iat: "1700000000.1234569", want: time.UnixMicro(1700000000_123456)},
		{name: "exponent", iat: "1.7e9", want: time.Unix(1700000000, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			input := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." +
				base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-1","iss":"`+testIssuer+`","exp":4102444800,"iat":`+tc.iat+`}`))
			got, err := iss.Verify(input + "." + hs256(testSecret, input))
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(got.IssuedAt), "read %v, want %v", got.IssuedAt, tc.want)
		})
	}

	for _, iat := range []string{`"1700000000"`, "null", "-", "1e400", "true", "1700000000.", ".5"} {
		t.Run("refused "+iat, func(t *testing.T) {
			t.Parallel()
			input := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." +
				base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-1","iss":"`+testIssuer+`","exp":4102444800,"iat":`+iat+`}`))
			_, err := iss.Verify(input + "." + hs256(testSecret, input))
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "err: %v", err)
		})
	}
}

func TestVerifyAcceptsHandBuiltToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{
			name:  "golang-jwt HS256",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, validClaims(now)) },
		},
		{
			name: "by hand HS256",
			token: func(t *testing.T) string {
				input := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + b64JSON(t, validClaims(now))
				return input + "." + hs256(testSecret, input)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newIssuer().Verify(tc.token(t))
			require.NoError(t, err)
			assert.Equal(t, domain.UserID("user-1"), got.UserID)
			assert.Equal(t, "ada@example.com", got.Email)
			assert.Equal(t, now.Unix(), got.IssuedAt.Unix())
			assert.Equal(t, now.Add(time.Hour).Unix(), got.ExpiresAt.Unix())
		})
	}
}

func TestVerifyRefusesInvalidTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	with := func(key string, value any) gojwt.MapClaims {
		c := validClaims(now)
		if value == nil {
			delete(c, key)
		} else {
			c[key] = value
		}
		return c
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{
			name: "alg none by hand",
			token: func(t *testing.T) string {
				return b64JSON(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64JSON(t, validClaims(now)) + "."
			},
		},
		{
			name: "alg NONE by hand",
			token: func(t *testing.T) string {
				return b64JSON(t, map[string]string{"alg": "NONE", "typ": "JWT"}) + "." + b64JSON(t, validClaims(now)) + "."
			},
		},
		{
			name: "alg none with a valid HS256 signature attached",
			token: func(t *testing.T) string {
				input := b64JSON(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64JSON(t, validClaims(now))
				return input + "." + hs256(testSecret, input)
			},
		},
		{
			name: "alg none via golang-jwt",
			token: func(t *testing.T) string {
				return sign(t, gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, validClaims(now))
			},
		},
		{
			name: "no alg header",
			token: func(t *testing.T) string {
				input := b64JSON(t, map[string]string{"typ": "JWT"}) + "." + b64JSON(t, validClaims(now))
				return input + "." + hs256(testSecret, input)
			},
		},
		{
			name:  "HS384 with the same secret",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS384, testSecret, validClaims(now)) },
		},
		{
			name:  "HS512 with the same secret",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS512, testSecret, validClaims(now)) },
		},
		{
			name: "RS256",
			token: func(t *testing.T) string {
				key, err := rsa.GenerateKey(rand.Reader, 2048)
				require.NoError(t, err)
				return sign(t, gojwt.SigningMethodRS256, key, validClaims(now))
			},
		},
		{
			name: "ES256",
			token: func(t *testing.T) string {
				key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				require.NoError(t, err)
				return sign(t, gojwt.SigningMethodES256, key, validClaims(now))
			},
		},
		{
			name:  "HS256 with another secret",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, otherSecret, validClaims(now)) },
		},
		{
			name: "issued by an Issuer with another secret",
			token: func(t *testing.T) string {
				s, err := jwt.New(otherSecret, testIssuer).Issue(domain.TokenClaims{UserID: "user-1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
				require.NoError(t, err)
				return s
			},
		},
		{
			name: "payload altered after signing",
			token: func(t *testing.T) string {
				parts := strings.Split(sign(t, gojwt.SigningMethodHS256, testSecret, validClaims(now)), ".")
				require.Len(t, parts, 3)
				parts[1] = b64JSON(t, with("sub", "admin"))
				return strings.Join(parts, ".")
			},
		},
		{
			name: "header altered after signing",
			token: func(t *testing.T) string {
				parts := strings.Split(sign(t, gojwt.SigningMethodHS256, testSecret, validClaims(now)), ".")
				require.Len(t, parts, 3)
				parts[0] = b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": "x"})
				return strings.Join(parts, ".")
			},
		},
		{
			name: "signature stripped",
			token: func(t *testing.T) string {
				s := sign(t, gojwt.SigningMethodHS256, testSecret, validClaims(now))
				return s[:strings.LastIndexByte(s, '.')+1]
			},
		},
		{
			name:  "no exp",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, with("exp", nil)) },
		},
		{
			name: "wrong iss",
			token: func(t *testing.T) string {
				return sign(t, gojwt.SigningMethodHS256, testSecret, with("iss", "someone-else"))
			},
		},
		{
			name: "wrong iss from an Issuer with the same secret",
			token: func(t *testing.T) string {
				s, err := jwt.New(testSecret, "someone-else").Issue(domain.TokenClaims{UserID: "user-1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
				require.NoError(t, err)
				return s
			},
		},
		{
			name:  "no iss",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, with("iss", nil)) },
		},
		{
			name: "iat far in the future",
			token: func(t *testing.T) string {
				return sign(t, gojwt.SigningMethodHS256, testSecret, with("iat", now.Add(24*time.Hour).Unix()))
			},
		},
		{
			name: "iat far in the future via Issue",
			token: func(t *testing.T) string {
				s, err := newIssuer().Issue(domain.TokenClaims{UserID: "user-1", IssuedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})
				require.NoError(t, err)
				return s
			},
		},
		{
			name: "nbf in the future",
			token: func(t *testing.T) string {
				return sign(t, gojwt.SigningMethodHS256, testSecret, with("nbf", now.Add(time.Hour).Unix()))
			},
		},
		{
			name: "empty sub via Issue",
			token: func(t *testing.T) string {
				s, err := newIssuer().Issue(domain.TokenClaims{UserID: "", Email: "ada@example.com", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
				require.NoError(t, err)
				return s
			},
		},
		{
			name:  "no sub",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, with("sub", nil)) },
		},
		{
			name: "exp is a string",
			token: func(t *testing.T) string {
				return sign(t, gojwt.SigningMethodHS256, testSecret, with("exp", "tomorrow"))
			},
		},
		{
			name:  "sub is a number",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, with("sub", 42)) },
		},
		{
			// Found by this test: Verify dereferenced a nil IssuedAt.
			name:  "no iat",
			token: func(t *testing.T) string { return sign(t, gojwt.SigningMethodHS256, testSecret, with("iat", nil)) },
		},
		{name: "empty string", token: func(*testing.T) string { return "" }},
		{name: "one segment", token: func(*testing.T) string { return "abc" }},
		{name: "two segments", token: func(*testing.T) string { return "a.b" }},
		{name: "three junk segments", token: func(*testing.T) string { return "a.b.c" }},
		{name: "four segments", token: func(*testing.T) string { return "a.b.c.d" }},
		{name: "garbage base64", token: func(*testing.T) string { return "!!!.@@@.###" }},
		{name: "only dots", token: func(*testing.T) string { return ".." }},
		{
			name: "header not JSON",
			token: func(t *testing.T) string {
				return base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + b64JSON(t, validClaims(now)) + ".c2ln"
			},
		},
		{
			name: "claims not JSON",
			token: func(t *testing.T) string {
				input := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + base64.RawURLEncoding.EncodeToString([]byte("not json"))
				return input + "." + hs256(testSecret, input)
			},
		},
		{
			name: "Bearer prefix left on",
			token: func(t *testing.T) string {
				return "Bearer " + sign(t, gojwt.SigningMethodHS256, testSecret, validClaims(now))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token := tc.token(t)
			var (
				got domain.TokenClaims
				err error
			)
			require.NotPanics(t, func() { got, err = newIssuer().Verify(token) })
			require.Error(t, err)
			assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
			assert.Equal(t, "Invalid authentication token", domain.ErrorMessage(err))
			assert.Zero(t, got)
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// exp and iat relative to now
		exp, iat    time.Duration
		wantErr     bool
		wantCode    domain.Code
		wantMessage string
	}{
		{name: "expired an hour ago", exp: -time.Hour, iat: -2 * time.Hour, wantErr: true, wantCode: domain.CodeTokenExpired, wantMessage: "Token has expired"},
		{name: "expired a minute ago", exp: -time.Minute, iat: -time.Hour, wantErr: true, wantCode: domain.CodeTokenExpired, wantMessage: "Token has expired"},
		{name: "expired within the leeway", exp: -10 * time.Second, iat: -time.Hour},
		{name: "expires soon", exp: 5 * time.Second, iat: -time.Hour},
		{name: "iat slightly ahead, within the leeway", exp: time.Hour, iat: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := time.Now()
			iss := newIssuer()
			token, err := iss.Issue(domain.TokenClaims{UserID: "user-1", Email: "ada@example.com", IssuedAt: now.Add(tc.iat), ExpiresAt: now.Add(tc.exp)})
			require.NoError(t, err)

			got, err := iss.Verify(token)
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, domain.UserID("user-1"), got.UserID)
				assert.Equal(t, now.Add(tc.exp).Unix(), got.ExpiresAt.Unix())
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
			assert.Equal(t, tc.wantMessage, domain.ErrorMessage(err))
			assert.Zero(t, got)
		})
	}
}
