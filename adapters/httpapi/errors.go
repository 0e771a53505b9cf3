package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/domain"
)

// statusByCode is the one table that maps domain error codes to HTTP.
var statusByCode = map[domain.Code]int{
	domain.CodeInvalid:           http.StatusBadRequest,
	domain.CodeUnauthorized:      http.StatusUnauthorized,
	domain.CodeTokenExpired:      http.StatusUnauthorized,
	domain.CodeForbidden:         http.StatusForbidden,
	domain.CodeEmailUnverified:   http.StatusForbidden,
	domain.CodeNotFound:          http.StatusNotFound,
	domain.CodeConflict:          http.StatusConflict,
	domain.CodeQuotaExceeded:     http.StatusTooManyRequests,
	domain.CodeRateLimited:       http.StatusTooManyRequests,
	domain.CodeUnavailable:       http.StatusServiceUnavailable,
	domain.CodeFeatureDisabled:   http.StatusServiceUnavailable,
	domain.CodeSearchUnavailable: http.StatusServiceUnavailable,
	domain.CodeInternal:          http.StatusInternalServerError,
}

// codeByStatus names the errors Echo raises itself (routing, binding, limits).
var codeByStatus = map[int]string{
	http.StatusBadRequest:            string(domain.CodeInvalid),
	http.StatusUnauthorized:          string(domain.CodeUnauthorized),
	http.StatusForbidden:             string(domain.CodeForbidden),
	http.StatusNotFound:              string(domain.CodeNotFound),
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              string(domain.CodeConflict),
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusServiceUnavailable:    string(domain.CodeUnavailable),
}

// errorBody is the JSON of every non-2xx answer (api.Error plus extras).
type errorBody struct {
	Error      string        `json:"error"`
	Code       string        `json:"code"`
	RequestID  string        `json:"request_id"`
	Used       *int          `json:"used,omitempty"`
	Limit      *int          `json:"limit,omitempty"`
	RetryAfter *int          `json:"retry_after,omitempty"`
	Provider   string        `json:"provider,omitempty"`
	Attempts   []attemptBody `json:"attempts,omitempty"`
}

type attemptBody struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
}

// chatErrorResponse maps the routing errors of the chat use case.
func chatErrorResponse(err error) (int, errorBody, bool) {
	var (
		pu *domain.ProvidersUnavailableError
		pr *domain.ProviderRateLimitedError
		ur *domain.UpstreamRejectedError
		ie *domain.InterruptedError
	)
	switch {
	case errors.As(err, &pr):
		secs := int(pr.RetryAfter / time.Second)
		return http.StatusTooManyRequests, errorBody{Error: "AI provider rate limited", Code: "provider_rate_limited", RetryAfter: &secs}, true
	case errors.As(err, &pu):
		body := errorBody{Error: "All AI providers are unavailable", Code: "providers_unavailable", Attempts: []attemptBody{}}
		for _, a := range pu.Attempts {
			body.Attempts = append(body.Attempts, attemptBody{Provider: string(a.Provider), Reason: string(a.Reason)})
		}
		return http.StatusServiceUnavailable, body, true
	case errors.As(err, &ur):
		msg := string(ur.Provider) + " rejected the request"
		if ur.Message != "" {
			msg += ": " + ur.Message
		}
		return http.StatusBadGateway, errorBody{Error: msg, Code: "upstream_error", Provider: string(ur.Provider)}, true
	case errors.As(err, &ie):
		return http.StatusBadGateway, errorBody{Error: "The AI provider failed in the middle of the answer", Code: "stream_interrupted"}, true
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, errorBody{Error: "The request timed out", Code: "timeout"}, true
	}
	return 0, errorBody{}, false
}

// errorResponse turns any error into a status and body. Unknown errors
// become 500 "internal error"; their detail only goes to the log.
func (s *Server) errorResponse(err error) (int, errorBody) {
	var slow *BodyTimeoutError
	if errors.As(err, &slow) {
		return http.StatusRequestTimeout, errorBody{Error: slow.Error(), Code: "request_timeout"}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return s.echoErrorResponse(echo.ErrStatusRequestEntityTooLarge)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return s.echoErrorResponse(he)
	}
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return http.StatusTooManyRequests, errorBody{Error: "Rate limit exceeded", Code: "rate_limited", RetryAfter: &rl.RetryAfter}
	}
	if status, body, ok := chatErrorResponse(err); ok {
		return status, body
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		return http.StatusServiceUnavailable, errorBody{Error: "Request cancelled", Code: string(domain.CodeUnavailable)}
	}
	code := domain.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code = http.StatusInternalServerError, domain.CodeInternal
	}
	body := errorBody{Error: domain.ErrorMessage(err), Code: string(code)}
	if status == http.StatusInternalServerError {
		body.Error = "internal error"
	}
	var qe *domain.QuotaExceededError
	if errors.As(err, &qe) {
		body.Used, body.Limit = &qe.Used, &qe.Limit
	}
	if ra := domain.RetryAfter(err); ra > 0 {
		// Whole seconds, rounded up: "Retry-After: 0" would invite a retry storm.
		secs := int((ra + time.Second - 1) / time.Second)
		body.RetryAfter = &secs
	}
	return status, body
}

func (s *Server) echoErrorResponse(he *echo.HTTPError) (int, errorBody) {
	status := he.Code
	code, ok := codeByStatus[status]
	if !ok {
		code = string(domain.CodeInternal)
		if status < http.StatusInternalServerError {
			code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
	}
	msg := http.StatusText(status)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	switch status {
	case http.StatusBadRequest:
		// Echo's binder reports JSON problems as "Syntax error: offset=..."
		// or "Unmarshal type error: ... field=..."; say what it is about.
		switch {
		case errors.Is(he.Internal, io.ErrUnexpectedEOF):
			msg = "Invalid JSON body: unexpected end of input"
		case errors.Is(he.Internal, io.EOF):
			msg = "Invalid JSON body: the body is empty"
		case strings.HasPrefix(msg, "Syntax error") || strings.HasPrefix(msg, "Unmarshal type error"):
			msg = "Invalid JSON body: " + msg
		}
	case http.StatusRequestEntityTooLarge:
		msg = fmt.Sprintf("Request body too large (limit %d bytes)", s.cfg.MaxBodyBytes)
	case http.StatusUnsupportedMediaType:
		msg = "Request body must be application/json"
	}
	if status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable {
		msg = "internal error"
	}
	return status, errorBody{Error: msg, Code: code}
}

// handleError is Echo's HTTPErrorHandler: the single place where errors
// become HTTP answers.
func (s *Server) handleError(err error, c echo.Context) {
	reqID := requestID(c)
	if c.Response().Committed {
		s.log.Warn("error after response started", "request_id", reqID, "error", err)
		return
	}
	status, body := s.errorResponse(err)
	body.RequestID = reqID
	switch {
	case status == http.StatusInternalServerError:
		s.log.Error("internal error", "request_id", reqID, "method", c.Request().Method, "route", c.Path(), "error", err)
	case status == http.StatusServiceUnavailable:
		s.log.Warn("dependency unavailable", "request_id", reqID, "route", c.Path(), "error", err)
	}
	if status == http.StatusRequestTimeout {
		// The connection's read deadline has passed: it carries no more requests.
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
	if body.RetryAfter != nil {
		c.Response().Header().Set("Retry-After", strconv.Itoa(*body.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		challenge := "Bearer"
		if body.Code == string(domain.CodeTokenExpired) || body.Error == "Invalid authentication token" {
			challenge = `Bearer error="invalid_token"`
		}
		c.Response().Header().Set("WWW-Authenticate", challenge)
	}
	switch {
	case c.Request().Method == http.MethodHead:
		err = c.NoContent(status)
	case isOpenAIPath(c.Request().URL.Path):
		err = writeOpenAIError(c.Response(), status, body)
	default:
		err = c.JSON(status, body)
	}
	if err != nil {
		s.log.Warn("write error response", "request_id", reqID, "error", err)
	}
}

// logLevelFor is the access-log level for a status.
func logLevelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
