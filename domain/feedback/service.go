// Package feedback is the feedback use case: users rate their own chat
// answers up or down, with an optional comment.
package feedback

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// maxRequestIDLen bounds a request id, as the HTTP layer accepts them.
const maxRequestIDLen = 128

// Config tunes how long a rating waits for its request's log row.
type Config struct {
	// LogWait is how long to look for a request that is not in the request
	// log yet: rows are written in batches, by whichever instance answered,
	// so a rating sent right after its answer may arrive first. It should
	// exceed the request log's flush interval.
	LogWait time.Duration
	// PollInterval is the pause between looks (default 100ms).
	PollInterval time.Duration
}

// Service records feedback.
type Service struct {
	store ports.FeedbackStore
	// flusher, when set, is this instance's request log, written out before
	// a second look.
	flusher ports.RequestLogFlusher
	clock   ports.Clock
	cfg     Config
}

// New builds a Service; flusher may be nil.
func New(store ports.FeedbackStore, flusher ports.RequestLogFlusher, clock ports.Clock, cfg Config) *Service {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	return &Service{store: store, flusher: flusher, clock: clock, cfg: cfg}
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeInvalid, format, args...)
}

// Submit stores u's rating of the answer given under requestID, replacing
// an earlier one. Errors: CodeInvalid, CodeNotFound (not an answered
// request of u's), CodeUnavailable.
func (s *Service) Submit(ctx context.Context, u domain.User, requestID string, rating domain.Rating, comment string) (domain.Feedback, error) {
	requestID = strings.TrimSpace(requestID)
	comment = strings.TrimSpace(comment)
	switch {
	case requestID == "":
		return domain.Feedback{}, invalid("request_id: is required")
	case len(requestID) > maxRequestIDLen:
		return domain.Feedback{}, invalid("request_id: must be at most %d characters", maxRequestIDLen)
	case !rating.Valid():
		return domain.Feedback{}, invalid("rating: must be up or down")
	case !utf8.ValidString(comment):
		return domain.Feedback{}, invalid("comment: must be valid UTF-8")
	case utf8.RuneCountInString(comment) > domain.MaxFeedbackComment:
		return domain.Feedback{}, invalid("comment: must be at most %d characters", domain.MaxFeedbackComment)
	}
	now := s.clock.Now()
	f := domain.Feedback{UserID: u.ID, RequestID: requestID, Rating: rating, Comment: comment, CreatedAt: now, UpdatedAt: now}

	saved, err := s.store.SaveFeedback(ctx, f)
	if domain.ErrorCode(err) != domain.CodeNotFound {
		return saved, wrap(err)
	}
	// Not logged yet, perhaps: write out this instance's queue, then look
	// again until the wait is over (another instance may hold the row).
	if s.flusher != nil {
		if err := s.flusher.Flush(ctx); err != nil {
			return domain.Feedback{}, fmt.Errorf("flush request log: %w", err)
		}
	}
	deadline := time.Now().Add(s.cfg.LogWait)
	for {
		saved, err = s.store.SaveFeedback(ctx, f)
		if domain.ErrorCode(err) != domain.CodeNotFound || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return domain.Feedback{}, ctx.Err()
		case <-time.After(min(s.cfg.PollInterval, time.Until(deadline))):
		}
	}
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.Feedback{}, domain.Errorf(domain.CodeNotFound, "No answered request of yours with this request_id")
	}
	return saved, wrap(err)
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("save feedback: %w", err)
	}
	return nil
}
