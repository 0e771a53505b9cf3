package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		{"quota", fmt.Errorf("consume: %w", &domain.QuotaExceededError{Used: 50, Limit: 50}), 429, errorBody{Error: "Daily quota exceeded", Code: "quota_exceeded", Used: &used, Limit: &limit}},
		{"unavailable", &domain.Error{Code: domain.CodeUnavailable, Message: "Service temporarily unavailable", Err: errors.New("dial tcp 10.0.0.5:5432")}, 503, errorBody{Error: "Service temporarily unavailable", Code: "unavailable"}},
		{"domain internal hides its message", domain.Errorf(domain.CodeInternal, "secret detail"), 500, errorBody{Error: "internal error", Code: "internal"}},
		{"unknown error", errors.New("pq: password=hunter2 leaked"), 500, errorBody{Error: "internal error", Code: "internal"}},
		{"echo 404", echo.ErrNotFound, 404, errorBody{Error: "Not Found", Code: "not_found"}},
		{"echo 405", echo.ErrMethodNotAllowed, 405, errorBody{Error: "Method Not Allowed", Code: "method_not_allowed"}},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, errorBody{Error: "Request body too large (limit 50000 bytes)", Code: "payload_too_large"}},
		{"body reader limit", fmt.Errorf("bind: %w", &http.MaxBytesError{Limit: 50000}), 413, errorBody{Error: "Request body too large (limit 50000 bytes)", Code: "payload_too_large"}},
		{"echo 415", echo.ErrUnsupportedMediaType, 415, errorBody{Error: "Request body must be application/json", Code: "unsupported_media_type"}},
		{"bind syntax", echo.NewHTTPError(400, "Syntax error: offset=3, error=invalid character"), 400, errorBody{Error: "Invalid JSON body: Syntax error: offset=3, error=invalid character", Code: "invalid_request"}},
		{"echo 500 hides its message", echo.NewHTTPError(500, "boom at /srv/x.go"), 500, errorBody{Error: "internal error", Code: "internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := s.errorResponse(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.body, body)
		})
	}
}

// TestEveryCodeHasAStatus keeps the table complete as codes are added.
func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []domain.Code{domain.CodeInvalid, domain.CodeUnauthorized, domain.CodeTokenExpired, domain.CodeForbidden,
		domain.CodeNotFound, domain.CodeConflict, domain.CodeQuotaExceeded, domain.CodeUnavailable, domain.CodeInternal,
		domain.CodeFeatureDisabled, domain.CodeSearchUnavailable, domain.CodeEmailUnverified, domain.CodeRateLimited} {
		_, ok := statusByCode[c]
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
