// Package quota is the daily request quota use case: every user may make a
// limited number of requests per UTC day.
package quota

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Service consumes, refunds and reports daily quotas.
type Service struct {
	store        ports.QuotaStore
	clock        ports.Clock
	defaultLimit int
}

// New builds a Service; defaultLimit applies to users without their own limit.
func New(store ports.QuotaStore, clock ports.Clock, defaultLimit int) *Service {
	return &Service{store: store, clock: clock, defaultLimit: defaultLimit}
}

// Status returns the user's quota for today.
func (s *Service) Status(ctx context.Context, u domain.User) (domain.QuotaStatus, error) {
	now := s.clock.Now()
	used, err := s.store.QuotaUsed(ctx, u.ID, domain.QuotaDay(now))
	if err != nil {
		return domain.QuotaStatus{}, fmt.Errorf("read quota: %w", err)
	}
	return domain.QuotaStatus{
		Used:     used,
		Limit:    domain.EffectiveQuota(u, s.defaultLimit),
		ResetsAt: domain.NextQuotaReset(now),
	}, nil
}

// Admit refuses, as Consume would, a request of units when the user's
// quota for today cannot hold it, and counts nothing: a cheap look before
// work that is costly merely to receive (an upload). Consume still
// decides, atomically.
func (s *Service) Admit(ctx context.Context, u domain.User, units int) error {
	st, err := s.Status(ctx, u)
	if err != nil {
		return err
	}
	if st.Used+max(units, 1) > st.Limit {
		return exceeded(s.clock.Now(), st.Used, st.Limit)
	}
	return nil
}

// Consume counts one request for today. When the quota is used up it returns
// a CodeQuotaExceeded error that wraps *domain.QuotaExceededError (used and
// limit) and says to retry at the next reset, and counts nothing. The
// increment is one atomic store operation, so concurrent callers never
// exceed the limit.
func (s *Service) Consume(ctx context.Context, u domain.User) (domain.QuotaGrant, error) {
	return s.ConsumeUnits(ctx, u, 1)
}

// ConsumeUnits counts a request that costs units (an image costs several;
// below 1 counts as 1) for today, all or nothing, in one atomic store
// operation: the user's count never passes the limit, and a request that
// does not fit whole counts nothing and is refused as Consume refuses.
// Concurrent requests near the limit are decided one after the other, so
// one that fits is granted whatever the others do.
func (s *Service) ConsumeUnits(ctx context.Context, u domain.User, units int) (domain.QuotaGrant, error) {
	units = max(units, 1)
	now := s.clock.Now()
	day := domain.QuotaDay(now)
	limit := domain.EffectiveQuota(u, s.defaultLimit)
	if units > limit {
		// Never fits (a zero limit blocks everything): the count is only
		// read, for the refusal's figures.
		used, err := s.store.QuotaUsed(ctx, u.ID, day)
		if err != nil {
			return domain.QuotaGrant{}, fmt.Errorf("read quota: %w", err)
		}
		return domain.QuotaGrant{}, exceeded(now, used, limit)
	}
	used, granted, err := s.store.ConsumeQuota(ctx, u.ID, day, limit, units)
	if err != nil {
		return domain.QuotaGrant{}, fmt.Errorf("consume quota: %w", err)
	}
	if !granted {
		return domain.QuotaGrant{}, exceeded(now, used, limit)
	}
	return domain.QuotaGrant{UserID: u.ID, Day: day, Used: used, Limit: limit, Units: units}, nil
}

// Refund gives back the units taken by Consume or ConsumeUnits, on the day
// they were counted. Call it once per grant, when the request produced
// nothing for the user.
func (s *Service) Refund(ctx context.Context, g domain.QuotaGrant) error {
	if g.UserID == "" {
		return nil
	}
	if err := s.store.RefundQuota(ctx, g.UserID, g.Day, max(g.Units, 1)); err != nil {
		return fmt.Errorf("refund quota: %w", err)
	}
	return nil
}

// exceeded is the refusal of a request over the quota: the client may try
// again when the quota resets (the next midnight UTC).
func exceeded(now time.Time, used, limit int) error {
	qe := &domain.QuotaExceededError{Used: used, Limit: limit}
	return &domain.Error{Code: qe.ErrorCode(), Message: qe.PublicMessage(), RetryAfter: domain.NextQuotaReset(now).Sub(now), Err: qe}
}

// Charge takes units of u's quota, runs call, and gives the units back
// when call delivered nothing (delivered false), even when the client left
// or call panicked (the panic goes on up, its stack intact). Errors: the
// quota's refusal (call does not run), then call's own, joined with a
// refund that failed.
func (s *Service) Charge(ctx context.Context, u domain.User, units int, call func() (delivered bool, err error)) error {
	grant, err := s.ConsumeUnits(ctx, u, units)
	if err != nil {
		return err
	}
	returned := false
	defer func() {
		if !returned {
			// A panic (a bug under the router) delivered nothing.
			_ = s.Refund(context.WithoutCancel(ctx), grant)
		}
	}()
	delivered, err := call()
	returned = true
	if !delivered {
		if rerr := s.Refund(context.WithoutCancel(ctx), grant); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
