package domain

import (
	"context"
	"errors"
)

// OutcomeOf names how a request that is not a chat (an image, a
// transcription, speech) ended, for the request log: the caller leaving,
// a deadline, the quota, a request refused for what it sent (invalid, too
// large, not the media type), or another error with its code.
func OutcomeOf(err error) (Outcome, Code) {
	var qe *QuotaExceededError
	switch {
	case err == nil:
		return OutcomeSuccess, ""
	case errors.Is(err, context.Canceled):
		return OutcomeCancelled, CodeCancelled
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeError, CodeTimeout
	case errors.As(err, &qe):
		return OutcomeQuota, CodeQuotaExceeded
	}
	switch code := ErrorCode(err); code {
	case CodeInvalid, CodePayloadTooLarge, CodeUnsupportedMediaType:
		return OutcomeInvalid, code
	default:
		return OutcomeError, code
	}
}
