#!/usr/bin/env bash
# Times `walrus blob-id` against Walrus's own WASM encoder (../shared/oracle,
# npm @mysten/walrus-wasm) in one hyperfine run, whole process each, at
# n = 1000 for 64 MiB and 1 KiB of random data; checks first that both give
# the same blob ID. Needs Node.js, npm and hyperfine (apt-get install
# hyperfine). Not part of the tests. --n-shards is explicit: a client config
# naming a network would otherwise set the shard count (and need its chain).
#
# usage: encoding/testdata/bench_wasm.sh [RUNS] [ORACLE_DIR]
# The machine should be quiet: compare the User+System columns too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-5}
oracle=${2:-$root/../shared/oracle}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/oracle" && cp -r "$oracle"/. "$work/oracle"/
(cd "$work/oracle" && npm install --silent >/dev/null)
(cd "$root" && go build -o "$work/walrus" ./cmd/walrus)
head -c $((64 << 20)) /dev/urandom >"$work/64MiB"
head -c 1024 /dev/urandom >"$work/1KiB"

for f in 64MiB 1KiB; do
	ours=$("$work/walrus" blob-id --n-shards 1000 --json "$work/$f" | tr -d ' \n' | sed 's/.*"blobId":"\([^"]*\)".*/\1/')
	theirs=$(node "$here/wasm_blobid.mjs" "$work/oracle" 1000 "$work/$f")
	if [ "$ours" != "$theirs" ]; then
		echo "blob IDs differ for $f: ours $ours, WASM $theirs" >&2
		exit 1
	fi
done

cmds=()
for f in 64MiB 1KiB; do
	cmds+=("node $here/wasm_blobid.mjs $work/oracle 1000 $work/$f")
	cmds+=("node $here/wasm_blobid.mjs $work/oracle 1000 $work/$f --metadata")
	cmds+=("$work/walrus blob-id --n-shards 1000 $work/$f")
done
hyperfine -N -w 1 -r "$runs" --export-json "$work/times.json" "${cmds[@]}"
# Ratios WASM / ours, of mean wall time and of mean CPU time (user+system).
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1])).results;
const cpu = (x) => x.user + x.system;
for (let i = 0; i < r.length; i += 3) {
  const size = r[i].command.split("/").pop().split(" ")[0];
  for (const [k, name] of [[0, "encode"], [1, "compute_metadata"]]) {
    console.log(`${size}: WASM ${name} / walrus blob-id: wall ${(r[i + k].mean / r[i + 2].mean).toFixed(1)}x, cpu ${(cpu(r[i + k]) / cpu(r[i + 2])).toFixed(1)}x`);
  }
}' "$work/times.json"
