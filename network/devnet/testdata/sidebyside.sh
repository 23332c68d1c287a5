#!/usr/bin/env bash
# sidebyside.sh: `walrus devnet` as `make run` starts it (4 nodes, n = 100)
# against MinIO (4 drives, erasure code 2+2, one process, curl), in one run on
# this machine, for one blob of SIZE bytes (default 64 MiB):
#
#   store (CLI)  vs  MinIO PUT
#   read (CLI)   vs  MinIO GET
#   HTTP GET (the devnet's daemon, curl)  vs  MinIO GET
#
# Each figure is the median of RUNS (default 3) runs. Needs go, curl and jq;
# MINIO names the minio binary (default $(go env GOPATH)/bin/minio, installed by
#   go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c).
# Usage: network/devnet/testdata/sidebyside.sh   (from the repository root)
set -euo pipefail

SIZE=${SIZE:-67108864}
RUNS=${RUNS:-3}
MINIO=${MINIO:-$(go env GOPATH)/bin/minio}
ROOT=$(git rev-parse --show-toplevel)
T=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "sidebyside.sh: line $LINENO failed" >&2; tail -5 "$T/stderr" "$T/devnet.out" "$T/minio.out" 2>/dev/null >&2' ERR

port() { echo $((20000 + RANDOM % 20000)); }
now() { date +%s%N; }
# ms CMD...: runs CMD, prints its wall time in milliseconds.
ms() {
	local s
	s=$(now)
	"$@" >/dev/null 2>>"$T/stderr" || { echo "failed: $*" >&2; tail -5 "$T/stderr" >&2; exit 1; }
	echo $((($(now) - s) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { awk -v b="$SIZE" -v m="$1" 'BEGIN {printf "%.0f", b / (m / 1000) / 1e6}'; }

go build -o "$T/walrus" "$ROOT/cmd/walrus"
head -c "$SIZE" /dev/urandom >"$T/blob"

# --- walrus devnet ---
CHAIN=127.0.0.1:$(port)
DAEMON=127.0.0.1:$(port)
"$T/walrus" devnet --dir "$T/devnet" --chain-addr "$CHAIN" --daemon-addr "$DAEMON" --log-level warn >"$T/devnet.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do # the daemon answers before client.yaml is written
	curl -sf "http://$DAEMON/status" >/dev/null 2>&1 && [ -s "$T/devnet/client.yaml" ] && break
	sleep 0.2
done
export WALRUS_CONFIG="$T/devnet/client.yaml"
W="$T/walrus"

st=() rd=() hg=()
for i in $(seq "$RUNS"); do
	# A different blob each run: a store of known bytes is free.
	printf '%08d' "$i" | dd of="$T/blob" bs=1 seek=0 conv=notrunc status=none
	s=$(now)
	id=$("$W" store "$T/blob" --epochs 1 --json 2>>"$T/stderr" | jq -r '.[0].blobStoreResult.newlyCreated.blobObject.blobId // .[0].newlyCreated.blobObject.blobId // .newlyCreated.blobObject.blobId // .blobId')
	st+=($((($(now) - s) / 1000000)))
	rd+=("$(ms "$W" read "$id" --out "$T/out")")
	cmp -s "$T/blob" "$T/out" || { echo "read back other bytes" >&2; exit 1; }
	hg+=("$(ms curl -sf -o "$T/out" "http://$DAEMON/v1/blobs/$id")")
	cmp -s "$T/blob" "$T/out" || { echo "HTTP GET gave other bytes" >&2; exit 1; }
done
kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
PIDS=()

# --- MinIO ---
MADDR=127.0.0.1:$(port)
mkdir -p "$T"/minio{1..4}
# MINIO_CI_CD lets MinIO use drives on the root disk (as here: four folders).
export MINIO_CI_CD=on MINIO_ROOT_USER=sidebyside MINIO_ROOT_PASSWORD=sidebyside-secret MINIO_STORAGE_CLASS_STANDARD=EC:2
"$MINIO" server --quiet --address "$MADDR" --console-address "127.0.0.1:$(port)" "$T/minio{1...4}" >"$T/minio.out" 2>&1 &
PIDS+=($!)
S3=(--user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" --aws-sigv4 "aws:amz:us-east-1:s3")
for _ in $(seq 300); do # the bucket, once the server is initialised
	curl -sf -X PUT "${S3[@]}" "http://$MADDR/bench" >/dev/null 2>&1 && break
	sleep 0.2
done
mp=() mg=()
for i in $(seq "$RUNS"); do
	mp+=("$(ms curl -sf "${S3[@]}" -T "$T/blob" "http://$MADDR/bench/blob$i")")
	mg+=("$(ms curl -sf "${S3[@]}" -o "$T/out" "http://$MADDR/bench/blob$i")")
	cmp -s "$T/blob" "$T/out" || { echo "MinIO gave other bytes" >&2; exit 1; }
done

S=$(printf '%s\n' "${st[@]}" | median)
R=$(printf '%s\n' "${rd[@]}" | median)
H=$(printf '%s\n' "${hg[@]}" | median)
MP=$(printf '%s\n' "${mp[@]}" | median)
MG=$(printf '%s\n' "${mg[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "blob of $SIZE bytes, median of $RUNS runs (ms)"
printf '%-28s %8s %8s  %8s %8s  %s\n' "" "ours" "MB/s" "MinIO" "MB/s" "ratio (MinIO time / ours)"
printf '%-28s %8s %8s  %8s %8s  %s\n' "store (CLI) / PUT" "$S" "$(mbps "$S")" "$MP" "$(mbps "$MP")" "$(ratio "$MP" "$S")"
printf '%-28s %8s %8s  %8s %8s  %s\n' "read (CLI) / GET" "$R" "$(mbps "$R")" "$MG" "$(mbps "$MG")" "$(ratio "$MG" "$R")"
printf '%-28s %8s %8s  %8s %8s  %s\n' "HTTP GET (daemon) / GET" "$H" "$(mbps "$H")" "$MG" "$(mbps "$MG")" "$(ratio "$MG" "$H")"
