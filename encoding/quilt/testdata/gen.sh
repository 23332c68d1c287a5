#!/usr/bin/env bash
# Regenerates the golden QuiltV1 vectors (vectors.json.gz) with Mysten's
# TypeScript SDK (oracle/: npm @mysten/walrus with @mysten/sui). Needs Node.js
# and npm; the tests do not. Usage: encoding/quilt/testdata/gen.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/oracle"/. "$work"/
(cd "$work" && npm ci --silent >/dev/null)
node "$work/vectors.mjs" | gzip -9n > "$here/vectors.json.gz"
echo "$here/vectors.json.gz"
