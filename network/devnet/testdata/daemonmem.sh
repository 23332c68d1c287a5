#!/usr/bin/env bash
# daemonmem.sh: the peak resident memory (VmHWM) of `walrus daemon`, a process
# of its own in front of `walrus devnet` (4 nodes, n = 100), during one PUT
# and, in a fresh daemon, one GET of a SIZE-byte blob (default 140 MB).
# Needs go and curl. Usage: network/devnet/testdata/daemonmem.sh (from the
# repository root).
set -euo pipefail

SIZE=${SIZE:-140000000}
ROOT=$(git rev-parse --show-toplevel)
T=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "daemonmem.sh: line $LINENO failed" >&2; tail -5 "$T/daemon.out" "$T/devnet.out" >&2' ERR
port() { echo $((20000 + RANDOM % 20000)); }
hwm() { awk '/VmHWM/ {printf "%.0f MB", $2 * 1024 / 1e6}' "/proc/$1/status"; }

go build -o "$T/walrus" "$ROOT/cmd/walrus"
head -c "$SIZE" /dev/urandom >"$T/blob"
CHAIN=127.0.0.1:$(port)
"$T/walrus" devnet --dir "$T/devnet" --chain-addr "$CHAIN" --daemon-addr off --log-level warn >"$T/devnet.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
	[ -f "$T/devnet/client.yaml" ] && curl -sf "http://$CHAIN/v1/system" >/dev/null 2>&1 && break
	sleep 0.2
done
sleep 1
export WALRUS_CONFIG="$T/devnet/client.yaml"

daemon() {
	D=127.0.0.1:$(port)
	"$T/walrus" daemon -b "$D" -a off --max-body-size $((SIZE / 1024 + 1024)) --log-level warn >>"$T/daemon.out" 2>&1 &
	DP=$!
	PIDS+=($DP)
	for _ in $(seq 300); do
		curl -sf "http://$D/status" >/dev/null 2>&1 && break
		sleep 0.2
	done
}

daemon
base=$(hwm "$DP")
id=$(curl -sf -X PUT --data-binary "@$T/blob" "http://$D/v1/blobs?epochs=1" | sed -n 's/.*"blobId":"\([^"]*\)".*/\1/p')
echo "PUT of $SIZE bytes: daemon peak RSS $(hwm "$DP") (at start $base)"
kill "$DP"
wait "$DP" 2>/dev/null || true

daemon
base=$(hwm "$DP")
curl -sf -o "$T/out" "http://$D/v1/blobs/$id"
cmp -s "$T/blob" "$T/out" || { echo "GET gave other bytes" >&2; exit 1; }
echo "GET of $SIZE bytes: daemon peak RSS $(hwm "$DP") (at start $base)"
