package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/genzai/genzai/app"
)

// printBanner tells a person who just started the server where it is, what
// it runs on and how to get a first token. Production logs a structured
// line instead: its output is read by machines.
func printBanner(w io.Writer, cfg app.Config, db *app.Database, addr net.Addr) {
	base := baseURL(cfg.Host, addr)
	store := "PostgreSQL " + db.Location
	if !db.Shared() {
		store = "SQLite " + cfg.DatabasePath + " (single instance; DATABASE_URL=postgres://... to scale out)"
	}
	var providers []string
	for _, p := range []struct {
		name string
		cfg  app.ProviderConfig
	}{{"groq", cfg.Groq}, {"openrouter", cfg.OpenRouter}, {"huggingface", cfg.HuggingFace}} {
		if p.cfg.Configured() {
			providers = append(providers, fmt.Sprintf("%s (%d keys)", p.name, len(p.cfg.Keys)))
		}
	}
	prov := strings.Join(providers, ", ")
	if cfg.UseMockProvider() {
		prov = "mock (development answers; set GROQ_API_KEYS, OPENROUTER_API_KEYS or HUGGINGFACE_API_KEY for real ones)"
	}
	auth := "JWT_SECRET"
	switch {
	case cfg.JWTSecretFile != "":
		auth = "development JWT secret in " + cfg.JWTSecretFile + " (tokens survive restarts)"
	case cfg.JWTSecretGenerated:
		auth = "random JWT secret (tokens end with this process; set JWT_SECRET to keep them)"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\ngenzai %s is running (%s)\n\n", cfg.Version, cfg.Env)
	if cfg.WebUIEnabled {
		fmt.Fprintf(&b, "  Web app    %s/\n", base)
	}
	fmt.Fprintf(&b, "  API        %s/api/v1\n", base)
	fmt.Fprintf(&b, "  Docs       %s/docs\n", base)
	fmt.Fprintf(&b, "  Store      %s\n", store)
	fmt.Fprintf(&b, "  Providers  %s\n", prov)
	fmt.Fprintf(&b, "  Tokens     %s\n\n", auth)
	if cfg.AuthAllowEmailLogin {
		fmt.Fprintf(&b, "Get a token:\n  curl -s -X POST %s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"you@example.com\"}'\n\n", base)
	} else {
		fmt.Fprintf(&b, "Get a token (register first at %s/api/v1/auth/register):\n  curl -s -X POST %s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"you@example.com\",\"password\":\"your password\"}'\n\n", base, base)
	}
	_, _ = io.WriteString(w, b.String())
}

// baseURL is the URL a person on this machine reaches the server at: an
// unspecified listen address (0.0.0.0, ::) is shown as localhost.
func baseURL(host string, addr net.Addr) string {
	port := ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
