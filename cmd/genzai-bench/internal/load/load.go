// Package load generates chat traffic against a target and measures it:
// closed loop (a fixed number of workers back to back) or open loop (a
// fixed arrival rate, with latency counted from each request's scheduled
// time so that a slow target cannot hide its queueing), plain answers or
// streams, and a mix of both.
package load

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol is the wire format a target speaks.
type Protocol int

// Protocols.
const (
	// OpenAI is POST /chat/completions of the OpenAI API: a JSON answer, or
	// SSE "data: {chunk}" lines ending with "data: [DONE]".
	OpenAI Protocol = iota
	// Gateway is genzai's POST /api/v1/chat: a JSON answer, or SSE with
	// tokens as "data: \"...\"" events and an "event: done" at the end.
	Gateway
)

// String names the protocol.
func (p Protocol) String() string {
	if p == Gateway {
		return "genzai"
	}
	return "openai"
}

// Target is one endpoint put under load.
type Target struct {
	// Name labels the target in results ("direct", "gateway", ...).
	Name string
	// URL is the chat endpoint itself.
	URL string
	// Protocol is what URL speaks.
	Protocol Protocol
	// Header is sent with every request.
	Header http.Header
	// Model is the "model" field: an upstream model for OpenAI, a tier for
	// Gateway ("" leaves it out).
	Model string
	// Tokens are bearer tokens used in turn, one request each; empty sends
	// none (beyond Header).
	Tokens []string
	// Prompt is the user's message.
	Prompt string
}

// Mode is how requests are paced.
type Mode string

// Modes.
const (
	// Closed runs Concurrency workers, each sending its next request as
	// soon as the previous one ends.
	Closed Mode = "closed"
	// Open sends Rate requests per second whatever the answers do.
	Open Mode = "open"
)

// Load describes the traffic of one run.
type Load struct {
	Mode        Mode
	Concurrency int
	// Rate is requests per second in open loop.
	Rate float64
	// Duration is how long requests are started for.
	Duration time.Duration
	// MaxRequests stops an open loop after that many requests (0: no bound).
	MaxRequests int
	// StreamShare is the share of requests that ask for a stream (0 to 1).
	StreamShare float64
	// Timeout bounds one request, stream included.
	Timeout time.Duration
	// MaxInFlight bounds an open loop's requests in progress; a request
	// due beyond it is not sent and counts as an "overload" error, which
	// says the generator, not the target, ran out of room (0: 100000).
	MaxInFlight int
}

// Phase is what one run of a Load against a Target measured. Latency, TTFT
// and Gaps hold successful requests only.
type Phase struct {
	Target string
	Start  time.Time
	// End is when the last request ended.
	End time.Time
	// Sent counts requests due, including those not sent for overload.
	Sent   int
	OK     int
	Errors map[string]int
	// Latency is from the scheduled start to the end of the answer.
	Latency []time.Duration
	// TTFT is from the scheduled start to the first token of a stream.
	TTFT []time.Duration
	// Gaps are the times between consecutive tokens of streams.
	Gaps []time.Duration
	// Streams counts successful streams, Tokens the tokens they carried.
	Streams int
	Tokens  int
	// PeakOpen is the most answers in progress at once (headers received,
	// end not yet).
	PeakOpen int
}

// Elapsed is the time from the first start to the last end.
func (p *Phase) Elapsed() time.Duration {
	if p.End.Before(p.Start) {
		return 0
	}
	return p.End.Sub(p.Start)
}

// RPS is successful requests per second over Elapsed.
func (p *Phase) RPS() float64 {
	if e := p.Elapsed().Seconds(); e > 0 {
		return float64(p.OK) / e
	}
	return 0
}

// ErrorCount is the number of failed requests.
func (p *Phase) ErrorCount() int {
	n := 0
	for _, c := range p.Errors {
		n += c
	}
	return n
}

var debugSlow = os.Getenv("BENCH_DEBUG") != ""

// Runner sends one target's requests.
type Runner struct {
	client *http.Client
	target Target
	// bodies[0] is the plain request, bodies[1] the streamed one.
	bodies [2][]byte
	seq    atomic.Uint64
	open   atomic.Int64
	peak   atomic.Int64
}

// NewRunner returns a Runner sending t's requests through c.
func NewRunner(t Target, c *http.Client) (*Runner, error) {
	r := &Runner{client: c, target: t}
	for i, stream := range []bool{false, true} {
		var body any
		if t.Protocol == Gateway {
			b := map[string]any{"prompt": t.Prompt, "stream": stream}
			if t.Model != "" {
				b["model"] = t.Model
			}
			body = b
		} else {
			body = map[string]any{
				"model":    t.Model,
				"messages": []map[string]string{{"role": "user", "content": t.Prompt}},
				"stream":   stream,
			}
		}
		var err error
		if r.bodies[i], err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	return r, nil
}

// recorder collects outcomes; it is shared by a run's goroutines.
type recorder struct {
	mu sync.Mutex
	p  Phase
}

func (rc *recorder) add(o outcome, end time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if end.After(rc.p.End) {
		rc.p.End = end
	}
	if o.err != "" {
		rc.p.Errors[o.err]++
		return
	}
	rc.p.OK++
	rc.p.Latency = append(rc.p.Latency, o.latency)
	if o.stream {
		rc.p.Streams++
		rc.p.Tokens += o.tokens
		rc.p.TTFT = append(rc.p.TTFT, o.ttft)
		rc.p.Gaps = append(rc.p.Gaps, o.gaps...)
	}
}

func (rc *recorder) fail(kind string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.p.Errors[kind]++
}

// isStream spreads streamed requests evenly through the sequence: request
// n is streamed when the fractional part of n*phi is below share.
func isStream(n uint64, share float64) bool {
	switch {
	case share <= 0:
		return false
	case share >= 1:
		return true
	}
	const phi = 0.6180339887498949
	_, frac := math.Modf(float64(n) * phi)
	return frac < share
}

// Run sends l's requests to the target until l is done or ctx ends and
// returns what they measured.
func (r *Runner) Run(ctx context.Context, l Load) *Phase {
	rc := &recorder{p: Phase{Target: r.target.Name, Errors: map[string]int{}}}
	r.open.Store(0)
	r.peak.Store(0)
	start := time.Now()
	rc.p.Start, rc.p.End = start, start
	if l.Timeout <= 0 {
		l.Timeout = time.Minute
	}
	switch l.Mode {
	case Open:
		rc.p.Sent = r.runOpen(ctx, l, rc, start)
	default:
		rc.p.Sent = r.runClosed(ctx, l, rc, start)
	}
	rc.p.PeakOpen = int(r.peak.Load())
	return &rc.p
}

func (r *Runner) runClosed(ctx context.Context, l Load, rc *recorder, start time.Time) int {
	deadline := start.Add(l.Duration)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range max(l.Concurrency, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(deadline) {
					return
				}
				sent.Add(1)
				n := r.seq.Add(1)
				o := r.do(ctx, n, now, isStream(n, l.StreamShare), l.Timeout)
				rc.add(o, time.Now())
			}
		})
	}
	wg.Wait()
	return int(sent.Load())
}

func (r *Runner) runOpen(ctx context.Context, l Load, rc *recorder, start time.Time) int {
	maxInFlight := int64(l.MaxInFlight)
	if maxInFlight <= 0 {
		maxInFlight = 100_000
	}
	if l.Rate <= 0 {
		return 0
	}
	interval := float64(time.Second) / l.Rate
	end := start.Add(l.Duration)
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sent := 0
	for i := 0; ; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if !due.Before(end) || (l.MaxRequests > 0 && i >= l.MaxRequests) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		if inFlight.Load() >= maxInFlight {
			rc.fail("overload")
			continue
		}
		inFlight.Add(1)
		n := r.seq.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			o := r.do(ctx, n, due, isStream(n, l.StreamShare), l.Timeout)
			if debugSlow && o.latency > 50*time.Millisecond {
				fmt.Printf("DBG %s slow: due +%v latency %v\n", r.target.Name, due.Sub(start).Round(time.Millisecond), o.latency.Round(time.Millisecond))
			}
			rc.add(o, time.Now())
		})
	}
	wg.Wait()
	return sent
}

// opened counts an answer in progress and keeps the peak.
func (r *Runner) opened() {
	n := r.open.Add(1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (r *Runner) closed() { r.open.Add(-1) }
