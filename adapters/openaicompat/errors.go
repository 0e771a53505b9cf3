package openaicompat

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// MaxRetryAfter caps how long an upstream can make a key cool down, so that
// a buggy header cannot bench a key for years.
const MaxRetryAfter = 24 * time.Hour

// maxMessage bounds the upstream message kept in a ProviderError.
const maxMessage = 300

// redacted replaces every occurrence of an API key in error text.
const redacted = "[redacted]"

// Failure reasons (domain.ProviderError.Reason).
const (
	reasonRateLimited = domain.ReasonRateLimited
	reasonKeyRejected = domain.ReasonKeyRejected
	reasonServer      = domain.ReasonServerError
	reasonTimeout     = domain.ReasonTimeout
	reasonConnection  = domain.ReasonConnectionError
	reasonCutOff      = domain.ReasonCutOff
	reasonBadResponse = domain.ReasonBadResponse
	reasonCaller      = domain.ReasonCallerError
)

// DefaultParseError classifies an upstream error answer the OpenAI way: by
// HTTP status, or, for an error object inside a 2xx answer, by the object's
// code when it is an HTTP status. It never returns nil; Provider is left for
// the client to fill.
func DefaultParseError(status int, header http.Header, body []byte) *domain.ProviderError {
	eb := parseErrorBody(body)
	effective := status
	if status >= 200 && status < 300 {
		// An error object in a successful answer: the HTTP status says
		// nothing, the object's code may (OpenRouter puts the real one there).
		effective = 0
		if eb.code >= 400 && eb.code <= 599 {
			effective = eb.code
		}
	}
	pe := &domain.ProviderError{Status: status, Message: eb.message}
	if effective != 0 {
		pe.Status = effective
	}
	switch {
	case effective == 0:
		pe.Class, pe.Reason = domain.FailureRetryable, reasonServer
	case effective == http.StatusTooManyRequests:
		pe.Class, pe.Reason = domain.FailureRateLimited, reasonRateLimited
		pe.RetryAfter = retryAfter(header, time.Now())
	case effective == http.StatusUnauthorized, effective == http.StatusForbidden,
		// 402 (out of credits) is about the account behind this key: another
		// key of the same provider may still work.
		effective == http.StatusPaymentRequired:
		pe.Class, pe.Reason = domain.FailureKeyRejected, reasonKeyRejected
	case effective == http.StatusBadRequest, effective == http.StatusNotFound, effective == http.StatusConflict,
		effective == http.StatusRequestEntityTooLarge, effective == http.StatusUnprocessableEntity:
		pe.Class, pe.Reason = domain.FailureCaller, reasonCaller
	case effective == http.StatusRequestTimeout, effective >= 500:
		pe.Class, pe.Reason = domain.FailureRetryable, reasonServer
	default:
		// 3xx, other 4xx: an answer we do not understand; another provider may do better.
		pe.Class, pe.Reason = domain.FailureRetryable, reasonBadResponse
	}
	return pe
}

// errorBody is what an upstream error answer says.
type errorBody struct {
	message string
	// code is error.code when it is a number (or a numeric string), else 0.
	code int
}

// parseErrorBody reads {"error":{"message":..,"code":..}}, {"error":".."}
// or {"message":".."}, falling back to a trimmed prefix of the body.
func parseErrorBody(body []byte) errorBody {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	var eb errorBody
	if err := json.Unmarshal(body, &env); err == nil {
		var obj struct {
			Message json.RawMessage `json:"message"`
			Code    json.RawMessage `json:"code"`
		}
		switch {
		case jsonString(env.Error) != "":
			eb.message = jsonString(env.Error)
		case len(env.Error) > 0 && env.Error[0] == '{' && json.Unmarshal(env.Error, &obj) == nil:
			eb.message = jsonString(obj.Message)
			eb.code = jsonCode(obj.Code)
		}
		if eb.message == "" {
			eb.message = jsonString(env.Message)
		}
	}
	if eb.message == "" {
		eb.message = string(body)
	}
	eb.message = shorten(eb.message)
	return eb
}

// jsonString returns raw as a string when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonCode returns raw as an integer when it is a whole JSON number or a
// numeric string, else 0.
func jsonCode(raw json.RawMessage) int {
	if s := jsonString(raw); s != "" {
		raw = json.RawMessage(s)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 999 {
		return 0
	}
	return int(f)
}

// shorten collapses whitespace and keeps a bounded prefix on a rune boundary.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// retryAfter reads Retry-After as (possibly fractional) seconds or an HTTP
// date; 0 when absent, unparsable or in the past.
func retryAfter(header http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if isDecimal(v) {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		return ClampRetryAfter(time.Duration(math.Min(secs, MaxRetryAfter.Seconds()) * float64(time.Second)))
	}
	if t, err := http.ParseTime(v); err == nil {
		return ClampRetryAfter(t.Sub(now))
	}
	return 0
}

// isDecimal reports whether s is digits with at most one decimal point.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// ClampRetryAfter bounds an upstream-supplied wait to [0, MaxRetryAfter].
func ClampRetryAfter(d time.Duration) time.Duration {
	return min(max(d, 0), MaxRetryAfter)
}

// transportError classifies a failure to get or read an answer.
// reasonOther is used for errors that are neither the context's nor a
// timeout: connection_error before the answer, cut_off while reading it.
func transportError(ctx context.Context, err error, reasonOther domain.AttemptReason) *domain.ProviderError {
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonTimeout, Err: err}
	}
	return &domain.ProviderError{Class: domain.FailureRetryable, Reason: reasonOther, Err: err}
}

// contextError reports that ctx ended the call. It wraps ctx.Err() and, when
// the context was cancelled with a cause, the cause too.
func contextError(ctx context.Context) *domain.ProviderError {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = &causeError{err: err, cause: cause}
	}
	reason := reasonConnection // we hung up ourselves
	if errors.Is(err, context.DeadlineExceeded) {
		reason = reasonTimeout
	}
	return &domain.ProviderError{Class: domain.FailureRetryable, Reason: reason, Err: err}
}

// causeError is a context error together with its cause; both match errors.Is.
type causeError struct{ err, cause error }

func (e *causeError) Error() string   { return e.err.Error() + ": " + e.cause.Error() }
func (e *causeError) Unwrap() []error { return []error{e.err, e.cause} }

// scrubbedError carries the text of an error that mentioned a key.
type scrubbedError struct{ msg string }

func (e *scrubbedError) Error() string { return e.msg }
