package metrics

import (
	"database/sql"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/genzai/genzai/domain/accounts"
	"github.com/genzai/genzai/domain/routing"
)

// ProviderStates reports the routing state of the configured providers;
// *routing.Router implements it.
type ProviderStates interface {
	Providers() []routing.ProviderStatus
}

var breakerStates = []routing.BreakerState{routing.BreakerClosed, routing.BreakerOpen, routing.BreakerHalfOpen}

// NewBreakerCollector reports, at each scrape, every configured provider's
// circuit breaker state and which of its keys (by index, never the key) are
// cooling down after a 429 or were rejected by the provider.
func NewBreakerCollector(src ProviderStates) prometheus.Collector {
	return &breakerCollector{
		src: src,
		state: prometheus.NewDesc(namespace+"_provider_circuit_breaker_state",
			"Circuit breaker state of a provider: 1 for its current state (closed, open, half_open), 0 for the others.",
			[]string{"provider", "state"}, nil),
		cooling: prometheus.NewDesc(namespace+"_provider_key_cooling_down",
			"1 while a provider key (by index) is cooling down after a 429, else 0.",
			[]string{"provider", "key_index"}, nil),
		rejected: prometheus.NewDesc(namespace+"_provider_key_rejected",
			"1 when a provider key (by index) was rejected (401/403/402) and sits out its cool-off (PROVIDER_KEY_REJECT_COOLOFF_SECONDS), else 0.",
			[]string{"provider", "key_index"}, nil),
	}
}

type breakerCollector struct {
	src                      ProviderStates
	state, cooling, rejected *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.cooling
	ch <- c.rejected
}

// Collect implements prometheus.Collector.
func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.src.Providers() {
		name := providerLabel(p.Provider)
		for _, st := range breakerStates {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, flag(p.Breaker == st), name, string(st))
		}
		for _, k := range p.Keys {
			idx := strconv.Itoa(k.Index)
			ch <- prometheus.MustNewConstMetric(c.cooling, prometheus.GaugeValue, flag(k.CoolingDown), name, idx)
			ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.GaugeValue, flag(k.Rejected), name, idx)
		}
	}
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// poolDescs are the connection pool families, shared by both engines.
type poolDescs struct {
	conns, maxConns, waits, waitSeconds, closed *prometheus.Desc
	// PostgreSQL (pgxpool) only.
	acquires, acquireSeconds, canceled, opened *prometheus.Desc
}

func newPoolDescs() poolDescs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_db_pool_"+name, help, labels, nil)
	}
	return poolDescs{
		conns:          d("connections", "Open connections by state (in_use, idle; constructing on PostgreSQL).", "state"),
		maxConns:       d("max_connections", "Most connections the pool may open."),
		waits:          d("waits_total", "Connection acquisitions that had to wait for a free connection."),
		waitSeconds:    d("wait_seconds_total", "Time spent waiting for a free connection."),
		closed:         d("connections_closed_total", "Connections closed by the pool, by reason (max_lifetime, max_idle).", "reason"),
		acquires:       d("acquires_total", "Connection acquisitions (PostgreSQL)."),
		acquireSeconds: d("acquire_seconds_total", "Time spent acquiring connections, waits included (PostgreSQL)."),
		canceled:       d("canceled_acquires_total", "Acquisitions abandoned because their context ended (PostgreSQL)."),
		opened:         d("connections_opened_total", "Connections opened (PostgreSQL)."),
	}
}

// NewPgxPoolCollector reports a PostgreSQL pool's statistics at each scrape.
func NewPgxPoolCollector(stat func() *pgxpool.Stat) prometheus.Collector {
	return &pgxPoolCollector{stat: stat, d: newPoolDescs()}
}

type pgxPoolCollector struct {
	stat func() *pgxpool.Stat
	d    poolDescs
}

// Describe implements prometheus.Collector.
func (c *pgxPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.d.conns, c.d.maxConns, c.d.waits, c.d.waitSeconds, c.d.closed,
		c.d.acquires, c.d.acquireSeconds, c.d.canceled, c.d.opened} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *pgxPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.d.conns, gauge, float64(s.AcquiredConns()), "in_use")
	ch <- prometheus.MustNewConstMetric(c.d.conns, gauge, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(c.d.conns, gauge, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(c.d.maxConns, gauge, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.d.waits, counter, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.d.waitSeconds, counter, s.EmptyAcquireWaitTime().Seconds())
	ch <- prometheus.MustNewConstMetric(c.d.closed, counter, float64(s.MaxLifetimeDestroyCount()), "max_lifetime")
	ch <- prometheus.MustNewConstMetric(c.d.closed, counter, float64(s.MaxIdleDestroyCount()), "max_idle")
	ch <- prometheus.MustNewConstMetric(c.d.acquires, counter, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.d.acquireSeconds, counter, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(c.d.canceled, counter, float64(s.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.d.opened, counter, float64(s.NewConnsCount()))
}

// NewSQLPoolCollector reports a database/sql pool's statistics (SQLite) at
// each scrape, under the same names as the PostgreSQL pool's.
func NewSQLPoolCollector(stats func() sql.DBStats) prometheus.Collector {
	return &sqlPoolCollector{stats: stats, d: newPoolDescs()}
}

type sqlPoolCollector struct {
	stats func() sql.DBStats
	d     poolDescs
}

// Describe implements prometheus.Collector.
func (c *sqlPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.d.conns, c.d.maxConns, c.d.waits, c.d.waitSeconds, c.d.closed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sqlPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.d.conns, gauge, float64(s.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(c.d.conns, gauge, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(c.d.maxConns, gauge, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.d.waits, counter, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.d.waitSeconds, counter, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(c.d.closed, counter, float64(s.MaxLifetimeClosed), "max_lifetime")
	ch <- prometheus.MustNewConstMetric(c.d.closed, counter, float64(s.MaxIdleClosed+s.MaxIdleTimeClosed), "max_idle")
}

// AccountCache is the in-process cache of accounts and API keys;
// *accounts.Cache implements it.
type AccountCache interface {
	Stats() accounts.Stats
	Live() bool
}

// NewAccountCacheCollector reports, at each scrape, how many account and
// API key lookups the cache answered and how many went to the database,
// and whether change notices flow.
func NewAccountCacheCollector(src AccountCache) prometheus.Collector {
	return &accountCacheCollector{
		src: src,
		lookups: prometheus.NewDesc(namespace+"_account_cache_lookups_total",
			"Account and API key lookups made to authenticate requests, by result: hit (served from memory) or miss (read from the database).",
			[]string{"result"}, nil),
		live: prometheus.NewDesc(namespace+"_account_notices_live",
			"1 while this instance hears every change to accounts at once (PostgreSQL listener connected), else 0: cached accounts then live 1 s.",
			nil, nil),
	}
}

type accountCacheCollector struct {
	src           AccountCache
	lookups, live *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *accountCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lookups
	ch <- c.live
}

// Collect implements prometheus.Collector.
func (c *accountCacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.lookups, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.lookups, prometheus.CounterValue, float64(s.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, flag(c.src.Live()))
}

// ResponseCacheStats reports the size of an in-process response cache;
// the memory store (memory.ResponseCache) implements it.
type ResponseCacheStats interface {
	Stats() (entries int, bytes int64)
}

// NewResponseCacheCollector reports, at each scrape, how many answers the
// in-process response cache holds and their approximate size in bytes.
// Register it only when that store is in use: Redis keeps its own count.
func NewResponseCacheCollector(src ResponseCacheStats) prometheus.Collector {
	return &responseCacheCollector{
		src: src,
		entries: prometheus.NewDesc(namespace+"_cache_entries",
			"Answers held by the in-process response cache.", nil, nil),
		bytes: prometheus.NewDesc(namespace+"_cache_bytes",
			"Approximate size of the answers held by the in-process response cache, bounded by CACHE_MAX_BYTES.", nil, nil),
	}
}

type responseCacheCollector struct {
	src            ResponseCacheStats
	entries, bytes *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *responseCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.bytes
}

// Collect implements prometheus.Collector.
func (c *responseCacheCollector) Collect(ch chan<- prometheus.Metric) {
	entries, bytes := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(entries))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(bytes))
}
