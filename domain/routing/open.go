package routing

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/genzai/genzai/domain"
)

// wholeAnswerBound bounds one attempt at a whole answer, given the time
// left before the request's deadline: that time less one first-token
// timeout, which stays for the next provider, and never less than one
// first-token timeout. 0 (the deadline alone) when the bound would not
// come before the deadline.
func (r *Router) wholeAnswerBound(left time.Duration) time.Duration {
	bound := max(r.cfg.RequestTimeout-r.cfg.FirstTokenTimeout, r.cfg.FirstTokenTimeout)
	if bound >= left {
		return 0
	}
	return bound
}

// Request is what Open is asked for.
type Request struct {
	Tier domain.Tier
	// Completion is the request for the provider; Open fills in Model,
	// and Delivery from Stream below.
	Completion domain.CompletionRequest
	// Stream: the answer is streamed, from the provider too, so only its
	// start is bounded by RequestTimeout (then silences inside it are) and
	// each attempt's first token by FirstTokenTimeout. Otherwise the
	// provider is asked for the whole answer at once, and RequestTimeout
	// alone bounds it: the whole answer is its first token.
	Stream bool
	// Began is when the request arrived: the deadline and the time to first
	// token count from it.
	Began time.Time
}

// Trace is what routing did for a request, whether or not it found an answer.
type Trace struct {
	// Attempts are the providers that did not answer, and why, in order.
	Attempts []domain.Attempt
	// Provider, Model and KeyIndex name the last provider that accepted
	// the request (its stream opened, so it went to work and bills for it);
	// Provider is empty when none did.
	Provider domain.Provider
	Model    string
	KeyIndex *int
}

// Accepted reports whether a provider accepted the request. It is the one
// definition behind chat's refund rule: a request with a provider was
// charged, one without was refunded. Refusals before a stream opened
// (connection failures, 4xx/5xx/429 statuses, an error object in place of
// a whole answer, an open breaker, no usable key) leave it false.
func (t Trace) Accepted() bool { return t.Provider != "" }

var (
	errFirstTokenTimeout = errors.New("no first token in time")
	errStalled           = errors.New("upstream stalled")
)

// opening is one Open call walking a tier's chain.
type opening struct {
	r        *Router
	req      Request
	parent   context.Context
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
	trace    Trace
	// onlyRateLimited stays true while every attempt was a rate limit: the
	// failure is then a 429 with a Retry-After.
	onlyRateLimited bool
}

// Open walks the tier's chain, rotating keys, riding out rate limits and
// falling back, until one provider starts answering: the returned Answer is
// positioned at the first token (content, a tool call or a finish reason),
// or at the end of an empty answer. The caller pumps it with Next and must
// Close it. The trace says what was tried, answer or not. Errors:
// *domain.ProvidersUnavailableError, *domain.ProviderRateLimitedError,
// *domain.UpstreamRejectedError, and ctx errors when ctx ends (the
// deadline of a non-streaming request is reported as context.DeadlineExceeded).
func (r *Router) Open(ctx context.Context, req Request) (*Answer, Trace, error) {
	o := &opening{r: r, req: req, parent: ctx, deadline: r.Deadline(req.Began), onlyRateLimited: true}
	if !req.Stream {
		// One deadline for the whole answer.
		o.ctx, o.cancel = context.WithDeadline(ctx, o.deadline)
	} else {
		o.ctx, o.cancel = context.WithCancel(ctx)
	}
	for _, route := range r.chain(req.Tier) {
		creq := req.Completion
		creq.Model, creq.Delivery = route.Model, domain.DeliveryStreamed
		if !req.Stream {
			creq.Delivery = domain.DeliveryWhole
		}
		var a *Answer
		done, err := o.tryProvider(route, func(p *provider, key int, ttft time.Duration) (err error) {
			a, err = o.attempt(p, route, key, creq, ttft)
			return err
		})
		if a != nil {
			return a, o.trace, nil // a.Close cancels o.ctx
		}
		if done {
			o.cancel()
			return nil, o.trace, err
		}
	}
	o.cancel()
	return nil, o.trace, r.failure(o.trace.Attempts, o.onlyRateLimited)
}

// skip records an attempt that was not made, or made without a key.
func (o *opening) skip(p domain.Provider, reason domain.AttemptReason, key *int) {
	o.trace.Attempts = append(o.trace.Attempts, domain.Attempt{Provider: p, Reason: reason, KeyIndex: key})
	if reason != domain.ReasonRateLimited {
		o.onlyRateLimited = false
	}
}

// attemptFunc makes one attempt with one key of a provider, bounded by ttft
// (0: by the opening's context alone); nil when the provider answered.
type attemptFunc func(p *provider, key int, ttft time.Duration) error

// tryProvider asks one provider of the chain, key after key, through try.
// It returns done when routing must stop: with a nil error when try
// succeeded, else with the request's error; neither to go on with the next
// provider.
func (o *opening) tryProvider(route Route, try attemptFunc) (done bool, err error) {
	r := o.r
	p := r.providers[route.Provider]
	if r.isDown(route.Provider) {
		o.skip(route.Provider, domain.ReasonProviderDown, nil)
		return false, nil
	}
	if !p.breaker.allow(r.clock.Now()) {
		o.skip(route.Provider, domain.ReasonCircuitOpen, nil)
		return false, nil
	}
	r.syncSharedDue(o.ctx, route.Provider, p)
	for {
		if err := o.ctx.Err(); err != nil {
			p.breaker.release()
			return true, err
		}
		key, ok := p.keys.acquire(r.clock.Now())
		if !ok {
			p.breaker.release()
			if _, any := p.keys.nextAvailable(r.clock.Now()); any {
				o.skip(route.Provider, domain.ReasonRateLimited, nil)
			} else {
				o.skip(route.Provider, domain.ReasonNoUsableKey, nil)
			}
			return false, nil
		}
		if !r.takeShared(o.ctx, route.Provider, p, key) {
			continue // the key's budget is spent across instances: the next key
		}
		ttft := min(r.cfg.FirstTokenTimeout, time.Until(o.deadline))
		if ttft <= 0 {
			p.breaker.release()
			// Out of time before this provider could be asked (a slow
			// database or search ate the budget): say so, rather than
			// answer "unavailable" with no attempt at all.
			o.skip(route.Provider, domain.ReasonTimeout, nil)
			return true, r.failure(o.trace.Attempts, false)
		}
		if !o.req.Stream {
			// A whole answer arrives at once, as late as its last token
			// would, so the first-token timeout cannot judge it; but a
			// provider that hangs must still leave time for a fallback.
			ttft = r.wholeAnswerBound(time.Until(o.deadline))
		}
		err := try(p, key, ttft)
		if err == nil {
			return true, nil
		}
		retry, done, err := o.afterFailure(p, route, key, err)
		if done || !retry {
			return done, err
		}
	}
}

// afterFailure decides what a failed attempt means: retry with the next
// key of the same provider, stop routing (done, with the request's error),
// or neither (the next provider).
func (o *opening) afterFailure(p *provider, route Route, key int, err error) (retry, done bool, _ error) {
	r := o.r
	k := key
	if o.ctx.Err() != nil {
		p.breaker.release()
		if o.parent.Err() == nil {
			// A non-streaming request ran out of time before any answer:
			// the same failure a stream gets.
			o.skip(route.Provider, domain.ReasonTimeout, &k)
			return false, true, r.failure(o.trace.Attempts, false)
		}
		return false, true, o.ctx.Err() // the client left
	}
	var pe *domain.ProviderError
	if !errors.As(err, &pe) {
		pe = &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: domain.ReasonServerError, Err: err}
	}
	o.trace.Attempts = append(o.trace.Attempts, domain.Attempt{Provider: route.Provider, Reason: pe.Reason, KeyIndex: &k})
	now := r.clock.Now()
	switch pe.Class {
	case domain.FailureRateLimited:
		wait := pe.RetryAfter
		if wait <= 0 {
			wait = r.cfg.DefaultCooldown
		}
		p.keys.cooldown(key, now.Add(wait))
		r.shareCooldown(o.ctx, route.Provider, key, now.Add(wait))
		r.log.Warn("provider key rate limited", "provider", route.Provider, "key_index", key, "cooldown", wait.String())
		return true, false, nil
	case domain.FailureKeyRejected:
		r.reject(o.ctx, route.Provider, p, key)
		r.log.Error("provider key rejected: out of rotation for its cool-off", "provider", route.Provider, "key_index", key,
			"status", pe.Status, "cool_off", r.cfg.KeyRejectCoolOff.String())
		o.onlyRateLimited = false
		return true, false, nil
	case domain.FailureCaller:
		p.breaker.success() // the provider answered; the request was the problem
		return false, true, &domain.UpstreamRejectedError{Provider: route.Provider, Status: pe.Status, Message: pe.Message}
	default:
		p.breaker.failure(now)
		o.onlyRateLimited = false
		r.log.Warn("provider attempt failed", "provider", route.Provider, "key_index", key, "reason", pe.Reason, "error", pe.Error())
		return false, false, nil
	}
}

// failure builds the error for a request no provider answered.
func (r *Router) failure(attempts []domain.Attempt, onlyRateLimited bool) error {
	if onlyRateLimited && len(attempts) > 0 {
		now := r.clock.Now()
		var next time.Time
		for _, a := range attempts {
			if at, ok := r.providers[a.Provider].keys.nextAvailable(now); ok && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		wait := time.Duration(math.Ceil(next.Sub(now).Seconds())) * time.Second
		return &domain.ProviderRateLimitedError{RetryAfter: max(wait, time.Second), Attempts: attempts}
	}
	return &domain.ProvidersUnavailableError{Attempts: attempts}
}
