#!/usr/bin/env bash
# Refreshes swagger-ui/ (the Swagger UI files that /docs serves, embedded in
# the binary) from the npm package swagger-ui-dist at the pinned version.
# The tarball must have the pinned integrity. To upgrade, set VERSION and
# INTEGRITY (from `npm view swagger-ui-dist@VERSION dist.integrity`), run
# this script, and check /docs in a browser.
set -euo pipefail

VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
# Only what the page loads, and the licenses that must go with it.
FILES=(swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt)

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm pack "swagger-ui-dist@$VERSION" --pack-destination "$tmp" --silent >/dev/null
tgz="$tmp/swagger-ui-dist-$VERSION.tgz"
got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
if [ "$got" != "$INTEGRITY" ]; then
  echo "swagger-ui-dist@$VERSION: integrity $got, want $INTEGRITY" >&2
  exit 1
fi

tar -xzf "$tgz" -C "$tmp"
rm -rf swagger-ui
mkdir swagger-ui
for f in "${FILES[@]}"; do
  cp "$tmp/package/$f" "swagger-ui/$f"
done
echo "$VERSION" >swagger-ui/VERSION
echo "swagger-ui/ now holds swagger-ui-dist@$VERSION"
