// Package metrics exposes the gateway's Prometheus metrics: HTTP traffic,
// chat routing, providers, the database and the Go runtime, each App on its
// own registry. It observes through decorators of the ports (ChatProvider,
// ImageGenerator, Transcriber, SpeechSynthesizer, RequestLog), a pgx tracer
// and collectors read at scrape time, so that no use case knows about it.
//
// Every label has a bounded set of values: route templates, tiers,
// providers, operations (request kinds), outcomes, failure classes and
// reasons, query names, key indexes. Values outside the known sets are
// reported as "other"; user ids, raw paths, keys and prompts never become
// labels.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/genzai/genzai/domain"
)

// namespace prefixes every gateway metric.
const namespace = "genzai"

// other is the label value of anything outside a label's known set.
const other = "other"

// Histogram buckets, in seconds.
var (
	// httpBuckets reach minutes: a streamed chat lasts as long as its answer.
	httpBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// chatBuckets cover a whole answer.
	chatBuckets = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300}
	// firstTokenBuckets cover the wait for the first token (bounded by
	// PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS per attempt).
	firstTokenBuckets = []float64{.05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10, 20, 30}
	// queryBuckets cover database statements.
	queryBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
)

// Metrics is one App's registry and the metric families the gateway
// records. Its methods are safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpChildren cache[httpKey, httpChild]
	rateLimited  *prometheus.CounterVec
	// rateLimitedBy are rateLimited's children: ip, auth, metrics.
	rateLimitedBy [3]prometheus.Counter
	streamsOpen   prometheus.Gauge

	chatRequests *prometheus.CounterVec
	// imageRequests counts finished image requests (the request log's
	// kind image): they are not chat requests.
	imageRequests *prometheus.CounterVec
	// voiceRequests counts finished transcription and speech requests
	// (the request log's kinds transcription and speech).
	voiceRequests   *prometheus.CounterVec
	chatDuration    *prometheus.HistogramVec
	chatFirstToken  *prometheus.HistogramVec
	chatFallbacks   *prometheus.CounterVec
	chatAttempts    *prometheus.CounterVec
	quotaRejections *prometheus.CounterVec
	// concurrencyRejections counts requests of every kind refused because the user
	// had MAX_CONCURRENT_REQUESTS_PER_USER running.
	concurrencyRejections prometheus.Counter
	// cacheRequests counts chat requests by how they met the response
	// cache; cacheBy are its children: hit, miss, bypass.
	cacheRequests   *prometheus.CounterVec
	cacheBy         [3]prometheus.Counter
	chatChildren    cache[chatKey, chatChild]
	answerChildren  cache[answerKey, answerChild]
	attemptChildren cache[attemptKey, prometheus.Counter]

	providerDuration   *prometheus.HistogramVec
	providerFirstToken *prometheus.HistogramVec
	providerErrors     *prometheus.CounterVec

	queryDuration *prometheus.HistogramVec
	queryChildren cache[string, prometheus.Observer]
}

// New builds the metric families on a fresh registry, with the Go runtime
// and process collectors. Scrape errors of a collector are logged and the
// rest of the scrape is still served.
func New(logger *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests by route template, method and status.",
	}, []string{"method", "route", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "HTTP request duration (a streamed answer counts until its end) by route template, method and status.",
		Buckets: httpBuckets,
	}, []string{"method", "route", "status"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "rate_limit_rejections_total",
		Help: "Requests refused by the per-IP rate limits, by scope (ip: every limited route; auth: /api/v1/auth/*; metrics: wrong METRICS_TOKEN).",
	}, []string{"scope"})
	m.streamsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "chat_streams_open",
		Help: "Chat answers being streamed (Server-Sent Events) now.",
	})
	m.chatRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "chat_requests_total",
		Help: "Finished chat requests by tier, answering provider (none when no provider answered) and outcome.",
	}, []string{"tier", "provider", "outcome"})
	m.imageRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "image_requests_total",
		Help: "Finished image generation requests by the provider that delivered (none when none did) and outcome.",
	}, []string{"provider", "outcome"})
	m.voiceRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "voice_requests_total",
		Help: "Finished voice requests by kind (transcription, speech), the provider that delivered (none when none did) and outcome.",
	}, []string{"kind", "provider", "outcome"})
	m.chatDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "chat_request_duration_seconds",
		Help:    "Chat request duration, from arrival to the end of the answer, by tier and outcome.",
		Buckets: chatBuckets,
	}, []string{"tier", "outcome"})
	m.chatFirstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "chat_time_to_first_token_seconds",
		Help:    "Time from a chat request's arrival to its first token (routing and fallbacks included), by tier and provider.",
		Buckets: firstTokenBuckets,
	}, []string{"tier", "provider"})
	m.chatFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "chat_fallbacks_total",
		Help: "Chat requests answered after at least one failed attempt, by tier and the provider that answered.",
	}, []string{"tier", "provider"})
	m.chatAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "chat_failed_attempts_total",
		Help: "Providers (or keys) tried for a chat request that did not answer, by provider and reason.",
	}, []string{"provider", "reason"})
	m.quotaRejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "quota_rejections_total",
		Help: "Chat requests refused because the user's daily quota was spent, by tier.",
	}, []string{"tier"})
	m.concurrencyRejections = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "concurrency_rejections_total",
		Help: "Requests (chat, image, transcription, speech) refused because the user already had MAX_CONCURRENT_REQUESTS_PER_USER running.",
	})
	m.cacheRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cache_requests_total",
		Help: "Chat requests by how they met the response cache: hit (answered from it, no provider call), miss (answered by a provider) or bypass (opted out, or the cache store could not answer). Nothing while CACHE_ENABLED is off.",
	}, []string{"status"})
	m.providerDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "provider_request_duration_seconds",
		Help:    "Upstream request duration, from the request to the end of its stream (a chat) or its answer (an image, a transcription, speech), by provider, operation (the request log's kind: chat, image, transcription, speech) and outcome (success, error, cancelled).",
		Buckets: chatBuckets,
	}, []string{"provider", "operation", "outcome"})
	m.providerFirstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "provider_time_to_first_token_seconds",
		Help:    "Time from an upstream request to its first token, by provider.",
		Buckets: firstTokenBuckets,
	}, []string{"provider"})
	m.providerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "provider_errors_total",
		Help: "Failed upstream requests by provider, operation, failure class and reason.",
	}, []string{"provider", "operation", "class", "reason"})
	m.queryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "db_query_duration_seconds",
		Help:    "Database statement duration by query name (PostgreSQL only).",
		Buckets: queryBuckets,
	}, []string{"query"})

	m.httpChildren.init(m.newHTTPChild)
	m.chatChildren.init(m.newChatChild)
	m.answerChildren.init(m.newAnswerChild)
	m.attemptChildren.init(func(k attemptKey) prometheus.Counter { return m.chatAttempts.WithLabelValues(k.provider, k.reason) })
	m.queryChildren.init(func(name string) prometheus.Observer { return m.queryDuration.WithLabelValues(name) })

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.rateLimited, m.streamsOpen,
		m.chatRequests, m.imageRequests, m.voiceRequests, m.chatDuration, m.chatFirstToken, m.chatFallbacks, m.chatAttempts, m.quotaRejections, m.concurrencyRejections,
		m.cacheRequests,
		m.providerDuration, m.providerFirstToken, m.providerErrors,
		m.queryDuration,
	)
	// Series that dashboards and alerts read from the start, at zero.
	for i, scope := range []string{"ip", "auth", "metrics"} {
		m.rateLimitedBy[i] = m.rateLimited.WithLabelValues(scope)
	}
	for _, t := range domain.Tiers {
		m.quotaRejections.WithLabelValues(string(t))
	}
	for i, st := range cacheStatuses {
		m.cacheBy[i] = m.cacheRequests.WithLabelValues(string(st))
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      scrapeLog{logger},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return m
}

// Register adds a collector, such as the breaker or the pool collector, to
// the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Gatherer is the registry, for tests and embedding.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ServeHTTP writes every metric in the exposition format the scraper asks
// for (text by default), gzipped when it accepts gzip.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// scrapeLog sends promhttp's error reports to the server log.
type scrapeLog struct{ log *slog.Logger }

// Println implements promhttp.Logger.
func (l scrapeLog) Println(v ...any) {
	if l.log != nil {
		l.log.Error("metrics scrape", "error", fmt.Sprint(v...))
	}
}

// httpKey is one HTTP series; method and route are already bounded by the
// HTTP layer.
type httpKey struct {
	method, route string
	status        int
}

type httpChild struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *Metrics) newHTTPChild(k httpKey) httpChild {
	status := strconv.Itoa(k.status)
	return httpChild{
		requests: m.httpRequests.WithLabelValues(k.method, k.route, status),
		duration: m.httpDuration.WithLabelValues(k.method, k.route, status),
	}
}

// ObserveRequest records a finished HTTP request. method must be a standard
// method or "OTHER" and route a route template or a fixed placeholder: the
// HTTP layer bounds them.
func (m *Metrics) ObserveRequest(method, route string, status int, elapsed time.Duration) {
	if status < 100 || status > 999 {
		status = 0
	}
	c := m.httpChildren.get(httpKey{method: method, route: route, status: status})
	c.requests.Inc()
	c.duration.Observe(elapsed.Seconds())
}

// RateLimited counts a request refused by the per-IP limits; scope is "ip",
// "auth" or "metrics" (wrong metrics tokens).
func (m *Metrics) RateLimited(scope string) {
	switch scope {
	case "ip":
		m.rateLimitedBy[0].Inc()
	case "auth":
		m.rateLimitedBy[1].Inc()
	case "metrics":
		m.rateLimitedBy[2].Inc()
	default:
		m.rateLimited.WithLabelValues(other).Inc()
	}
}

// StreamOpened counts a chat stream that started.
func (m *Metrics) StreamOpened() { m.streamsOpen.Inc() }

// StreamClosed counts a chat stream that ended.
func (m *Metrics) StreamClosed() { m.streamsOpen.Dec() }

// cache holds the children of metric vectors by a comparable key, so that
// the hot path neither formats label values nor allocates: a hit is one
// atomic load and a map lookup, without locks; a miss (once per key, and
// keys are bounded) copies the map under a mutex.
type cache[K comparable, V any] struct {
	mu      sync.Mutex
	m       atomic.Pointer[map[K]V]
	newItem func(K) V
}

func (c *cache[K, V]) init(newItem func(K) V) {
	c.newItem = newItem
	m := map[K]V{}
	c.m.Store(&m)
}

func (c *cache[K, V]) get(k K) V {
	if v, ok := (*c.m.Load())[k]; ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	next := make(map[K]V, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	v := c.newItem(k)
	next[k] = v
	c.m.Store(&next)
	return v
}

// Label values outside these sets become "other".
var (
	knownOutcomes = set(domain.Outcomes...)
	knownClasses  = set(domain.FailureRateLimited, domain.FailureKeyRejected, domain.FailureRetryable, domain.FailureCaller)
	// knownReasons are the providers' failure reasons (domain.ProviderError)
	// and the router's own reasons for skipping a provider.
	knownReasons = set(domain.AttemptReasons...)
	knownKinds   = set(domain.RequestKinds...)
)

func set[T ~string](values ...T) map[T]bool {
	m := make(map[T]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

func bounded[T ~string](known map[T]bool, v T) string {
	if known[v] {
		return string(v)
	}
	return other
}

func tierLabel(t domain.Tier) string {
	if t.Valid() {
		return string(t)
	}
	return other
}

func providerLabel(p domain.Provider) string {
	switch p {
	case "":
		return "none"
	}
	if slices.Contains(domain.Providers, p) {
		return string(p)
	}
	return other
}
