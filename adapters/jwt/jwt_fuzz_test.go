package jwt_test

import (
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

// Seed claims: issued in 2023, valid until 2100, so that committed seeds
// stay valid tokens.
const (
	seedHeader = `{"alg":"HS256","typ":"JWT"}`
	seedClaims = `{"email":"ada@example.com","sub":"user-1","iss":"genzai-test","exp":4102444800,"iat":1700000000}`
)

// segment is s as a base64url token segment.
func segment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signedWith is header.claims signed the HS256 way with secret, whatever
// the header says.
func signedWith(secret []byte, header, claims string) string {
	input := segment(header) + "." + segment(claims)
	return input + "." + hs256(secret, input)
}

// tokenSeeds are tokens of every kind Verify must refuse, around one it
// must accept.
func tokenSeeds(tb testing.TB) []string {
	valid := signedWith(testSecret, seedHeader, seedClaims)
	parts := strings.Split(valid, ".")
	mustSign := func(method gojwt.SigningMethod, key any) string {
		s, err := gojwt.NewWithClaims(method, gojwt.MapClaims{"sub": "user-1", "iss": testIssuer, "iat": 1700000000, "exp": 4102444800}).SignedString(key)
		require.NoError(tb, err)
		return s
	}
	return []string{
		valid,
		signedWith(otherSecret, seedHeader, seedClaims),
		signedWith(testSecret, `{"alg":"none","typ":"JWT"}`, seedClaims),
		signedWith(testSecret, `{"alg":"hs256"}`, seedClaims),
		mustSign(gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType),
		mustSign(gojwt.SigningMethodHS512, testSecret),
		parts[0] + "." + parts[1] + ".",
		// The same signature spelled differently: trailing bits set, padding,
		// a line break inside (base64 decoders skip those).
		parts[0] + "." + parts[1] + "." + paddingSibling(parts[2]),
		valid + "=",
		parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:],
		" " + valid,
		parts[0] + "." + parts[1],
		valid + ".",
		"",
		"..",
		"not a token",
	}
}

// paddingSibling is sig with a padding bit of its last character flipped:
// other text, the same bytes for a lenient base64 decoder.
func paddingSibling(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, sig[len(sig)-1])
	return sig[:len(sig)-1] + string(alphabet[i^1])
}

// FuzzVerify fuzzes the token text. A token verifies only when it is
// byte for byte header.claims followed by their HS256 signature with the
// secret, and its header says HS256; every refusal is a 401 error code.
func FuzzVerify(f *testing.F) {
	for _, s := range tokenSeeds(f) {
		f.Add(s)
	}
	iss := jwt.New(testSecret, testIssuer)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := iss.Verify(token)
		if err != nil {
			code := domain.ErrorCode(err)
			require.True(t, code == domain.CodeUnauthorized || code == domain.CodeTokenExpired, "code %q: %v", code, err)
			return
		}
		parts := strings.Split(token, ".")
		require.Len(t, parts, 3)
		require.Equal(t, hs256(testSecret, parts[0]+"."+parts[1]), parts[2], "a signature spelled differently verified")
		assert.Equal(t, jwt.Algorithm, headerAlg(t, parts[0]))
		assert.NotEmpty(t, c.UserID)
	})
}

// FuzzVerifySigned fuzzes what an attacker cannot sign: the header and the
// claims of a token correctly signed with the secret. Only an HS256 header
// and claims naming our issuer, a subject and a live lifetime verify; the
// same token signed with another secret or without a signature never does.
func FuzzVerifySigned(f *testing.F) {
	for _, tc := range [][2]string{
		{seedHeader, seedClaims},
		{`{"alg":"none"}`, seedClaims},
		{`{"alg":"HS512","typ":"JWT"}`, seedClaims},
		{`{"alg":"none","alg":"HS256"}`, seedClaims},
		{`{"alg":["HS256"]}`, seedClaims},
		{`{"ALG":"HS256"}`, seedClaims},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":1700000001,"iat":1700000000}`},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":4102444800,"iat":4102444700}`},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":4102444800,"iat":1700000000,"nbf":4102444000}`},
		{seedHeader, `{"sub":"","iss":"genzai-test","exp":4102444800,"iat":1700000000}`},
		{seedHeader, `{"sub":"user-1","iss":"someone-else","exp":4102444800,"iat":1700000000}`},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":"4102444800","iat":1700000000}`},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":4.1024448e9,"iat":1e400}`},
		{seedHeader, `{"SUB":"user-1","Iss":"genzai-test","exp":4102444800,"iat":1700000000,"aud":["x"]}`},
		{seedHeader, `{"sub":"user-1","iss":"genzai-test","exp":4102444800,"iat":1700000000} trailing`},
		{seedHeader, `null`},
	} {
		f.Add(tc[0], tc[1])
	}
	iss := jwt.New(testSecret, testIssuer)
	f.Fuzz(func(t *testing.T, header, claims string) {
		for _, forged := range []string{
			signedWith(otherSecret, header, claims),
			segment(header) + "." + segment(claims) + ".",
		} {
			_, err := iss.Verify(forged)
			require.Error(t, err, "verified without the secret: %q", forged)
		}
		token := signedWith(testSecret, header, claims)
		c, err := iss.Verify(token)
		if err != nil {
			return
		}
		assert.Equal(t, jwt.Algorithm, headerAlg(t, segment(header)), "verified with another algorithm")
		var reg struct {
			Issuer string `json:"iss"`
		}
		require.NoError(t, json.Unmarshal([]byte(claims), &reg))
		assert.Equal(t, testIssuer, reg.Issuer)
		assert.NotEmpty(t, c.UserID)
		// The parser allows 30 s of clock skew either way.
		now := time.Now()
		assert.True(t, c.ExpiresAt.After(now.Add(-time.Minute)), "expired at %v", c.ExpiresAt)
		assert.True(t, c.IssuedAt.Before(now.Add(time.Minute)), "issued in the future at %v", c.IssuedAt)
	})
}

// headerAlg is the alg member of a header segment, read as the parser
// reads it (a JSON object; the last of repeated members).
func headerAlg(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(b, &h))
	alg, _ := h["alg"].(string)
	return alg
}
