package app

import (
	"log/slog"
	"runtime"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/domain"
)

// newHasher builds the password hasher with its concurrency bounded by the
// CPUs the runtime uses and by the memory budget: PASSWORD_HASH_MEMORY_MIB,
// or a quarter of the container's memory limit (cgroup) or GOMEMLIMIT,
// whichever is smaller. Each hash holds params.MemoryKiB; without a bound
// a login burst on a many-CPU node could hash past the container's limit.
func newHasher(cfg Config, params argon2id.Params, opts Options, logger *slog.Logger) *argon2id.Hasher {
	limit := opts.MemorySources.Limit()
	budget := argon2id.Budget(int64(cfg.PasswordHashMemoryMiB)<<20, limit)
	procs := runtime.GOMAXPROCS(0)
	bound := argon2id.Bound(procs, budget, params.MemoryKiB)
	source := "PASSWORD_HASH_MEMORY_MIB"
	if cfg.PasswordHashMemoryMiB == 0 {
		source = limit.Source
		if source == "" {
			source = "none (no memory limit found: one hash per CPU)"
		} else {
			source = "a quarter of the " + source + " limit"
		}
	}
	logger.Info("password hashing", "concurrent_hashes", bound, "gomaxprocs", procs,
		"memory_per_hash_mib", params.MemoryKiB>>10, "memory_budget_mib", budget>>20, "budget_from", source,
		"slot_wait", cfg.PasswordHashWait.String())
	return argon2id.NewWithOptions(params, argon2id.Options{Concurrency: bound, Wait: cfg.PasswordHashWait, KDF: opts.PasswordKDF})
}

// loginBackoff is the per-account rule: LOGIN_MAX_FAILURES attempts in a
// row without success, then locks from 1 s doubling to 15 minutes,
// forgotten LOGIN_FAILURE_WINDOW_SECONDS after the last lock ends.
func loginBackoff(cfg Config) domain.LoginBackoff {
	rule := domain.DefaultLoginBackoff
	rule.MaxFailures = cfg.LoginMaxFailures
	rule.Window = cfg.LoginFailureWindow
	return rule
}
