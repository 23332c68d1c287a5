#!/usr/bin/env bash
# Regenerates the golden RS2 vectors in this folder with Walrus's own encoder
# (../shared/oracle, npm @mysten/walrus-wasm). Needs Node.js and npm; the tests
# do not. Usage: encoding/testdata/gen.sh [ORACLE_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=${1:-$here/../../../shared/oracle}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$oracle"/. "$work"/
(cd "$work" && npm install --silent >/dev/null)

# gen N SIZE SEED [--slivers]
gen() {
	local n=$1 size=$2 seed=$3 extra=${4:-}
	local name="n${n}_s${size}_seed${seed}${extra:+_slivers}.json"
	node "$work/vectors.mjs" --n "$n" --size "$size" --seed "$seed" $extra | gzip -9n > "$here/$name.gz"
	echo "$name"
}

rm -f "$here"/*.json.gz
# n = 4: rows·cols = 6; max = 6·65534.
for s in 0 1 2 5 6 7 12 13 63 64 65 127 128 129 383 384 385 1000 4097; do gen 4 $s 7 --slivers; done
gen 4 393204 3
# n = 7: rows·cols = 15; S = 64 at 960.
for s in 0 1 30 31 959 960 961 5000; do gen 7 $s 11 --slivers; done
gen 7 983010 5
# n = 10: rows·cols = 28; the column code needs two doublings.
for s in 0 1 17 56 57 1791 1792 1793 10000; do gen 10 $s 13 --slivers; done
gen 10 1834952 9
# n = 19: three doublings' worth of column code (K = 8, 2f = 12).
for s in 100 5000; do gen 19 $s 17 --slivers; done
# Larger n: hashes only.
for s in 0 1 10000 1048576; do gen 100 $s 21; done
gen 100 3333 23 --slivers
gen 300 100000 27
for s in 0 1 1024 65536; do gen 1000 $s 29; done
