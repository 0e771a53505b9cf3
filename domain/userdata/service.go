// Package userdata is the user's own data use case: the account as its
// owner sees it, and the export of everything the service holds about them.
package userdata

import (
	"context"
	"fmt"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
	"github.com/genzai/genzai/ports"
)

// QuotaReader gives a user's quota for today.
type QuotaReader interface {
	Status(ctx context.Context, u domain.User) (domain.QuotaStatus, error)
}

// KeyLister lists a user's API keys, without the keys themselves.
type KeyLister interface {
	List(ctx context.Context, u domain.User) ([]domain.APIKey, error)
}

// ConversationExporter gives every conversation of a user with all its
// messages.
type ConversationExporter interface {
	Export(ctx context.Context, user domain.UserID) ([]conversations.Thread, error)
}

// Account is a user's account as its owner sees it.
type Account struct {
	User  domain.User
	Quota domain.QuotaStatus
}

// Export is everything the service holds about one user.
type Export struct {
	At            time.Time
	Account       Account
	Conversations []conversations.Thread
	Feedback      []domain.Feedback
	APIKeys       []domain.APIKey
}

// Service reads a user's own data.
type Service struct {
	quota         QuotaReader
	keys          KeyLister
	conversations ConversationExporter
	feedback      ports.FeedbackStore
	clock         ports.Clock
}

// New builds a Service; keys may be nil (a server without API keys has
// none to list).
func New(quota QuotaReader, keys KeyLister, convs ConversationExporter, feedback ports.FeedbackStore, clock ports.Clock) *Service {
	return &Service{quota: quota, keys: keys, conversations: convs, feedback: feedback, clock: clock}
}

// Account returns u's account with today's quota.
// Errors: CodeUnavailable.
func (s *Service) Account(ctx context.Context, u domain.User) (Account, error) {
	q, err := s.quota.Status(ctx, u)
	if err != nil {
		return Account{}, fmt.Errorf("account quota: %w", err)
	}
	return Account{User: u, Quota: q}, nil
}

// Export assembles everything held about u: the account, every
// conversation with its messages, every rating and the API keys. The
// parts are read one after the other, not in one snapshot.
// Errors: CodeUnavailable.
func (s *Service) Export(ctx context.Context, u domain.User) (Export, error) {
	at := s.clock.Now().UTC()
	acc, err := s.Account(ctx, u)
	if err != nil {
		return Export{}, err
	}
	threads, err := s.conversations.Export(ctx, u.ID)
	if err != nil {
		return Export{}, err
	}
	fb, err := s.feedback.UserFeedback(ctx, u.ID)
	if err != nil {
		return Export{}, fmt.Errorf("export feedback: %w", err)
	}
	keys := []domain.APIKey{}
	if s.keys != nil {
		if keys, err = s.keys.List(ctx, u); err != nil {
			return Export{}, fmt.Errorf("export keys: %w", err)
		}
	}
	return Export{At: at, Account: acc, Conversations: threads, Feedback: fb, APIKeys: keys}, nil
}
