package app

import (
	"net"
	"slices"
)

// Risks lists, one line each, the settings that are allowed but leave the
// server open in a way an operator should decide on knowingly; genzai
// doctor prints them as warnings. Add new checks here so that every tool
// sees the same list.
func (c Config) Risks() []string {
	var out []string
	add := func(s string) { out = append(out, s) }
	if !c.Production() {
		add("ENV is development (the default when unset): email-only login, a random JWT secret and the mock provider are allowed; set ENV=production for a deployment")
	}
	if c.AuthAllowEmailLogin {
		add("AUTH_ALLOW_EMAIL_LOGIN is on: anyone can log in as any account, admins included, by its email address alone")
	}
	if c.MetricsToken == "" {
		switch {
		case c.MetricsAddr == "":
			add("METRICS_TOKEN is not set: /metrics on the API port is open to anyone who reaches it")
		case !loopbackAddr(c.MetricsAddr):
			add("METRICS_TOKEN is not set and METRICS_ADDR " + c.MetricsAddr + " is not a loopback address: /metrics is open to the network")
		}
	}
	if c.Production() && c.DocsEnabled {
		add("DOCS_ENABLED is on in production: /docs and the OpenAPI spec describe the API to anyone (DOCS_ENABLED=false turns them off)")
	}
	if c.Production() && c.DatabaseEngine == EngineSQLite {
		add("DATABASE_URL is SQLite in production: one instance only, and the data lives on this machine's disk")
	}
	if c.RateLimit.Limit == 0 {
		add("RATE_LIMIT_PER_MINUTE is 0: requests are not rate-limited per address")
	}
	if c.AuthRateLimit.Limit == 0 {
		add("AUTH_RATE_LIMIT_PER_MINUTE is 0: login and registration attempts are not rate-limited per address")
	}
	if slices.Contains(c.AllowedOrigins, "*") {
		add(`ALLOWED_ORIGINS contains "*": any web site may call the API from its visitors' browsers`)
	}
	if c.PprofAddr != "" && !loopbackAddr(c.PprofAddr) {
		add("PPROF_ADDR " + c.PprofAddr + " is not a loopback address: profiles expose memory contents (tokens, prompts, keys) to the network")
	}
	if c.LogPrompts {
		add("LOG_PROMPTS is on: users' prompts and answers are written to the logs")
	}
	if len(c.AdminEmails) > 0 && !c.Mail.Enabled() {
		add("ADMIN_EMAILS is set without SMTP_URL: no address can be verified by mail, so the list promotes nobody; grant admin rights with genzai admin grant instead")
	}
	if c.Production() && !c.Mail.Enabled() {
		add("SMTP_URL is not set in production: addresses are never verified, so anyone can open accounts (and daily quotas) with addresses they do not own")
	}
	if c.Production() && c.DatabaseEngine == EnginePostgres && c.RedisURL == "" {
		add("REDIS_URL is not set: rate limits, the per-account login guard and the per-user concurrency bound are kept per instance, so N instances allow N times as much")
	}
	if c.LoginMaxFailures == 0 {
		add("LOGIN_MAX_FAILURES is 0: failed passwords are not limited per account, only per address")
	}
	if c.MaxConcurrentPerUser == 0 {
		add("MAX_CONCURRENT_REQUESTS_PER_USER is 0: one user may hold any number of chat requests and streams open")
	}
	return out
}

// loopbackAddr reports whether a host:port listens on a loopback address
// only (an empty host means every interface).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}
