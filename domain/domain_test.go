package domain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
)

func TestEmailKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"carol@example.com", "carol@example.com"},
		{"carol+1@example.com", "carol@example.com"},
		{"carol+a+b@example.com", "carol@example.com"},
		{"carol+@example.com", "carol@example.com"},
		{"+carol@example.com", "+carol@example.com"},
		{"c.arol@xn--exmple-cua.com", "c.arol@xn--exmple-cua.com"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, domain.EmailKey(tt.in))
		})
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"empty", "", false},
		{"7 chars", "1234567", false},
		{"8 chars", "12345678", true},
		{"128 chars", strings.Repeat("x", 128), true},
		{"129 chars", strings.Repeat("x", 129), false},
		{"8 multibyte chars", "ééééüüüü", true},
		{"128 multibyte chars count as characters", strings.Repeat("é", 128), true},
		{"7 multibyte chars", "ééééüüü", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := domain.ValidatePassword(tt.password)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
				assert.Equal(t, "password: must be 8 to 128 characters", domain.ErrorMessage(err))
			}
		})
	}
}

func TestQuotaDayAndReset(t *testing.T) {
	t.Parallel()
	plus5 := time.FixedZone("UTC+5", 5*3600)
	tests := []struct {
		name      string
		at        time.Time
		day, next string
	}{
		{"midday", time.Date(2025, 12, 25, 12, 50, 0, 0, time.UTC), "2025-12-25", "2025-12-26T00:00:00Z"},
		{"exact midnight starts the day", time.Date(2025, 12, 26, 0, 0, 0, 0, time.UTC), "2025-12-26", "2025-12-27T00:00:00Z"},
		{"last nanosecond", time.Date(2025, 12, 25, 23, 59, 59, 999999999, time.UTC), "2025-12-25", "2025-12-26T00:00:00Z"},
		{"year end", time.Date(2025, 12, 31, 18, 0, 0, 0, time.UTC), "2025-12-31", "2026-01-01T00:00:00Z"},
		{"other zones count in UTC", time.Date(2025, 12, 26, 3, 0, 0, 0, plus5), "2025-12-25", "2025-12-26T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.day, domain.QuotaDay(tt.at).Format(time.DateOnly))
			assert.Equal(t, time.UTC, domain.QuotaDay(tt.at).Location())
			assert.Equal(t, tt.next, domain.NextQuotaReset(tt.at).Format(time.RFC3339))
		})
	}
}

func TestEffectiveQuotaAndRemaining(t *testing.T) {
	t.Parallel()
	ten, zero := 10, 0
	assert.Equal(t, 50, domain.EffectiveQuota(domain.User{}, 50))
	assert.Equal(t, 10, domain.EffectiveQuota(domain.User{DailyQuota: &ten}, 50))
	assert.Equal(t, 0, domain.EffectiveQuota(domain.User{DailyQuota: &zero}, 50))

	assert.Equal(t, 35, domain.QuotaStatus{Used: 15, Limit: 50}.Remaining())
	assert.Equal(t, 0, domain.QuotaStatus{Used: 50, Limit: 50}.Remaining())
	assert.Equal(t, 0, domain.QuotaStatus{Used: 60, Limit: 50}.Remaining(), "a lowered limit never shows negative")
}

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp: connection refused to db.internal")
	tests := []struct {
		name    string
		err     error
		code    domain.Code
		message string
	}{
		{"nil", nil, "", ""},
		{"domain error", domain.Errorf(domain.CodeConflict, "taken"), domain.CodeConflict, "taken"},
		{"wrapped domain error", fmt.Errorf("create user: %w", domain.Errorf(domain.CodeInvalid, "bad")), domain.CodeInvalid, "bad"},
		{"domain error with cause hides the cause", &domain.Error{Code: domain.CodeUnavailable, Message: "try later", Err: cause}, domain.CodeUnavailable, "try later"},
		{"quota error", fmt.Errorf("consume: %w", &domain.QuotaExceededError{Used: 50, Limit: 50}), domain.CodeQuotaExceeded, "Daily quota exceeded"},
		{"unknown error is internal and says nothing", cause, domain.CodeInternal, "internal error"},
		{"a bare deadline is a timeout", fmt.Errorf("chat: %w", context.DeadlineExceeded), domain.CodeTimeout, "The request timed out"},
		{"a bare cancellation is cancelled", fmt.Errorf("chat: %w", context.Canceled), domain.CodeCancelled, "Request cancelled"},
		{"an adapter's code over its deadline", &domain.Error{Code: domain.CodeSearchUnavailable, Message: "Web search unavailable", Err: context.DeadlineExceeded},
			domain.CodeSearchUnavailable, "Web search unavailable"},
		{"routing errors first, whatever they wrap", fmt.Errorf("chat: %w", &domain.InterruptedError{Err: &domain.Error{Code: domain.CodeUnavailable, Err: context.DeadlineExceeded}}),
			domain.CodeStreamInterrupted, "The AI provider failed in the middle of the answer"},
		{"providers unavailable", &domain.ProvidersUnavailableError{}, domain.CodeProvidersUnavailable, "All AI providers are unavailable"},
		{"provider rate limited", &domain.ProviderRateLimitedError{RetryAfter: time.Second}, domain.CodeProviderRateLimited, "AI provider rate limited"},
		{"upstream rejected", &domain.UpstreamRejectedError{Provider: domain.ProviderGroq, Status: 400, Message: "bad model"}, domain.CodeUpstreamError, "groq rejected the request: bad model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.code, domain.ErrorCode(tt.err))
			assert.Equal(t, tt.message, domain.ErrorMessage(tt.err))
		})
	}
	wrapped := &domain.Error{Code: domain.CodeUnavailable, Message: "try later", Err: cause}
	assert.ErrorIs(t, wrapped, cause, "the cause stays reachable for logs")
	assert.Contains(t, wrapped.Error(), "connection refused")
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"abc-123":                              true,
		"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f": true,
		"trace.id:span_1":                      true,
		strings.Repeat("a", 128):               true,
		"":                                     false,
		"a b":                                  false,
		"line\nbreak":                          false,
		"nul\x00byte":                          false,
		"quote\"":                              false,
		"é":                                    false,
		strings.Repeat("a", 129):               false,
	} {
		assert.Equal(t, want, domain.ValidRequestID(id), "%q", id)
	}
}
