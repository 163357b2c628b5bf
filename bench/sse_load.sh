#!/usr/bin/env bash
# Benchmark: 500 Server-Sent Events subscribers on one run of ebaysync serve.
#  1. an offers sync of N SKUs (default 2,000) against ebaysync-sim with no
#     subscriber: its wall time (duration_ms of the run);
#  2. the same run with S subscribers (default 500) connected from its start,
#     each reading the whole stream: the run's wall time, whether every
#     subscriber got every event in order, and when the last one finished;
#  3. both again with 20 ms a call (a network-bound run, as against eBay),
#     and GET /ebay/sync/runs latency (wrk, p50/p99) on an idle server and
#     while that run streams to the S subscribers.
# Needs a release build in build/ (scripts/build.sh build), wrk, curl and jq.
# Usage: bench/sse_load.sh [SKUS] [SUBSCRIBERS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
subs=${2:-500}
[ -x build/ebaysync ] || scripts/build.sh build
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d /tmp/es-sse-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

deps="libcurl jansson"
cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -Itests/helpers bench/sse_load.c tests/helpers/sse_client.c \
  build/libebaysync_core.a build/libebaysync_base.a $(pkg-config --cflags --libs $deps libmicrohttpd sqlite3 libpq libjwt libcrypto libcrypt) \
  -lpthread -lm -o "$work/sse_load"

wait_listen() { for _ in $(seq 100); do grep -q "listening on" "$1" && break; sleep 0.1; done
  grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -n 1; }

./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t --latency-ms 2 >"$work/sim.log" 2>&1 &
pids+=($!)
sim=$(wait_listen "$work/sim.log")
export EBAYSYNC_JWT_SECRET=bench-secret-bench-secret-bench-secret-0
export EBAYSYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
./build/ebaysync serve --listen 127.0.0.1:0 --db "$work/serve.db" --api-base "$sim" --env simulator \
  --demo-user bench:bench-password --demo-ebay-token t --concurrency 8 --max-rps 5000 --quiet \
  --max-streams-per-user 1000 --max-connections-per-address 1000 \
  >"$work/serve.log" 2>&1 &
pids+=($!)
serve_pid=$!
srv=$(wait_listen "$work/serve.log")
tok=$(curl -s -X POST "$srv/auth/login" -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password"}' | jq -r .token)
auth="Authorization: Bearer $tok"

cpu_ms() { awk '{print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$serve_pid/stat"; }
run_offers() { curl -s -X POST "$srv/ebay/sync/offers" -H "$auth" | jq -r .run_id; }
wait_run() { # run_id -> duration_ms once ended
  while :; do
    r=$(curl -s "$srv/ebay/sync/runs/$1" -H "$auth")
    [ "$(echo "$r" | jq -r .status)" != running ] && { echo "$r" | jq -r .duration_ms; return; }
    sleep 0.2
  done
}
latency() { # label seconds
  wrk -t2 -c16 -d"$2"s --latency -H "$auth" "$srv/ebay/sync/runs?limit=20" >"$work/wrk" 2>&1
  p50=$(awk '/^ +50%/ {print $2}' "$work/wrk"); p99=$(awk '/^ +99%/ {print $2}' "$work/wrk")
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk")
  printf "GET /ebay/sync/runs %-28s p50 %8s  p99 %8s  %8s req/s\n" "$1" "$p50" "$p99" "$rps"
}

echo "offers sync of $n SKUs (simulator latency 2 ms, 8 requests in flight), $subs subscribers"
c0=$(cpu_ms); id=$(run_offers); base=$(wait_run "$id"); c1=$(cpu_ms)
events=$(curl -s -N "$srv/ebay/sync/events/$id" -H "$auth" | grep -c '^id: ')
printf "run without subscribers:  %6s ms wall, server CPU %6.0f ms  (%s events)\n" "$base" \
  "$(echo "$c1 - $c0" | bc -l)" "$events"
latency "(idle server)" 5

c0=$(cpu_ms); id=$(run_offers)
[ -n "${PERF:-}" ] && { perf record -g -p "$serve_pid" -o "$PERF" -- sleep 4 >/dev/null 2>&1 & }
"$work/sse_load" "$srv" "$tok" "$id" "$subs" >"$work/load" &
loader=$!
loaded=$(wait_run "$id")
wait "$loader" && status=ok || status=FAILED
c1=$(cpu_ms)
printf "run with %d subscribers: %6s ms wall, server CPU %6.0f ms  (wall %+.0f%%)\n" "$subs" \
  "$loaded" "$(echo "$c1 - $c0" | bc -l)" "$(echo "($loaded - $base) * 100 / $base" | bc -l)"
echo "subscribers: $(cat "$work/load") [$status]"

# The same with 20 ms a call (closer to eBay, where a run waits on the
# network): without subscribers, then with them while wrk measures the API.
curl -s -X POST "$sim/sim/config" -d '{"latency_ms": 20}' >/dev/null
id=$(run_offers); base=$(wait_run "$id")
printf "20 ms/call, no subscribers:  %6s ms wall\n" "$base"
id=$(run_offers)
"$work/sse_load" "$srv" "$tok" "$id" "$subs" >"$work/load2" &
loader=$!
sleep 1
latency "(during a run, $subs streams)" 4
loaded=$(wait_run "$id")
wait "$loader" && status=ok || status=FAILED
printf "20 ms/call, %d subscribers: %6s ms wall  (wall %+.0f%%)\n" "$subs" "$loaded" \
  "$(echo "($loaded - $base) * 100 / $base" | bc -l)"
echo "subscribers: $(cat "$work/load2") [$status]"
echo "server: $(curl -s "$srv/metrics" | grep -E '^ebaysync_sse_clients ')"
