#!/usr/bin/env bash
# The Active Inventory Report in flat memory (bench/report_read.c): builds
# ebaysync (build/ unless BUILD_DIR says otherwise) and the reader, then for
# each listing count asks a simulator for a report of that many active
# listings and reads it, under /usr/bin/time -v for the reader's peak RSS.
# Usage: bench/report.sh [LISTINGS ...]   (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)

scripts/build.sh "$build" >/dev/null
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror -Isrc bench/report_read.c \
  "$build/libebaysync_core.a" "$build/libebaysync_base.a" \
  $(pkg-config --cflags --libs libarchive libxml-2.0 libpq sqlite3 jansson libcurl libmicrohttpd libjwt libcrypto libcrypt) \
  -lpthread -lm -o "$build/report_read"

tmp=$(mktemp -d /tmp/es-report-bench.XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The generated catalog has about 0.53 active listings per SKU (seed 1):
# ask for enough SKUs, then report what the report actually held.
for n in "${sizes[@]}"; do
  skus=$(( n * 100 / 53 + 1 ))
  "$build/ebaysync-sim" --skus "$skus" --token BENCH --feed-delay-ms 0 --threads 2 \
    >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do grep -q 'listening on' "$tmp/sim.log" && break; sleep 0.1; done
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/sim.log")
  echo "== ~$n listings ($skus SKUs)"
  /usr/bin/time -v "$build/report_read" "$url" BENCH 2>"$tmp/time.txt"
  grep -E 'Maximum resident set size|Elapsed \(wall' "$tmp/time.txt" | sed 's/^\s*/  /'
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
  sim_pid=
done
