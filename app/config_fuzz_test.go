package app_test

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/app"
)

// fuzzURLVars are the variables that hold URLs; any of them may carry a
// password (a database, a Redis, a proxy in front of a provider).
var fuzzURLVars = []string{
	"DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"GROQ_BASE_URL", "OPENROUTER_BASE_URL", "HUGGINGFACE_BASE_URL", "RENDER_EXTERNAL_URL",
	"DUCKDUCKGO_BASE_URL", "DUCKDUCKGO_LITE_URL",
}

// fuzzNumberVars take the fuzzed number: integers and fractions.
var fuzzNumberVars = []string{
	"PORT", "DATABASE_POOL_SIZE", "JWT_EXPIRATION_HOURS", "USER_DAILY_QUOTA", "MAX_REQUEST_SIZE_BYTES",
	"RATE_LIMIT_PER_MINUTE", "OTEL_TRACES_SAMPLER_ARG", "PROVIDER_DEGRADED_ERROR_RATE",
}

// Stand-ins for the secrets: a password that needs no escaping, and
// header values that are and are not valid URL-encoded text.
const (
	passwordMarker   = "Zq7-pw-marker"
	validValueMarker = "Zq7valuemarker"
	badValueMarker   = "%zzZq7valuemarker"
)

// problemLine is one line of a ConfigError: the variable, then the problem.
var problemLine = regexp.MustCompile(`^[A-Z][A-Z0-9_]*: `)

// fuzzConfig is the fuzzed part of an environment. The URL is
// scheme://user:password@rest with the user info escaped as it must be, so
// that the password is known to be one; the rest is taken as it comes.
type fuzzConfig struct {
	sel                                     uint8
	scheme, user, password, rest            string
	hosts, origins, proxies, pprof, headers string
	number                                  string
}

// The selector picks production (its lowest bit), the URL variable and
// the numeric variable.
func (c fuzzConfig) production() bool { return c.sel%2 == 1 }
func (c fuzzConfig) urlVar() string   { return fuzzURLVars[int(c.sel/2)%len(fuzzURLVars)] }
func (c fuzzConfig) numberVar() string {
	return fuzzNumberVars[int(c.sel/20)%len(fuzzNumberVars)]
}

func (c fuzzConfig) rawURL() string {
	return c.scheme + "://" + url.UserPassword(c.user, c.password).String() + "@" + c.rest
}

// env is the environment, in production with the secret and database
// production requires.
func (c fuzzConfig) env() map[string]string {
	m := map[string]string{
		"ALLOWED_HOSTS": c.hosts, "ALLOWED_ORIGINS": c.origins, "TRUSTED_PROXIES": c.proxies,
		"PPROF_ADDR": c.pprof, "OTEL_EXPORTER_OTLP_HEADERS": c.headers,
		c.numberVar(): c.number,
	}
	if c.production() {
		m["ENV"] = "production"
		m["JWT_SECRET"] = strings.Repeat("s", 32)
		m["DATABASE_URL"] = "postgres://genzai:pw@db.example.com:5432/genzai"
		m["METRICS_TOKEN"] = strings.Repeat("m", 16)
	} else {
		m["AUTH_ALLOW_EMAIL_LOGIN"] = "true" // a PostgreSQL URL in development is refused without it
	}
	m[c.urlVar()] = c.rawURL()
	return m
}

// shown is the text of c's configuration that reaches people: the error,
// or the database location and the configuration's log attributes.
func (c fuzzConfig) shown(t *testing.T) string {
	t.Helper()
	cfg, err := app.LoadConfig(getenv(c.env()))
	if err != nil {
		var ce *app.ConfigError
		require.ErrorAs(t, err, &ce)
		require.NotEmpty(t, ce.Problems)
		for _, p := range ce.Problems {
			assert.Regexp(t, problemLine, p)
		}
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(cfg.DatabaseLocation())
	for _, a := range cfg.LogValue().Group() {
		b.WriteString("\n" + a.String())
	}
	return b.String()
}

// FuzzLoadConfig fuzzes a URL with a password in each URL variable, the
// lists (hosts, origins, proxies), the pprof address, the OTLP headers and
// the numeric variables. LoadConfig must not panic, must report problems
// as a ConfigError of "VARIABLE: problem" lines, and must never show a
// secret: neither the URL's password (as given or escaped) nor an OTLP
// header value may appear in the error, the database location or the
// logged configuration, unless it appears there anyway when the secret is
// replaced by a stand-in (it is then part of something else, a host or a
// variable name).
func FuzzLoadConfig(f *testing.F) {
	const (
		hosts   = "api.example.com,*.example.org"
		origins = "https://app.example.com,http://localhost:5173"
		proxies = "10.0.0.0/8,127.0.0.1,::1"
		pprof   = "127.0.0.1:6060"
		headers = "Authorization=Bearer%20secret-token-1234,x-team=genzai"
	)
	for _, tc := range []fuzzConfig{
		{sel: 0, scheme: "postgres", rest: "db.example.com:5432/genzai"},
		{sel: 1, scheme: "postgresql+asyncpg", rest: "db.example.com/genzai?ssl=true"},
		{sel: 0, scheme: "mysql", rest: "h:3306/db"},
		{sel: 1, scheme: "postgres", rest: "/db"},
		{sel: 0, scheme: "postgres", rest: "h:port/db"},
		{sel: 0, scheme: "postgres", rest: "h/db%zz"},
		{sel: 20, scheme: "postgres", rest: "h/db?password=hunter2query"},
		{sel: 0, scheme: "sqlite", rest: "/var/lib/genzai.db"},
		{sel: 2, scheme: "redis", rest: "cache.example.com:6379/0"},
		{sel: 3, scheme: "rediss", rest: ""},
		{sel: 8, scheme: "https", rest: "proxy.example.com/openai/v1"},
		{sel: 4, scheme: "ftp", rest: "collector.example.com"},
		{sel: 6, scheme: "http s", rest: "x"},
		{sel: 2, scheme: "a/b", rest: "x"},
		{sel: 14, scheme: "", rest: "x"},
	} {
		f.Add(tc.sel, tc.scheme, "genzai", "hunter2pass", tc.rest, hosts, origins, proxies, pprof, headers, "8000")
	}
	f.Add(uint8(1), "postgres", "u", "p@ss/w:rd?#", "[::1]:5432/db", "*", "*", "not-an-ip", "0.0.0.0:6060", "Authorization", "-1")
	f.Add(uint8(125), "https", "", "", "x", "", "https://a.example.com/path", "10.0.0.0/33", "localhost", "a=%zz,b=c", "1e400")
	f.Add(uint8(142), "redis", "user", "s3cr3t-val", "h:6379", "", "", "", ":", "key=s3cr3t%0Aval", "0.5")
	f.Fuzz(func(t *testing.T, sel uint8, scheme, user, password, rest, hosts, origins, proxies, pprof, headers, number string) {
		c := fuzzConfig{sel: sel, scheme: scheme, user: user, password: password, rest: rest,
			hosts: hosts, origins: origins, proxies: proxies, pprof: pprof, headers: headers, number: number}
		shown := c.shown(t)

		// A sqlite: URL has no user info: what looks like one is a file path.
		first, _, _ := strings.Cut(strings.ToLower(c.rawURL()), ":")
		if !(c.urlVar() == "DATABASE_URL" && (first == "sqlite" || strings.HasPrefix(first, "sqlite+"))) {
			other := c
			other.password = passwordMarker
			escaped := strings.TrimPrefix(url.UserPassword("", password).String(), ":")
			checkHidden(t, shown, other.shown(t), "password", password, escaped)
		}

		other := c
		other.headers = replaceHeaderValues(headers)
		var values []string
		for _, pair := range strings.Split(headers, ",") {
			if _, v, ok := strings.Cut(pair, "="); ok {
				values = append(values, strings.TrimSpace(v))
			}
		}
		checkHidden(t, shown, other.shown(t), "OTLP header value", values...)
	})
}

// checkHidden fails when shown contains one of secrets that the same
// configuration with stand-ins (shownWithout) does not.
func checkHidden(t *testing.T, shown, shownWithout, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(shown, s) && !strings.Contains(shownWithout, s) {
			t.Fatalf("the %s %q is shown:\n%s", what, s, shown)
		}
	}
}

// replaceHeaderValues replaces each value of an OTLP headers list by a
// stand-in that is valid exactly when the value is, so that the same
// problems are found.
func replaceHeaderValues(headers string) string {
	pairs := strings.Split(headers, ",")
	for i, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		marker := validValueMarker
		if val, err := url.PathUnescape(strings.TrimSpace(v)); err != nil || strings.ContainsAny(val, "\r\n") {
			marker = badValueMarker
		}
		pairs[i] = k + "=" + marker
	}
	return strings.Join(pairs, ",")
}

// TestLoadConfigFuzzSeedsReachProblems keeps the fuzz seeds useful: they
// must produce both valid configurations and errors.
func TestLoadConfigFuzzSeedsReachProblems(t *testing.T) {
	t.Parallel()
	valid := fuzzConfig{scheme: "postgres", user: "u", password: "p", rest: "h/db", sel: 0}
	_, err := app.LoadConfig(getenv(valid.env()))
	require.NoError(t, err)
	invalid := fuzzConfig{scheme: "mysql", user: "u", password: "p", rest: "h/db", sel: 0}
	_, err = app.LoadConfig(getenv(invalid.env()))
	var ce *app.ConfigError
	require.True(t, errors.As(err, &ce), "%v", err)
}
