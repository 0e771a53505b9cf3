package domain

import (
	"context"
	"errors"
	"fmt"
)

// SearchResult is one web search hit.
type SearchResult struct {
	Title   string
	URL     string
	Snippet string
}

// SearchFailure says why the web search engine could not answer, in
// terms a client can act on; it rides on CodeSearchUnavailable errors
// (SearchUnavailableError) and on a chat's web search outcome.
type SearchFailure string

// The reasons a search failed.
const (
	// SearchUnreachable: no connection to the engine (name resolution,
	// refused, reset, TLS): this server's network or the engine is down.
	SearchUnreachable SearchFailure = "unreachable"
	// SearchBlocked: the engine refuses this server's requests (its bot
	// challenge, 403, 429); retrying soon does not help.
	SearchBlocked SearchFailure = "blocked"
	// SearchTimeout: the engine did not answer in time; a retry may.
	SearchTimeout SearchFailure = "timeout"
	// SearchBadResponse: the engine answered, but with an error status or a
	// page the scraper does not recognise (changed markup).
	SearchBadResponse SearchFailure = "bad_response"
)

// SearchFailures lists every SearchFailure (the spec's enum is checked
// against it).
func SearchFailures() []SearchFailure {
	return []SearchFailure{SearchUnreachable, SearchBlocked, SearchTimeout, SearchBadResponse}
}

// searchFailureWords finish the public message of each reason.
var searchFailureWords = map[SearchFailure]string{
	SearchUnreachable: "the search engine cannot be reached",
	SearchBlocked:     "the search engine is refusing this server's requests",
	SearchTimeout:     "the search engine did not answer in time",
	SearchBadResponse: "the search engine's answer could not be read",
}

// SearchUnavailableError: the web search engine could not answer, and why.
type SearchUnavailableError struct {
	Reason SearchFailure
	// Err is every cause, once (both endpoints' of a scraper).
	Err error
}

// Error implements error: the reason and the causes, for the log.
func (e *SearchUnavailableError) Error() string {
	return fmt.Sprintf("web search unavailable (%s): %v", e.Reason, e.Err)
}

// Unwrap returns the causes.
func (e *SearchUnavailableError) Unwrap() error { return e.Err }

// ErrorCode implements Coded.
func (e *SearchUnavailableError) ErrorCode() Code { return CodeSearchUnavailable }

// PublicMessage implements Coded: the reason in words.
func (e *SearchUnavailableError) PublicMessage() string {
	if w, ok := searchFailureWords[e.Reason]; ok {
		return "Web search temporarily unavailable: " + w
	}
	return "Web search temporarily unavailable"
}

// SearchFailureOf is why err, a failed search, failed: the reason of its
// SearchUnavailableError, SearchTimeout for a deadline that passed, else
// "" (no reason known).
func SearchFailureOf(err error) SearchFailure {
	var su *SearchUnavailableError
	switch {
	case errors.As(err, &su):
		return su.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return SearchTimeout
	}
	return ""
}
