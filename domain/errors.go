// Package domain holds genzai's entities, value types, domain errors and the
// pure rules over them. It depends on the standard library only.
package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for callers; each API dialect maps codes to its
// wire shape in one table (adapters/httpapi: errors.go for the native API,
// openai.go for the OpenAI dialect). Every error a use case returns carries
// one (see Coded), so that no caller decides anything from a message.
type Code string

// The error codes. Their string values are the public machine codes.
const (
	CodeInvalid      Code = "invalid_request"
	CodeUnauthorized Code = "unauthorized"
	// CodeInvalidToken: a bearer credential was sent but is not valid
	// (malformed, forged, revoked); the client must log in again (401).
	CodeInvalidToken Code = "invalid_token"
	CodeTokenExpired Code = "token_expired"
	CodeForbidden    Code = "forbidden"
	// CodeEmailUnverified: the account must confirm its email address
	// before it may do this (403).
	CodeEmailUnverified Code = "email_unverified"
	CodeNotFound        Code = "not_found"
	// CodeMethodNotAllowed: the route exists, not with this method (405).
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeConflict         Code = "conflict"
	// CodeConversationBusy: another chat is answering in the conversation;
	// retry once it ends (409).
	CodeConversationBusy Code = "conversation_busy"
	// CodeRequestTimeout: the client did not send its body in time (408).
	CodeRequestTimeout Code = "request_timeout"
	// CodePayloadTooLarge: the body is over the size limit (413).
	CodePayloadTooLarge Code = "payload_too_large"
	// CodeUnsupportedMediaType: the body is not of a type the route takes:
	// not JSON, not a multipart form, an upload that is not audio (415).
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeQuotaExceeded        Code = "quota_exceeded"
	// CodeRateLimited: too many requests (or attempts) in a window, or too
	// many at once; the client may retry after Error.RetryAfter (429).
	CodeRateLimited Code = "rate_limited"
	// CodeProviderRateLimited: every provider key is rate limited (429).
	CodeProviderRateLimited Code = "provider_rate_limited"
	// CodeProvidersUnavailable: no provider of the tier could answer (503).
	CodeProvidersUnavailable Code = "providers_unavailable"
	// CodeUpstreamError: the provider refused the request itself (502).
	CodeUpstreamError Code = "upstream_error"
	// CodeStreamInterrupted: the answer failed after it began (502, or the
	// last event of a stream).
	CodeStreamInterrupted Code = "stream_interrupted"
	// CodeTimeout: the request ran out of time (504).
	CodeTimeout Code = "timeout"
	// CodeCancelled: the client went away before the answer was complete.
	CodeCancelled   Code = "cancelled"
	CodeUnavailable Code = "unavailable"
	// CodeShuttingDown: the server stopped before it could finish (the
	// last event of a stream; a request not yet answered gets 503).
	CodeShuttingDown Code = "shutting_down"
	// CodeFeatureDisabled: the operator turned the feature off (503).
	CodeFeatureDisabled Code = "feature_disabled"
	// CodeSearchUnavailable: the web search engine cannot answer (503).
	CodeSearchUnavailable Code = "search_unavailable"
	CodeInternal          Code = "internal"
)

// Codes lists every Code, so that each API dialect's table can be checked
// for a row per code (a test holds it to the constants above).
func Codes() []Code {
	return []Code{
		CodeInvalid, CodeUnauthorized, CodeInvalidToken, CodeTokenExpired, CodeForbidden, CodeEmailUnverified,
		CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeConversationBusy, CodeRequestTimeout, CodePayloadTooLarge,
		CodeUnsupportedMediaType, CodeQuotaExceeded, CodeRateLimited, CodeProviderRateLimited,
		CodeProvidersUnavailable, CodeUpstreamError, CodeStreamInterrupted, CodeTimeout, CodeCancelled,
		CodeUnavailable, CodeShuttingDown, CodeFeatureDisabled, CodeSearchUnavailable, CodeInternal,
	}
}

// Coded is an error that names its code and a message safe to show to the
// client. *Error is the general one; the typed errors below add what their
// answer needs (attempts, used and limit, a provider).
type Coded interface {
	error
	// ErrorCode is the error's code.
	ErrorCode() Code
	// PublicMessage is the message for the person using the API.
	PublicMessage() string
}

// Error is a failure that is safe to show to the client: Message is written
// for the person using the API, Err keeps the cause for the logs.
type Error struct {
	Code    Code
	Message string
	Err     error
	// RetryAfter, when positive, tells the client when to try again
	// (HTTP: the Retry-After header and the body's retry_after).
	RetryAfter time.Duration
	// Field, when set, is the request member an invalid request is about
	// ("messages[1].role"): the OpenAI dialect's param.
	Field string
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

// ErrorCode implements Coded.
func (e *Error) ErrorCode() Code { return e.Code }

// PublicMessage implements Coded.
func (e *Error) PublicMessage() string { return e.Message }

// Errorf builds an *Error with a formatted client-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds a CodeInvalid error about one request member: the message
// reads "field: problem", and Field names the member for clients that want
// it apart (OpenAI's param).
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// CheckControl refuses text holding control characters other than tab,
// line feed and carriage return (C0 and C1): terminal escapes and NULs are
// never meant for a provider, and some providers and databases refuse
// them further along.
func CheckControl(field, text string) error {
	for _, r := range text {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r < 0xa0 {
			return Invalid(field, "must not contain control characters (U+%04X)", r)
		}
	}
	return nil
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

// ErrorCode implements Coded.
func (e *QuotaExceededError) ErrorCode() Code { return CodeQuotaExceeded }

// PublicMessage implements Coded.
func (e *QuotaExceededError) PublicMessage() string { return "Daily quota exceeded" }

// ProvidersUnavailableError: every provider of the chain failed.
type ProvidersUnavailableError struct {
	Attempts []Attempt
}

// Error implements error.
func (e *ProvidersUnavailableError) Error() string {
	return fmt.Sprintf("all AI providers are unavailable (%d attempts)", len(e.Attempts))
}

// ErrorCode implements Coded.
func (e *ProvidersUnavailableError) ErrorCode() Code { return CodeProvidersUnavailable }

// PublicMessage implements Coded.
func (e *ProvidersUnavailableError) PublicMessage() string { return "All AI providers are unavailable" }

// ProviderRateLimitedError: every attempt failed because keys were rate
// limited; RetryAfter is when the first key comes out of cooldown.
type ProviderRateLimitedError struct {
	RetryAfter time.Duration
	Attempts   []Attempt
}

// Error implements error.
func (e *ProviderRateLimitedError) Error() string {
	return fmt.Sprintf("AI provider rate limited, retry after %s", e.RetryAfter)
}

// ErrorCode implements Coded.
func (e *ProviderRateLimitedError) ErrorCode() Code { return CodeProviderRateLimited }

// PublicMessage implements Coded.
func (e *ProviderRateLimitedError) PublicMessage() string { return "AI provider rate limited" }

// UpstreamRejectedError: the upstream refused the request as malformed
// (its 4xx); the client gets 502 with the upstream's message.
type UpstreamRejectedError struct {
	Provider Provider
	Status   int
	Message  string
}

// Error implements error.
func (e *UpstreamRejectedError) Error() string {
	return fmt.Sprintf("%s rejected the request (status %d): %s", e.Provider, e.Status, e.Message)
}

// ErrorCode implements Coded.
func (e *UpstreamRejectedError) ErrorCode() Code { return CodeUpstreamError }

// PublicMessage implements Coded: the upstream's own explanation.
func (e *UpstreamRejectedError) PublicMessage() string {
	msg := string(e.Provider) + " rejected the request"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// InterruptedError reports that the answer failed after it began; the
// client has part of it.
type InterruptedError struct {
	Err error
}

// Error implements error.
func (e *InterruptedError) Error() string { return "answer interrupted: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *InterruptedError) Unwrap() error { return e.Err }

// ErrorCode implements Coded.
func (e *InterruptedError) ErrorCode() Code { return CodeStreamInterrupted }

// PublicMessage implements Coded.
func (e *InterruptedError) PublicMessage() string {
	return "The AI provider failed in the middle of the answer"
}

// coded finds the error's code and message: the typed errors of routing
// come first (they may wrap a store's *Error), then the first other Coded
// error of the chain (an adapter that named a timed-out call "unavailable"
// meant it), then a bare deadline or cancellation.
func coded(err error) (Code, string) {
	if err == nil {
		// Before the targets of errors.As, which escape to the heap: most
		// calls (ErrorCode on a call that succeeded) take this path.
		return "", ""
	}
	var (
		c  Coded
		pu *ProvidersUnavailableError
		pr *ProviderRateLimitedError
		ur *UpstreamRejectedError
		ie *InterruptedError
	)
	switch {
	case errors.As(err, &ie):
		return ie.ErrorCode(), ie.PublicMessage()
	case errors.As(err, &pu):
		return pu.ErrorCode(), pu.PublicMessage()
	case errors.As(err, &pr):
		return pr.ErrorCode(), pr.PublicMessage()
	case errors.As(err, &ur):
		return ur.ErrorCode(), ur.PublicMessage()
	case errors.As(err, &c):
		return c.ErrorCode(), c.PublicMessage()
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout, "The request timed out"
	case errors.Is(err, context.Canceled):
		return CodeCancelled, "Request cancelled"
	default:
		return CodeInternal, "internal error"
	}
}

// ErrorCode returns the code of err ("" for nil; CodeInternal when nothing
// in its chain carries one).
func ErrorCode(err error) Code {
	code, _ := coded(err)
	return code
}

// ErrorMessage returns the client-facing message of err; unknown errors are
// "internal error" so that no detail leaks.
func ErrorMessage(err error) string {
	_, msg := coded(err)
	return msg
}

// RetryAfter returns how long the client should wait before retrying, from
// the first error in err's chain that says (an *Error's RetryAfter, or a
// provider rate limit's); 0 when none does.
func RetryAfter(err error) time.Duration {
	var pr *ProviderRateLimitedError
	if errors.As(err, &pr) {
		return pr.RetryAfter
	}
	var de *Error
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}

// ErrorField returns the request member an invalid request is about, ""
// when the error names none.
func ErrorField(err error) string {
	var de *Error
	if errors.As(err, &de) {
		return de.Field
	}
	return ""
}
