// Package feedback is the feedback use case: users rate their own chat
// answers up or down, with an optional comment.
package feedback

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Service records feedback.
type Service struct {
	store ports.FeedbackStore
	// flusher, when set, is this instance's request log: a request it still
	// holds queued is written out before the second look.
	flusher ports.RequestLogFlusher
	clock   ports.Clock
}

// New builds a Service; flusher may be nil.
func New(store ports.FeedbackStore, flusher ports.RequestLogFlusher, clock ports.Clock) *Service {
	return &Service{store: store, flusher: flusher, clock: clock}
}

// Submit stores u's rating of the answer given under requestID, replacing
// an earlier one. Errors: CodeInvalid, CodeNotFound (not an answered
// request of u's), CodeUnavailable.
func (s *Service) Submit(ctx context.Context, u domain.User, requestID string, rating domain.Rating, comment string) (domain.Feedback, error) {
	requestID = strings.TrimSpace(requestID)
	comment = strings.TrimSpace(comment)
	switch {
	case requestID == "":
		return domain.Feedback{}, domain.Invalid("request_id", "is required")
	case !domain.ValidRequestID(requestID):
		return domain.Feedback{}, domain.Invalid("request_id", "must be 1 to %d characters of A-Z a-z 0-9 - _ . : (the X-Request-ID of the answer)", domain.MaxRequestIDLen)
	case !rating.Valid():
		return domain.Feedback{}, domain.Invalid("rating", "must be up or down")
	case !utf8.ValidString(comment):
		return domain.Feedback{}, domain.Invalid("comment", "must be valid UTF-8")
	case utf8.RuneCountInString(comment) > domain.MaxFeedbackComment:
		return domain.Feedback{}, domain.Invalid("comment", "must be at most %d characters", domain.MaxFeedbackComment)
	}
	now := s.clock.Now()
	f := domain.Feedback{UserID: u.ID, RequestID: requestID, Rating: rating, Comment: comment, CreatedAt: now, UpdatedAt: now}
	saved, err := s.store.SaveFeedback(ctx, f)
	if domain.ErrorCode(err) != domain.CodeNotFound {
		return saved, wrap(err)
	}
	// Not in the log. A request this instance answered is queued here until
	// its batch is written (an answer ends after its record is queued):
	// write it out and look once more. Any other id is answered now, with
	// no flush and no waiting, so that made-up ids cost one query.
	if s.flusher == nil || !s.flusher.Queued(requestID) {
		return domain.Feedback{}, notAnswered()
	}
	if err := s.flusher.Flush(ctx); err != nil {
		return domain.Feedback{}, fmt.Errorf("flush request log: %w", err)
	}
	saved, err = s.store.SaveFeedback(ctx, f)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.Feedback{}, notAnswered()
	}
	return saved, wrap(err)
}

func notAnswered() error {
	return domain.Errorf(domain.CodeNotFound, "No answered request of yours with this request_id")
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("save feedback: %w", err)
	}
	return nil
}
