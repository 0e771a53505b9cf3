// Package domain holds genzai's entities, value types, domain errors and the
// pure rules over them. It depends on the standard library only.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for callers; adapters map codes to transport
// statuses in one table (HTTP: adapters/httpapi).
type Code string

// The error codes. Their string values are the public machine codes.
const (
	CodeInvalid      Code = "invalid_request"
	CodeUnauthorized Code = "unauthorized"
	CodeTokenExpired Code = "token_expired"
	CodeForbidden    Code = "forbidden"
	// CodeEmailUnverified: the account must confirm its email address
	// before it may do this (403).
	CodeEmailUnverified Code = "email_unverified"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeQuotaExceeded   Code = "quota_exceeded"
	// CodeRateLimited: too many requests (or attempts) in a window, or too
	// many at once; the client may retry after Error.RetryAfter (429).
	CodeRateLimited Code = "rate_limited"
	CodeUnavailable Code = "unavailable"
	// CodeFeatureDisabled: the operator turned the feature off (503).
	CodeFeatureDisabled Code = "feature_disabled"
	// CodeSearchUnavailable: the web search engine cannot answer (503).
	CodeSearchUnavailable Code = "search_unavailable"
	CodeInternal          Code = "internal"
)

// Error is a failure that is safe to show to the client: Message is written
// for the person using the API, Err keeps the cause for the logs.
type Error struct {
	Code    Code
	Message string
	Err     error
	// RetryAfter, when positive, tells the client when to try again
	// (HTTP: the Retry-After header and the body's retry_after).
	RetryAfter time.Duration
}

// Error implements error; it includes the cause for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted client-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// QuotaExceededError reports that a user has used the whole daily quota.
type QuotaExceededError struct {
	Used  int
	Limit int
}

// Error implements error.
func (e *QuotaExceededError) Error() string {
	return fmt.Sprintf("daily quota exceeded: used %d of %d", e.Used, e.Limit)
}

// ErrorCode returns the code of err: the code of the first *Error in its
// chain, CodeQuotaExceeded for a quota error, CodeInternal otherwise.
func ErrorCode(err error) Code {
	var de *Error
	var qe *QuotaExceededError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &de):
		return de.Code
	case errors.As(err, &qe):
		return CodeQuotaExceeded
	default:
		return CodeInternal
	}
}

// ErrorMessage returns the client-facing message of err; unknown errors are
// "internal error" so that no detail leaks.
func ErrorMessage(err error) string {
	var de *Error
	var qe *QuotaExceededError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &de):
		return de.Message
	case errors.As(err, &qe):
		return "Daily quota exceeded"
	default:
		return "internal error"
	}
}

// RetryAfter returns how long the client should wait before retrying, from
// the first *Error in err's chain; 0 when it does not say.
func RetryAfter(err error) time.Duration {
	var de *Error
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
