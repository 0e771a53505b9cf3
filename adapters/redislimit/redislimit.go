// Package redislimit implements ports.RateLimiter in Redis, so that every
// instance of the gateway shares one budget per key.
//
// It wraps github.com/go-redis/redis_rate: the generic cell rate algorithm
// in one Lua script, so that each decision is one atomic round trip timed
// by the Redis server's clock (instances' clocks may disagree).
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var (
	_ ports.RateLimiter = (*Limiter)(nil)
	_ ports.Pinger      = (*Limiter)(nil)
)

// KeyPrefix starts every key the limiter passes to redis_rate, which puts
// its own "rate:" in front: the key "ip:192.0.2.1" is stored in Redis as
// "rate:genzai:rl:ip:192.0.2.1".
const KeyPrefix = "genzai:rl:"

// Timeouts Open applies unless the URL sets them: a limiter sits in the
// request path, so an unreachable Redis must fail fast rather than stall
// every request.
const (
	DialTimeout  = 500 * time.Millisecond
	ReadTimeout  = 250 * time.Millisecond
	WriteTimeout = 250 * time.Millisecond
	PoolTimeout  = 250 * time.Millisecond
	pingTimeout  = time.Second
)

// Limiter is a ports.RateLimiter over Redis, safe for concurrent use.
//
// A rate whose Limit or Period is not positive imposes no limit: every
// request is allowed with Limit 0 and Remaining -1, without a round trip.
type Limiter struct {
	client  redis.UniversalClient
	limiter *redis_rate.Limiter
}

// New returns a Limiter storing its state through client.
func New(client redis.UniversalClient) *Limiter {
	return &Limiter{client: client, limiter: redis_rate.NewLimiter(client)}
}

// Allow implements ports.RateLimiter. Its errors are *domain.Error with
// CodeUnavailable: Redis could not be reached or did not answer in time.
func (l *Limiter) Allow(ctx context.Context, key string, rate domain.Rate) (domain.RateDecision, error) {
	if rate.Limit <= 0 || rate.Period <= 0 {
		return domain.RateDecision{Allowed: true, Remaining: -1}, nil
	}
	res, err := l.limiter.Allow(ctx, KeyPrefix+key, redis_rate.Limit{Rate: rate.Limit, Burst: rate.Limit, Period: rate.Period})
	if err != nil {
		return domain.RateDecision{}, &domain.Error{Code: domain.CodeUnavailable, Message: "Rate limiter unavailable", Err: fmt.Errorf("redis rate limit: %w", err)}
	}
	d := domain.RateDecision{Allowed: res.Allowed > 0, Limit: rate.Limit, ResetAfter: max(res.ResetAfter, 0)}
	if d.Allowed {
		d.Remaining = remaining(rate, d.ResetAfter)
	} else {
		// redis_rate reports a RetryAfter of -1 when allowed; the port wants
		// 0 then, which is the zero value.
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d, nil
}

// remaining is how many more requests an allowed one leaves, from the time
// until the key's budget is whole: Limit - resetAfter/interval, rounded
// down. The script computes the same number, but in floating point on
// seconds since 2017, where the first request of a key sometimes gets
// 5.9999999 and so 5 remaining of 7. Redis's clock counts whole
// microseconds, so half a microsecond of slack repairs that without
// changing any honest answer by more than that.
func remaining(rate domain.Rate, resetAfter time.Duration) int {
	interval := rate.Period.Seconds() / float64(rate.Limit)
	slack := (500 * time.Nanosecond).Seconds()
	r := float64(rate.Limit) - (resetAfter.Seconds()-slack)/interval
	return min(max(int(math.Floor(r)), 0), rate.Limit-1)
}

// Ping implements ports.Pinger: it checks that Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Open connects to the Redis at rawURL (redis:// or rediss://, with
// optional user, password, database number and go-redis query options) and
// pings it. It applies the package's short timeouts, one dial attempt and
// no command retries, unless the URL sets them: the caller (see
// adapters/ratelimit) decides what to do when Redis fails.
//
// When the URL is invalid the client is nil. When only the ping fails, Open
// returns the client together with the error: the client reconnects by
// itself, so a caller may start without Redis; it must close the client
// either way. No error ever contains the password.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	opts, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		return client, fmt.Errorf("ping redis at %s: %w", opts.Addr, err)
	}
	return client, nil
}

// parseURL reads a redis URL into client options. Its errors name the
// host, the path or the option at fault, never the user information.
func parseURL(rawURL string) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only
		// its reason, which quotes at most the host or the port, unless it
		// is a bad %-escape, which quotes three characters of wherever it
		// is, the password too.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ee url.EscapeError
		if errors.As(err, &ee) {
			err = errors.New("invalid %-escape")
		}
		return nil, fmt.Errorf("parse redis URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("parse redis URL: scheme %q is not redis or rediss", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("parse redis URL: no host")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = ReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = WriteTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = PoolTimeout
	}
	if opts.MaxRetries == 0 {
		// A retried script could count a request twice, and each retry
		// would add its timeout to the request.
		opts.MaxRetries = -1
	}
	// One dial attempt per connection: go-redis's default of five, 100 ms
	// apart, would multiply the dial timeout.
	opts.DialerRetries = 1
	// A request's own deadline cuts the round trip short.
	opts.ContextTimeoutEnabled = true
	// No CLIENT SETINFO nor CLIENT MAINT_NOTIFICATIONS on each new
	// connection: one round trip, the HELLO handshake, is enough.
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, nil
}
