package routing

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// Answer is a provider's stream that began: Open returns it positioned at
// its first token, after which no fallback happens. Next and Close are
// called by one goroutine.
type Answer struct {
	// Provider, Model and KeyIndex say who answers.
	Provider domain.Provider
	Model    string
	KeyIndex int
	// FirstToken is the time from the request's start to its first token
	// (or to the end of an empty answer), measured once here: the request
	// log and the metrics read it.
	FirstToken time.Duration

	r      *Router
	route  context.Context // the request's routing context (its deadline, the client)
	ctx    context.Context // this attempt's, cancelled with a cause on a timeout
	cancel context.CancelCauseFunc
	done   context.CancelFunc // ends route
	stream ports.ChatStream
	timer  *time.Timer // the first token's; nil when only the deadline bounds it
	stall  *time.Timer
	// pending are the deltas read while looking for the first token
	// (usage before it, and the delta that opened the answer), given out
	// first by Next.
	pending []domain.ChatDelta
	eof     bool
}

// attempt asks one provider with one key, and reads its stream up to the
// first token: until then it is bound by ttft (0: by o.ctx alone), after
// it by RequestTimeout of silence between deltas.
func (o *opening) attempt(p *provider, route Route, key int, creq domain.CompletionRequest, ttft time.Duration) (*Answer, error) {
	actx, cancel := context.WithCancelCause(o.ctx)
	a := &Answer{Provider: route.Provider, Model: route.Model, KeyIndex: key, r: o.r, route: o.ctx, ctx: actx, cancel: cancel, done: o.cancel}
	if ttft > 0 {
		a.timer = time.AfterFunc(ttft, func() { cancel(errFirstTokenTimeout) })
	}
	stream, err := p.client.StreamChat(actx, key, creq)
	if err != nil {
		a.release()
		return nil, a.classify(err)
	}
	a.stream = stream
	// The provider accepted the request (see Trace.Accepted): from here on
	// the trace names it, and the user pays whatever happens next. A later
	// attempt that is accepted in turn replaces it.
	k := key
	o.trace.Provider, o.trace.Model, o.trace.KeyIndex = route.Provider, route.Model, &k
	for {
		d, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			a.eof = true
			a.begin(p, o.req.Began) // an empty answer is still an answer
			return a, nil
		}
		if err != nil {
			err = a.classify(err)
			a.release()
			return nil, err
		}
		if d.Opens() {
			a.pending = append(a.pending, d)
			a.begin(p, o.req.Began)
			return a, nil
		}
		if d.Usage != nil {
			a.pending = append(a.pending, d)
		}
	}
}

// begin marks the first token: the provider answered (its breaker closes),
// and from now on silences are bounded instead.
func (a *Answer) begin(p *provider, began time.Time) {
	if a.timer != nil {
		a.timer.Stop()
	}
	p.breaker.success()
	a.FirstToken = time.Since(began)
	a.stall = time.AfterFunc(a.r.cfg.RequestTimeout, func() { a.cancel(errStalled) })
}

// classify turns the failure of a call cut by this attempt's own timers into
// a timeout of the provider.
func (a *Answer) classify(err error) error {
	cause := context.Cause(a.ctx)
	if a.route.Err() == nil && (errors.Is(cause, errFirstTokenTimeout) || errors.Is(cause, errStalled)) {
		return &domain.ProviderError{Provider: a.Provider, Class: domain.FailureRetryable, Reason: domain.ReasonTimeout, Err: cause}
	}
	return err
}

// Next returns the next delta of the answer, the first ones included;
// io.EOF at its end. Errors: *domain.InterruptedError when the provider
// failed (or stalled) mid-answer, ctx errors when the client left or a
// non-streaming answer ran out of time.
func (a *Answer) Next() (domain.ChatDelta, error) {
	if len(a.pending) > 0 {
		d := a.pending[0]
		a.pending = a.pending[1:]
		a.stall.Reset(a.r.cfg.RequestTimeout)
		return d, nil
	}
	if a.eof {
		return domain.ChatDelta{}, io.EOF
	}
	for {
		d, err := a.stream.Recv()
		if errors.Is(err, io.EOF) {
			a.eof = true
			return domain.ChatDelta{}, io.EOF
		}
		if err != nil {
			if err := a.route.Err(); err != nil {
				return domain.ChatDelta{}, err
			}
			return domain.ChatDelta{}, &domain.InterruptedError{Err: a.classify(err)}
		}
		if !d.Opens() && d.Usage == nil {
			continue
		}
		// Silence between deltas is bounded too.
		a.stall.Reset(a.r.cfg.RequestTimeout)
		return d, nil
	}
}

// Close ends the answer, however far it was read.
func (a *Answer) Close() {
	a.release()
	a.done()
}

// release stops this attempt's timers, closes its stream and cancels it.
func (a *Answer) release() {
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.stall != nil {
		a.stall.Stop()
	}
	if a.stream != nil {
		_ = a.stream.Close()
	}
	a.cancel(nil)
}
