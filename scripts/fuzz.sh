#!/bin/sh
# Runs every fuzz target of the module (each func Fuzz... in a package's
# _test.go files), one at a time, for FUZZTIME each (default 8s), and stops
# at the first failure. The failing input is written under that package's
# testdata/fuzz/<Target>/: fix the bug and commit the file as a regression
# seed. Usage: scripts/fuzz.sh (or make fuzz FUZZTIME=30s).
#
# FUZZMINIMIZETIME (default 1s) bounds the minimising of each new input:
# Go's default, 60s per input that widens coverage, would leave a short run
# minimising instead of fuzzing.
set -eu

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-8s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-1s}
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The corpus cache of go test -fuzz, so that runs build on each other.
cache=$($GO env GOCACHE)/fuzz
start=$(date +%s)

# go list only reads the packages; the targets are found by name in the
# test files.
$GO list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
	names=$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go 2>/dev/null || true)
	[ -n "$names" ] || continue
	# One instrumented test binary per package, however many targets it has:
	# go test -fuzz would build and link it again for each.
	bin="$tmp/$(echo "$pkg" | tr / _).test"
	$GO test -c -o "$bin" -fuzz "^($(echo $names | tr ' ' '|'))\$" "$pkg"
	for name in $names; do
		echo "== $name ($pkg), $FUZZTIME"
		# Go's fuzzing engine sometimes ends a run with a bare "context
		# deadline exceeded" when fuzztime runs out while a worker is busy
		# (a slow machine), without a failing input: that run is tried
		# again once. A real failure writes its input under testdata/fuzz.
		attempt=1
		while :; do
			# From the package directory, as go test runs it, for testdata/.
			if (cd "$dir" && "$bin" -test.paniconexit0 -test.run '^$' -test.fuzz "^$name\$" \
				-test.fuzztime "$FUZZTIME" -test.fuzzminimizetime "$FUZZMINIMIZETIME" \
				-test.fuzzcachedir "$cache/$pkg") >"$tmp/out" 2>&1; then
				cat "$tmp/out"
				break
			fi
			cat "$tmp/out"
			if [ "$attempt" -eq 1 ] && grep -q 'context deadline exceeded' "$tmp/out" &&
				! grep -q 'Failing input written' "$tmp/out"; then
				echo "== $name: the engine's deadline, no failing input: once more"
				attempt=2
				continue
			fi
			exit 1
		done
	done
done
echo "== fuzzing done in $(($(date +%s) - start))s"
