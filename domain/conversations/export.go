package conversations

import (
	"context"
	"fmt"

	"github.com/genzai/genzai/domain"
)

// Export returns every conversation of user with all its messages, most
// recently active first, for the user's export of their own data. It reads
// page by page, so a conversation changed meanwhile may show its state
// before or after the change. The export is held in memory: past
// Config.ExportMaxBytes of message text it stops with CodePayloadTooLarge.
func (s *Service) Export(ctx context.Context, user domain.UserID) ([]Thread, error) {
	out := []Thread{}
	size := 0
	f := domain.ConversationFilter{UserID: user, Limit: domain.MaxConversationPage}
	for {
		cs, err := s.store.Conversations(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("export conversations: %w", err)
		}
		for _, c := range cs {
			ms, err := s.allMessages(ctx, user, c.ID)
			if domain.ErrorCode(err) == domain.CodeNotFound {
				continue // deleted since the page was read
			}
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				size += len(m.Content)
			}
			if size > s.cfg.ExportMaxBytes {
				return nil, domain.Errorf(domain.CodePayloadTooLarge,
					"Your conversations hold more than %d MiB of text, more than one export document holds: delete some of them and export again", s.cfg.ExportMaxBytes>>20)
			}
			out = append(out, Thread{Conversation: c, Messages: ms})
		}
		if len(cs) < f.Limit {
			return out, nil
		}
		last := cs[len(cs)-1]
		f.After = &domain.ConversationCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
}

func (s *Service) allMessages(ctx context.Context, user domain.UserID, id domain.ConversationID) ([]domain.ConversationMessage, error) {
	all := []domain.ConversationMessage{}
	p := domain.MessagePage{Limit: domain.MaxMessagePage}
	for {
		ms, err := s.store.ConversationMessages(ctx, user, id, p)
		if err != nil {
			return nil, fmt.Errorf("export messages: %w", err)
		}
		all = append(all, ms...)
		if len(ms) < p.Limit {
			return all, nil
		}
		p.AfterID = ms[len(ms)-1].ID
	}
}
