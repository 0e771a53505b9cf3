package routing

import (
	"context"
	"errors"
	"time"

	"github.com/genzai/genzai/domain"
)

// errAttemptTimeout cuts an attempt at a whole answer (images, a
// transcription, speech) that would leave no time for the next provider.
var errAttemptTimeout = errors.New("no answer in time")

// deliverFunc asks one provider, with one key, for a whole answer within
// ctx and checks what arrived: an answer that is not what it must be is a
// *domain.ProviderError (ReasonBadResponse), so that the next one is asked.
type deliverFunc[T any] func(ctx context.Context, route Route, key int) (T, error)

// deliver walks chain with the chat's keys, rotation, cooldowns, shared
// budgets and breakers until one provider delivers a whole answer through
// call: the one loop behind GenerateImages, Transcribe and Speak. The
// request is bounded by RequestTimeout from began, and each attempt leaves
// time for a fallback as a whole chat answer does. The trace names the
// provider only when one delivered (Trace.Accepted: then, only then, the
// request is charged). Errors: as Open's.
func deliver[T any](r *Router, ctx context.Context, began time.Time, chain []Route, call deliverFunc[T]) (T, Trace, error) {
	var zero T
	o := &opening{r: r, req: Request{Began: began}, parent: ctx, deadline: r.Deadline(began), onlyRateLimited: true}
	o.ctx, o.cancel = context.WithDeadline(ctx, o.deadline)
	defer o.cancel()
	for _, route := range chain {
		var (
			out       T
			delivered bool
		)
		done, err := o.tryProvider(route, func(p *provider, key int, ttft time.Duration) error {
			v, err := deliverOnce(o, route, key, ttft, call)
			if err != nil {
				return err
			}
			p.breaker.success()
			k := key
			o.trace.Provider, o.trace.Model, o.trace.KeyIndex = route.Provider, route.Model, &k
			out, delivered = v, true
			return nil
		})
		if delivered {
			return out, o.trace, nil
		}
		if done {
			return zero, o.trace, err
		}
	}
	return zero, o.trace, r.failure(o.trace.Attempts, o.onlyRateLimited)
}

// deliverOnce makes one attempt, bounded by ttft (0: by o.ctx alone); an
// attempt cut by that bound is a timeout of the provider, not of the
// request.
func deliverOnce[T any](o *opening, route Route, key int, ttft time.Duration, call deliverFunc[T]) (T, error) {
	actx, cancel := context.WithCancelCause(o.ctx)
	defer cancel(nil)
	if ttft > 0 {
		t := time.AfterFunc(ttft, func() { cancel(errAttemptTimeout) })
		defer t.Stop()
	}
	v, err := call(actx, route, key)
	if err != nil && o.ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		var zero T
		return zero, &domain.ProviderError{Provider: route.Provider, Class: domain.FailureRetryable, Reason: domain.ReasonTimeout, Err: err}
	}
	return v, err
}
