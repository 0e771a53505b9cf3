#!/bin/sh
# Says, before make test runs, which services the database tests will use
# and, for a missing one, which packages' tests will skip (or fail, under
# TEST_REQUIRE_DB or CI). go test prints a passing package's skips only
# with -v, so without this a run with no PostgreSQL looks like a full one.
# Usage: scripts/test-services.sh (make test runs it).
set -eu
cd "$(dirname "$0")/.."

# docker_maybe: whether testcontainers may find a Docker engine.
docker_maybe() {
	[ -n "${DOCKER_HOST:-}" ] && return 0
	[ -S /var/run/docker.sock ] && return 0
	[ -n "${XDG_RUNTIME_DIR:-}" ] && [ -S "$XDG_RUNTIME_DIR/docker.sock" ] && return 0
	command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && return 0
	return 1
}

# packages PATTERN: the packages whose tests match PATTERN.
packages() {
	grep -rlE --include='*_test.go' "$1" . | xargs -n1 dirname | sed 's|^\./||' | sort -u | tr '\n' ' '
}

# report NAME VARIABLE EXAMPLE PATTERN
report() {
	url=$(printenv "$2" || true)
	if [ -n "$url" ]; then
		# The password, if any, stays out of the log.
		echo "test services: $1 at $(echo "$url" | sed -E 's#(//[^:/@]*):[^@]*@#\1:xxxxx@#') ($2)"
		return
	fi
	if docker_maybe; then
		echo "test services: $1 from a container (testcontainers): $2 is unset"
		return
	fi
	pkgs=$(packages "$4")
	if [ -n "${TEST_REQUIRE_DB:-}${CI:-}" ]; then
		echo "test services: $1 MISSING ($2 unset, no Docker): its tests will FAIL (TEST_REQUIRE_DB or CI is set) in: $pkgs"
	else
		echo "test services: $1 MISSING ($2 unset, no Docker): its tests will SKIP in: $pkgs"
		echo "               set $2 (e.g. $3) to run them"
	fi
}

report PostgreSQL TEST_DATABASE_URL 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
	'pgtest\.|^package pgtest$|Getenv\("TEST_DATABASE_URL"\)'
report Redis TEST_REDIS_URL 'redis://127.0.0.1:6379/0' \
	'redistest\.|^package redistest$|Getenv\("TEST_REDIS_URL"\)'
