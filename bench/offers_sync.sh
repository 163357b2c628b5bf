#!/usr/bin/env bash
# Benchmark: an offers sync of N SKUs (default 10,000) against ebaysync-sim,
#  1. with 50 ms latency and a 100 requests/s limit: wall time next to the
#     bound (calls / rate), which it should land within 10% of;
#  2. with no latency and no limit: the CPU we spend per SKU.
# Reports calls made and 429s received (from the simulator's /sim/stats),
# peak memory (max RSS) and CPU seconds of ebaysync. Needs a release build in
# build/ (scripts/build.sh build). Usage: bench/offers_sync.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x build/ebaysync ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

start_sim() {
  ./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t "$@" >"$work/sim.log" 2>&1 &
  for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)
}

run() { # label rate-for-bound sync-flags...
  local label=$1 rate=$2; shift 2
  rm -f "$work/db"*
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" ./build/ebaysync sync offers --db "$work/db" \
    --env simulator --api-base "$url" --token t --quiet "$@" >/dev/null 2>"$work/err" ||
    { cat "$work/err"; exit 1; }
  read -r wall user sys rss <"$work/time"
  stats=$(curl -s "$url/sim/stats")
  calls=$(echo "$stats" | jq '[.calls[] | to_entries[] | .value] | add')
  throttled=$(echo "$stats" | jq '.throttled')
  if [ "$rate" != "-" ]; then
    bound=$(echo "scale=1; $calls / $rate" | bc)
    over=$(echo "scale=1; ($wall - $bound) * 100 / $bound" | bc)
    printf "%-34s %8ss %8ss %+6s%% %7s %6s %8.1f MB %7.2fs\n" "$label" "$wall" "$bound" "$over" "$calls" "$throttled" "$(echo "$rss/1024" | bc -l)" "$(echo "$user + $sys" | bc)"
  else
    printf "%-34s %8ss %8s %7s %7s %6s %8.1f MB %7.2fs  (%.0f us CPU/SKU)\n" "$label" "$wall" "-" "-" "$calls" "$throttled" "$(echo "$rss/1024" | bc -l)" "$(echo "$user + $sys" | bc)" "$(echo "($user + $sys) * 1000000 / $n" | bc -l)"
  fi
  kill %1 2>/dev/null; wait 2>/dev/null || true
}

printf "%-34s %9s %9s %7s %7s %6s %11s %8s\n" "offers sync of $n SKUs" "wall" "bound" "over" "calls" "429s" "peak RSS" "CPU"
start_sim --latency-ms 50 --rps 100 --burst 10
run "50 ms latency, 100 req/s limit" 100 --max-rps 100 --concurrency 8
start_sim
run "no latency, no limit" - --max-rps 100000 --concurrency 16
