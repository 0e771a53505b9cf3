package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
)

// doctor checks, before going live, everything serve depends on.
func (c *cli) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the server configuration, database, Redis and provider keys before going live",
		Long: `Check everything the server depends on, one line per check, exit code 1
when any fails: the configuration from the environment and .env (printed with
secrets redacted), the database and its pending migrations, Redis when
configured, and every provider key with a request that costs no tokens.
Settings that are allowed but risky (development mode, email-only login, an
open /metrics, docs in production, SQLite in production, rate limits off,
any CORS origin, remote pprof, logged prompts, ADMIN_EMAILS without
SMTP_URL) are printed as "warn" lines and do not fail the check, as are
ENABLE_IMAGE_GENERATION or ENABLE_VOICE without keys for (some of) the
providers of their chains. On
PostgreSQL it also sets DATABASE_INSTANCES (or the instances connected now,
when more) × (DATABASE_POOL_SIZE + DATABASE_POOL_MAX_OVERFLOW) against the
server's max_connections, and warns when the pools can take more.`,
		Example: "  genzai doctor\n  ENV=production genzai doctor --env-file prod.env",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			failed := false
			line := func(ok bool, what, detail string) {
				mark := "ok  "
				if !ok {
					mark, failed = "FAIL", true
				}
				fmt.Fprintf(c.stdout, "%s %-22s %s\n", mark, what, detail)
			}
			cfg, err := c.loadConfig(cmd)
			var cfgErr *app.ConfigError
			switch {
			case errors.As(err, &cfgErr):
				for _, p := range cfgErr.Problems {
					line(false, "configuration", p)
				}
				return errSilent
			case err != nil:
				line(false, "configuration", err.Error())
				return errSilent
			}
			line(true, "configuration", fmt.Sprintf("env=%s database=%s keys: groq=%d openrouter=%d huggingface=%d",
				cfg.Env, cfg.DatabaseLocation(), len(cfg.Groq.Keys), len(cfg.OpenRouter.Keys), len(cfg.HuggingFace.Keys)))
			switch path := app.DevSecretPath(cfg); {
			case path != "":
				line(true, "jwt secret", "not set: serve keeps a generated development one in "+path)
			case cfg.JWTSecretGenerated:
				line(true, "jwt secret", "not set: a random one per start (tokens die with the process)")
			}
			for _, risk := range cfg.Risks() {
				c.warn("risky setting", risk)
			}
			for _, gap := range cfg.FeatureGaps() {
				c.warn("feature", gap)
			}

			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if c.checkDatabase(ctx, cfg, line) && cfg.DatabaseEngine == app.EnginePostgres {
				c.checkConnections(ctx, cfg, line)
			}
			c.checkRedis(ctx, cfg, line)
			c.checkProviders(ctx, cfg, line)
			if failed {
				return errSilent
			}
			return nil
		},
	}
}

// checkDatabase reports on the database serve would use, without creating
// or changing it: doctor run from the wrong directory must not leave an
// empty database there, nor call an empty one fine. It reports whether the
// database exists and answers.
func (c *cli) checkDatabase(ctx context.Context, cfg app.Config, line func(bool, string, string)) bool {
	r, err := app.InspectDatabase(ctx, cfg)
	if err != nil {
		line(false, "database", err.Error())
		return false
	}
	pointIt := "point DATABASE_URL at the gateway's database"
	if cfg.DatabaseEngine == app.EngineSQLite {
		pointIt = "run doctor where serve runs (a relative path is relative to it), or set DATABASE_URL=sqlite:///path/to/genzai.db"
	}
	switch {
	case r.Missing && cfg.DatabaseEngine == app.EnginePostgres && cfg.Production():
		line(false, "database", fmt.Sprintf("no database at %s (production never creates one); create it, or %s", r.Location, pointIt))
		return false
	case r.Missing:
		c.warn("database", fmt.Sprintf("no database at %s: serve would create an empty one there; if the gateway's data is elsewhere, %s", r.Location, pointIt))
		return false
	case r.Empty():
		c.warn("database", fmt.Sprintf("the database at %s is empty (no migrations applied, %d pending); if the gateway's data is elsewhere, %s", r.Location, r.Pending, pointIt))
		return true
	}
	detail := fmt.Sprintf("%s: %d migrations applied", r.Location, r.Applied)
	if r.Pending > 0 {
		detail += fmt.Sprintf(", %d pending (serve applies them at start-up)", r.Pending)
	}
	if !r.Shared {
		detail += "; SQLite: one instance only"
	}
	line(true, "database", detail)
	return true
}

// checkConnections sets the instances' pools against the PostgreSQL
// server's max_connections. Past it, statements wait for a pooled
// connection instead of failing, but psql, migrations and other clients
// are refused: a warning, not a failure.
func (c *cli) checkConnections(ctx context.Context, cfg app.Config, line func(bool, string, string)) {
	b, err := app.InspectConnections(ctx, cfg)
	switch {
	case err != nil:
		c.warn("connections", "cannot read the server's connection limit: "+err.Error())
	case b.Fits():
		line(true, "connections", b.String())
	default:
		c.warn("connections", b.String()+"; "+b.Fix())
	}
}

// warn prints a doctor line that does not fail the check.
func (c *cli) warn(what, detail string) {
	fmt.Fprintf(c.stdout, "%s %-22s %s\n", "warn", what, detail)
}

func (c *cli) checkRedis(ctx context.Context, cfg app.Config, line func(bool, string, string)) {
	if cfg.RedisURL == "" {
		line(true, "redis", "not configured: rate limits are kept per instance")
		return
	}
	if err := app.PingRedis(ctx, cfg); err != nil {
		line(false, "redis", err.Error())
		return
	}
	line(true, "redis", "answers at "+app.RedactURL(cfg.RedisURL.Reveal()))
}

func (c *cli) checkProviders(ctx context.Context, cfg app.Config, line func(bool, string, string)) {
	if cfg.UseMockProvider() {
		line(true, "providers", "no keys: the development mock provider answers (never in production)")
		return
	}
	for _, p := range app.ProbeTargets(cfg) {
		name := string(p.Name())
		if p.KeyCount() == 0 {
			line(true, name, "no keys: skipped in every chain")
			continue
		}
		for k := range p.KeyCount() {
			pctx, cancel := context.WithTimeout(ctx, cfg.ProviderCheckTimeout)
			start := time.Now()
			models, err := p.ListModels(pctx, k)
			cancel()
			what := fmt.Sprintf("%s key %d", name, k)
			var pe *domain.ProviderError
			switch {
			case err == nil:
				line(true, what, fmt.Sprintf("valid, %d models (%d ms)", len(models), time.Since(start).Milliseconds()))
			case errors.As(err, &pe) && pe.Class == domain.FailureRateLimited:
				line(true, what, "valid but rate limited right now")
			case errors.As(err, &pe):
				line(false, what, fmt.Sprintf("%s (status %d)", pe.Reason, pe.Status))
			default:
				line(false, what, err.Error())
			}
		}
	}
}
