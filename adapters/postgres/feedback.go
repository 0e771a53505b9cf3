package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.FeedbackStore = (*DB)(nil)

var errAnswerNotFound = domain.Errorf(domain.CodeNotFound, "No answered request of yours with this request_id")

// SaveFeedback implements ports.FeedbackStore in one guarded upsert: the
// row is written only when the user has an answered request with that id.
// A zero CreatedAt or UpdatedAt stands for now; times are kept to the
// microsecond; an empty comment is stored as NULL. CodeInvalid for a rating
// or comment the table refuses.
func (db *DB) SaveFeedback(ctx context.Context, f domain.Feedback) (domain.Feedback, error) {
	if err := sqlval.CheckFeedback(f); err != nil {
		return domain.Feedback{}, err
	}
	uid, ok := parseID(f.UserID)
	if !ok {
		return domain.Feedback{}, errAnswerNotFound
	}
	now := time.Now()
	arg := sqlcgen.SaveFeedbackParams{
		UserID:    uid,
		RequestID: f.RequestID,
		Rating:    string(f.Rating),
		CreatedAt: orNow(f.CreatedAt, now).UTC(),
		UpdatedAt: orNow(f.UpdatedAt, now).UTC(),
		Answered:  []string{string(domain.OutcomeSuccess), string(domain.OutcomeInterrupted)},
	}
	if f.Comment != "" {
		arg.Comment = &f.Comment
	}
	r, err := db.q.SaveFeedback(ctx, arg)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Feedback{}, errAnswerNotFound
	}
	if err != nil {
		return domain.Feedback{}, storeErr("save feedback", err)
	}
	return toFeedback(r), nil
}

// UserFeedback implements ports.FeedbackStore.
func (db *DB) UserFeedback(ctx context.Context, user domain.UserID) ([]domain.Feedback, error) {
	out := []domain.Feedback{}
	uid, ok := parseID(user)
	if !ok {
		return out, nil
	}
	rows, err := db.q.UserFeedback(ctx, uid)
	if err != nil {
		return nil, storeErr("user feedback", err)
	}
	for _, r := range rows {
		out = append(out, toFeedback(r))
	}
	return out, nil
}

func toFeedback(r sqlcgen.Feedback) domain.Feedback {
	return domain.Feedback{
		UserID:    domain.UserID(r.UserID.String()),
		RequestID: r.RequestID,
		Rating:    domain.Rating(r.Rating),
		Comment:   sqlval.Deref(r.Comment),
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// orNow is t, or now when t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
