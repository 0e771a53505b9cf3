package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

func TestErrorTable(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	used, limit := 50, 50
	tests := []struct {
		name   string
		err    error
		status int
		body   errorBody
	}{
		{"invalid", domain.Errorf(domain.CodeInvalid, "email: is required"), 400, errorBody{Error: "email: is required", Code: "invalid_request"}},
		{"unauthorized", domain.Errorf(domain.CodeUnauthorized, "Invalid email or password"), 401, errorBody{Error: "Invalid email or password", Code: "unauthorized"}},
		{"expired", domain.Errorf(domain.CodeTokenExpired, "Token has expired"), 401, errorBody{Error: "Token has expired", Code: "token_expired"}},
		{"forbidden", domain.Errorf(domain.CodeForbidden, "Account is disabled"), 403, errorBody{Error: "Account is disabled", Code: "forbidden"}},
		{"email unverified", domain.Errorf(domain.CodeEmailUnverified, "Confirm your email address first"), 403, errorBody{Error: "Confirm your email address first", Code: "email_unverified"}},
		{"not found", domain.Errorf(domain.CodeNotFound, "user not found"), 404, errorBody{Error: "user not found", Code: "not_found"}},
		{"conflict wrapped", fmt.Errorf("create user: %w", domain.Errorf(domain.CodeConflict, "taken")), 409, errorBody{Error: "taken", Code: "conflict"}},
		{"conversation busy", fmt.Errorf("begin turn: %w", &domain.ConversationBusyError{ID: "c1"}), 409,
			errorBody{Error: "This conversation is answering another message: try again when it ends", Code: "conversation_busy"}},
		{"quota", fmt.Errorf("consume: %w", &domain.QuotaExceededError{Used: 50, Limit: 50}), 429, errorBody{Error: "Daily quota exceeded", Code: "quota_exceeded", Used: &used, Limit: &limit}},
		{"unavailable", &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable", Err: errors.New("dial tcp 10.0.0.5:5432")}, 503, errorBody{Error: "Service temporarily unavailable", Code: "unavailable"}},
		{"domain internal hides its message", domain.Errorf(domain.CodeInternal, "secret detail"), 500, errorBody{Error: "internal error", Code: "internal"}},
		{"unknown error", errors.New("pq: password=hunter2 leaked"), 500, errorBody{Error: "internal error", Code: "internal"}},
		{"echo 404", echo.ErrNotFound, 404, errorBody{Error: "Not Found", Code: "not_found"}},
		{"echo 405", echo.ErrMethodNotAllowed, 405, errorBody{Error: "Method Not Allowed", Code: "method_not_allowed"}},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, errorBody{Error: "Request body too large (limit 50000 bytes)", Code: "payload_too_large"}},
		{"body reader limit", fmt.Errorf("bind: %w", &http.MaxBytesError{Limit: 50000}), 413, errorBody{Error: "Request body too large (limit 50000 bytes)", Code: "payload_too_large"}},
		{"echo 415", echo.ErrUnsupportedMediaType, 415, errorBody{Error: "Request body must be application/json", Code: "unsupported_media_type"}},
		{"bind syntax, worded by the decoder", echo.NewHTTPError(400, "x").SetInternal(&domain.Error{Code: domain.CodeInvalid, Message: "Invalid JSON at line 1, column 3: invalid character", Err: &json.SyntaxError{Offset: 3}}),
			400, errorBody{Error: "Invalid JSON at line 1, column 3: invalid character", Code: "invalid_request"}},
		{"echo 500 hides its message", echo.NewHTTPError(500, "boom at /srv/x.go"), 500, errorBody{Error: "internal error", Code: "internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := s.answerError(tt.err)
			assert.Equal(t, tt.status, a.status)
			assert.Equal(t, tt.body, a.body)
		})
	}
}

// TestEveryCodeHasAStatus keeps the table complete as codes are added.
func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []domain.Code{domain.CodeInvalid, domain.CodeUnauthorized, domain.CodeTokenExpired, domain.CodeForbidden,
		domain.CodeNotFound, domain.CodeConflict, domain.CodeQuotaExceeded, domain.CodeUnavailable, domain.CodeInternal,
		domain.CodeFeatureDisabled, domain.CodeSearchUnavailable, domain.CodeEmailUnverified, domain.CodeRateLimited} {
		_, ok := nativeErrors[c]
		assert.True(t, ok, "code %s", c)
	}
}

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, err := New(Config{Environment: "development", MaxBodyBytes: 1000, ReadyTimeout: time.Second}, Deps{}, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	s.echo.GET("/boom", func(echo.Context) error { panic("kaboom") })

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "internal error", body["error"])
	assert.Equal(t, "internal", body["code"])
	assert.Equal(t, rec.Header().Get("X-Request-ID"), body["request_id"])
	assert.Contains(t, logs.String(), "kaboom", "the detail goes to the log")
	assert.Contains(t, logs.String(), body["request_id"], "under the request id")
}

// TestEveryCodeHasARow keeps both dialects' tables complete: a code added
// to domain.Codes needs a native answer and an OpenAI one.
func TestEveryCodeHasARow(t *testing.T) {
	t.Parallel()
	for _, c := range domain.Codes() {
		assert.Contains(t, nativeErrors, c, "native table")
		assert.Contains(t, openAIErrors, c, "OpenAI table")
	}
	assert.Len(t, nativeErrors, len(domain.Codes()), "no row for a code that does not exist")
	assert.Len(t, openAIErrors, len(domain.Codes()), "no row for a code that does not exist")
}

// TestNativeTable is each code's answer in the native API: status, wire
// code and challenge.
func TestNativeTable(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	tests := []struct {
		code      domain.Code
		status    int
		wire      string
		challenge string
	}{
		{domain.CodeInvalid, 400, "invalid_request", ""},
		{domain.CodeUnauthorized, 401, "unauthorized", "Bearer"},
		{domain.CodeInvalidToken, 401, "unauthorized", `Bearer error="invalid_token"`},
		{domain.CodeTokenExpired, 401, "token_expired", `Bearer error="invalid_token"`},
		{domain.CodeForbidden, 403, "forbidden", ""},
		{domain.CodeEmailUnverified, 403, "email_unverified", ""},
		{domain.CodeNotFound, 404, "not_found", ""},
		{domain.CodeMethodNotAllowed, 405, "method_not_allowed", ""},
		{domain.CodeConflict, 409, "conflict", ""},
		{domain.CodeConversationBusy, 409, "conversation_busy", ""},
		{domain.CodeRequestTimeout, 408, "request_timeout", ""},
		{domain.CodePayloadTooLarge, 413, "payload_too_large", ""},
		{domain.CodeUnsupportedMediaType, 415, "unsupported_media_type", ""},
		{domain.CodeQuotaExceeded, 429, "quota_exceeded", ""},
		{domain.CodeRateLimited, 429, "rate_limited", ""},
		{domain.CodeProviderRateLimited, 429, "provider_rate_limited", ""},
		{domain.CodeProvidersUnavailable, 503, "providers_unavailable", ""},
		{domain.CodeUpstreamError, 502, "upstream_error", ""},
		{domain.CodeStreamInterrupted, 502, "stream_interrupted", ""},
		{domain.CodeTimeout, 504, "timeout", ""},
		{domain.CodeCancelled, 503, "unavailable", ""},
		{domain.CodeUnavailable, 503, "unavailable", ""},
		{domain.CodeShuttingDown, 503, "unavailable", ""},
		{domain.CodeFeatureDisabled, 503, "feature_disabled", ""},
		{domain.CodeSearchUnavailable, 503, "search_unavailable", ""},
		{domain.CodeInternal, 500, "internal", ""},
	}
	require.Len(t, tests, len(domain.Codes()), "a case per code")
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			a := s.answerError(domain.Errorf(tt.code, "Something about it"))
			assert.Equal(t, tt.status, a.status)
			assert.Equal(t, tt.wire, a.body.Code)
			assert.Equal(t, tt.challenge, a.challenge)
			assert.Equal(t, tt.code, a.code)
		})
	}
}

// TestOpenAITable is each code's answer in the OpenAI dialect: OpenAI's
// error type and code.
func TestOpenAITable(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	tests := []struct {
		code    domain.Code
		typ     string
		wire    string
		noRetry bool
	}{
		{domain.CodeInvalid, "invalid_request_error", "invalid_request", false},
		{domain.CodeUnauthorized, "authentication_error", "invalid_api_key", false},
		{domain.CodeInvalidToken, "authentication_error", "invalid_api_key", false},
		{domain.CodeTokenExpired, "authentication_error", "token_expired", false},
		{domain.CodeForbidden, "permission_error", "forbidden", false},
		{domain.CodeEmailUnverified, "permission_error", "email_unverified", false},
		{domain.CodeNotFound, "not_found_error", "not_found", false},
		{domain.CodeMethodNotAllowed, "invalid_request_error", "method_not_allowed", false},
		{domain.CodeConflict, "invalid_request_error", "conflict", false},
		{domain.CodeConversationBusy, "invalid_request_error", "conversation_busy", false},
		{domain.CodeRequestTimeout, "invalid_request_error", "request_timeout", false},
		{domain.CodePayloadTooLarge, "invalid_request_error", "payload_too_large", false},
		{domain.CodeUnsupportedMediaType, "invalid_request_error", "unsupported_media_type", false},
		{domain.CodeQuotaExceeded, "insufficient_quota", "daily_quota_exceeded", true},
		{domain.CodeRateLimited, "rate_limit_error", "rate_limited", false},
		{domain.CodeProviderRateLimited, "rate_limit_error", "provider_rate_limited", false},
		{domain.CodeProvidersUnavailable, "server_error", "providers_unavailable", false},
		{domain.CodeUpstreamError, "server_error", "upstream_error", false},
		{domain.CodeStreamInterrupted, "server_error", "stream_interrupted", false},
		{domain.CodeTimeout, "server_error", "timeout", false},
		{domain.CodeCancelled, "server_error", "unavailable", false},
		{domain.CodeUnavailable, "server_error", "unavailable", false},
		{domain.CodeShuttingDown, "server_error", "unavailable", false},
		{domain.CodeFeatureDisabled, "server_error", "feature_disabled", false},
		{domain.CodeSearchUnavailable, "server_error", "search_unavailable", false},
		{domain.CodeInternal, "server_error", "internal", false},
	}
	require.Len(t, tests, len(domain.Codes()), "a case per code")
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			a := s.answerError(domain.Errorf(tt.code, "Something about it"))
			require.NoError(t, writeOpenAIError(rec, a))
			assert.Equal(t, a.status, rec.Code)
			var body api.OpenAIErrorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tt.typ, string(body.Error.Type))
			require.NotNil(t, body.Error.Code)
			assert.Equal(t, tt.wire, *body.Error.Code)
			assert.Nil(t, body.Error.Param, "no field named")
			if tt.noRetry {
				assert.Equal(t, "false", rec.Header().Get("X-Should-Retry"))
			} else {
				assert.Empty(t, rec.Header().Get("X-Should-Retry"))
			}
		})
	}
}

// TestErrorDetails: the details of an answer come from the typed error
// behind its code, not from its message.
func TestErrorDetails(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	secs := func(n int) *int { return &n }
	quota := &domain.Error{Code: domain.CodeQuotaExceeded, Message: "Daily quota exceeded", RetryAfter: 90*time.Minute + 500*time.Millisecond,
		Err: &domain.QuotaExceededError{Used: 5, Limit: 5}}
	tests := []struct {
		name       string
		err        error
		status     int
		body       errorBody
		retryAfter int
	}{
		{"per-IP rate limit", &RateLimitedError{RetryAfter: 7}, 429, errorBody{Error: "Rate limit exceeded", Code: "rate_limited", RetryAfter: secs(7)}, 7},
		{"body too slow", fmt.Errorf("read: %w", &BodyTimeoutError{Err: os.ErrDeadlineExceeded}), 408, errorBody{Error: "Request body not received in time", Code: "request_timeout"}, 0},
		{"provider rate limited, rounded up", &domain.ProviderRateLimitedError{RetryAfter: 2500 * time.Millisecond}, 429,
			errorBody{Error: "AI provider rate limited", Code: "provider_rate_limited", RetryAfter: secs(3)}, 3},
		{"providers unavailable", &domain.ProvidersUnavailableError{Attempts: []domain.Attempt{{Provider: "groq", Reason: "timeout"}}}, 503,
			errorBody{Error: "All AI providers are unavailable", Code: "providers_unavailable", Attempts: []attemptBody{{Provider: "groq", Reason: "timeout"}}}, 0},
		{"no attempts is an empty list", &domain.ProvidersUnavailableError{}, 503,
			errorBody{Error: "All AI providers are unavailable", Code: "providers_unavailable", Attempts: []attemptBody{}}, 0},
		{"upstream rejected", &domain.UpstreamRejectedError{Provider: "groq", Status: 400, Message: "bad tool"}, 502,
			errorBody{Error: "groq rejected the request: bad tool", Code: "upstream_error", Provider: "groq"}, 0},
		{"interrupted", &domain.InterruptedError{Err: errors.New("reset")}, 502, errorBody{Error: "The AI provider failed in the middle of the answer", Code: "stream_interrupted"}, 0},
		{"deadline", fmt.Errorf("chat: %w", context.DeadlineExceeded), 504, errorBody{Error: "The request timed out", Code: "timeout"}, 0},
		{"cancelled", fmt.Errorf("chat: %w", context.Canceled), 503, errorBody{Error: "Request cancelled", Code: "unavailable"}, 0},
		{"quota: Retry-After in the header only", quota, 429, errorBody{Error: "Daily quota exceeded", Code: "quota_exceeded", Used: secs(5), Limit: secs(5)}, 5401},
		{"invalid token", &domain.Error{Code: domain.CodeInvalidToken, Message: "Invalid authentication token"}, 401, errorBody{Error: "Invalid authentication token", Code: "unauthorized"}, 0},
		{"trailing data, through Echo's binder", echo.NewHTTPError(400, errTrailingData.Error()).SetInternal(errTrailingData), 400,
			errorBody{Error: "Invalid JSON body: unexpected data after the JSON value", Code: "invalid_request"}, 0},
		{"type error, worded by the decoder", echo.NewHTTPError(400, "x").SetInternal(domain.Invalid("messages[0].content", "must be a string")), 400,
			errorBody{Error: "messages[0].content: must be a string", Code: "invalid_request"}, 0},
		{"a binder message is not parsed", echo.NewHTTPError(400, "Syntax error: but no JSON error behind it"), 400,
			errorBody{Error: "Syntax error: but no JSON error behind it", Code: "invalid_request"}, 0},
		{"empty body", echo.NewHTTPError(400, "EOF").SetInternal(io.EOF), 400, errorBody{Error: "Invalid JSON body: the body is empty", Code: "invalid_request"}, 0},
		{"search unavailable, with its reason", fmt.Errorf("search: %w", &domain.SearchUnavailableError{Reason: domain.SearchBlocked, Err: errors.New("status 202")}), 503,
			errorBody{Error: "Web search temporarily unavailable: the search engine is refusing this server's requests", Code: "search_unavailable", Reason: "blocked"}, 0},
		{"host refused", errBadHost, 400, errorBody{Error: "Invalid host header", Code: "invalid_request"}, 0},
		{"not JSON", errNotJSON, 415, errorBody{Error: "Request body must be application/json", Code: "unsupported_media_type"}, 0},
		{"too large by its length", errTooLarge(50000, nil), 413, errorBody{Error: "Request body too large (limit 50000 bytes)", Code: "payload_too_large"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := s.answerError(tt.err)
			assert.Equal(t, tt.status, a.status)
			assert.Equal(t, tt.body, a.body)
			assert.Equal(t, tt.retryAfter, a.retryAfter)
		})
	}
}

// TestOpenAIParamFromField: OpenAI's param is the field the error names,
// never read from its message.
func TestOpenAIParamFromField(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	tests := []struct {
		name  string
		err   error
		param *string
	}{
		{"a field", fmt.Errorf("chat: %w", domain.Invalid("messages[1].role", "must be user, assistant or system")), ptr("messages[1].role")},
		{"a message shaped like one names none", domain.Errorf(domain.CodeInvalid, "model: must be fast"), nil},
		{"not a field error", errBodyNotUTF8, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, _ := toOpenAIError(s.answerError(tt.err))
			assert.Equal(t, tt.param, body.Error.Param)
			assert.Equal(t, "invalid_request_error", body.Error.Type)
		})
	}
}

// TestOpenAIQuotaMessage: the quota's refusal says how much was used, from
// the typed error.
func TestOpenAIQuotaMessage(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	body, kind := toOpenAIError(s.answerError(&domain.QuotaExceededError{Used: 3, Limit: 3}))
	assert.Equal(t, "Daily quota exceeded (3 of 3 requests used today)", body.Error.Message)
	assert.True(t, kind.noRetry)
}

func ptr[T any](v T) *T { return &v }

// TestTokenRefused: an access token the login use case refuses as
// unauthorized is an invalid token (challenge invalid_token, wire code and
// message unchanged); its other refusals keep their codes.
func TestTokenRefused(t *testing.T) {
	t.Parallel()
	s := &Server{cfg: Config{MaxBodyBytes: 50000}}
	tests := []struct {
		name      string
		err       error
		code      domain.Code
		challenge string
	}{
		{"bad token", domain.Errorf(domain.CodeUnauthorized, "Invalid authentication token"), domain.CodeInvalidToken, `Bearer error="invalid_token"`},
		{"expired", domain.Errorf(domain.CodeTokenExpired, "Token has expired"), domain.CodeTokenExpired, `Bearer error="invalid_token"`},
		{"disabled", domain.Errorf(domain.CodeForbidden, "Account is disabled"), domain.CodeForbidden, ""},
		{"database down", &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable"}, domain.CodeUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tokenRefused(tt.err)
			assert.Equal(t, tt.code, domain.ErrorCode(err))
			assert.Equal(t, domain.ErrorMessage(tt.err), domain.ErrorMessage(err), "the message stays")
			a := s.answerError(err)
			assert.Equal(t, tt.challenge, a.challenge)
			assert.ErrorIs(t, err, tt.err, "the cause stays for the logs")
		})
	}
	// The missing token is merely unauthorized: a plain challenge.
	a := s.answerError(domain.Errorf(domain.CodeUnauthorized, "Missing bearer token"))
	assert.Equal(t, "Bearer", a.challenge)
	assert.Equal(t, "unauthorized", a.body.Code)
}

// TestSpecListsEveryWireCode: the spec's Error.code names every code the
// native table can put on the wire, and no code that never gets there.
func TestSpecListsEveryWireCode(t *testing.T) {
	t.Parallel()
	doc, err := api.GetSpec()
	require.NoError(t, err)
	desc := doc.Components.Schemas["Error"].Value.Properties["code"].Value.Description
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(desc, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z') }) {
		words[w] = true
	}
	for code, row := range nativeErrors {
		wire := string(code)
		// shutting_down is the last event of a stream the shutdown ended;
		// as an answer it is unavailable.
		if row.wire != "" {
			wire = string(row.wire)
			assert.True(t, !words[string(code)] || code == domain.CodeShuttingDown, "%s never reaches the wire (it is %s there)", code, wire)
		}
		assert.True(t, words[wire], "Error.code's description lists %s", wire)
	}
}

// TestSpecListsEverySearchFailure: the spec's WebSearchFailure enum is
// domain's list of reasons, no more, no less.
func TestSpecListsEverySearchFailure(t *testing.T) {
	t.Parallel()
	doc, err := api.GetSpec()
	require.NoError(t, err)
	var inSpec, inDomain []string
	for _, v := range doc.Components.Schemas["WebSearchFailure"].Value.Enum {
		inSpec = append(inSpec, v.(string))
	}
	for _, f := range domain.SearchFailures() {
		inDomain = append(inDomain, string(f))
		assert.NotEqual(t, "Web search temporarily unavailable", (&domain.SearchUnavailableError{Reason: f}).PublicMessage(), "%s is said in words", f)
	}
	assert.ElementsMatch(t, inDomain, inSpec)
}
