package userdata_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
	"github.com/genzai/genzai/domain/userdata"
)

var (
	ctx = context.Background()
	now = time.Date(2025, 12, 25, 10, 45, 0, 0, time.UTC)
	ada = domain.User{ID: "0b6f5a0e-2f6e-4c4b-9a57-5c1f2b9d8e11", Email: "ada@example.com"}
)

type clock struct{}

func (clock) Now() time.Time { return now }

// parts answers every read with what it holds for ada, and an error when
// fail names the read.
type parts struct {
	fail string
	seen []domain.UserID
}

func (p *parts) err(name string) error {
	if p.fail == name {
		return domain.Errorf(domain.CodeUnavailable, "%s down", name)
	}
	return nil
}

func (p *parts) Status(_ context.Context, u domain.User) (domain.QuotaStatus, error) {
	p.seen = append(p.seen, u.ID)
	return domain.QuotaStatus{Used: 3, Limit: 50, ResetsAt: now.Add(time.Hour)}, p.err("quota")
}

func (p *parts) List(_ context.Context, u domain.User) ([]domain.APIKey, error) {
	p.seen = append(p.seen, u.ID)
	return []domain.APIKey{{ID: "k1", UserID: u.ID, Name: "laptop"}}, p.err("keys")
}

func (p *parts) Export(_ context.Context, user domain.UserID) ([]conversations.Thread, error) {
	p.seen = append(p.seen, user)
	return []conversations.Thread{{Conversation: domain.Conversation{ID: "c1", UserID: user}}}, p.err("conversations")
}

func (p *parts) SaveFeedback(context.Context, domain.Feedback) (domain.Feedback, error) {
	return domain.Feedback{}, errors.New("not used")
}

func (p *parts) UserFeedback(_ context.Context, user domain.UserID) ([]domain.Feedback, error) {
	p.seen = append(p.seen, user)
	return []domain.Feedback{{UserID: user, RequestID: "r1", Rating: domain.RatingUp}}, p.err("feedback")
}

func TestExport(t *testing.T) {
	t.Parallel()
	p := &parts{}
	s := userdata.New(p, p, p, p, clock{})
	x, err := s.Export(ctx, ada)
	require.NoError(t, err)
	assert.Equal(t, userdata.Export{
		At:            now,
		Account:       userdata.Account{User: ada, Quota: domain.QuotaStatus{Used: 3, Limit: 50, ResetsAt: now.Add(time.Hour)}},
		Conversations: []conversations.Thread{{Conversation: domain.Conversation{ID: "c1", UserID: ada.ID}}},
		Feedback:      []domain.Feedback{{UserID: ada.ID, RequestID: "r1", Rating: domain.RatingUp}},
		APIKeys:       []domain.APIKey{{ID: "k1", UserID: ada.ID, Name: "laptop"}},
	}, x)
	for _, id := range p.seen {
		assert.Equal(t, ada.ID, id, "every part is read for the caller")
	}
}

func TestExportWithoutKeys(t *testing.T) {
	t.Parallel()
	p := &parts{}
	x, err := userdata.New(p, nil, p, p, clock{}).Export(ctx, ada)
	require.NoError(t, err)
	assert.NotNil(t, x.APIKeys)
	assert.Empty(t, x.APIKeys)
}

func TestExportFailsWithAnyPart(t *testing.T) {
	t.Parallel()
	for _, part := range []string{"quota", "keys", "conversations", "feedback"} {
		p := &parts{fail: part}
		_, err := userdata.New(p, p, p, p, clock{}).Export(ctx, ada)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), part)
		assert.ErrorContains(t, err, part+" down")
	}
}
