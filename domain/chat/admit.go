package chat

import (
	"context"

	"github.com/genzai/genzai/domain"
)

// admit takes one of the user's concurrent request slots (domain/admission:
// shared with the other kinds of request), renewed in the background while
// the request runs; release gives it back. Errors: CodeRateLimited (with
// RetryAfter) when every slot is taken, and the limiter's own
// (CodeUnavailable) when it cannot decide.
func (s *Service) admit(ctx context.Context, u domain.User) (release func(), err error) {
	return s.gate.Admit(ctx, u.ID)
}
