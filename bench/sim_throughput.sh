#!/usr/bin/env bash
# Measures ebaysync-sim's getOffers throughput with wrk: zero latency, no
# faults, 100,000 SKUs, requests spread over 1,000 SKUs (hostile ones
# included, URL-encoded), and the simulator's memory (RSS) before, between
# and after two runs, which must stay flat.
# Usage: bench/sim_throughput.sh [BUILD_DIR] [SECONDS]
#   env: CONNS (default 64), WRK_THREADS (default 1), SIM_THREADS (default 2)
# Build with the default RelWithDebInfo (-O2) for figures: scripts/build.sh build
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-10}
conns=${CONNS:-64}
wrk_threads=${WRK_THREADS:-1}
sim_threads=${SIM_THREADS:-2}
sim="$build/ebaysync-sim"

[ -x "$sim" ] || { echo "no $sim: build it first (scripts/build.sh $build)" >&2; exit 1; }
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install $tool)" >&2; exit 1; }
done

tmp=$(mktemp -d)
"$sim" --listen 127.0.0.1:0 --skus 100000 --seed 1 --token bench --threads "$sim_threads" \
  >"$tmp/sim.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

base=""
for _ in $(seq 100); do
  base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$tmp/sim.log" || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { echo "ebaysync-sim did not start:" >&2; cat "$tmp/sim.log" >&2; exit 1; }

rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }

# 1,000 getOffers paths from the first five pages of the catalog.
for offset in 0 200 400 600 800; do
  curl -sf -H 'Authorization: Bearer bench' \
    "$base/sell/inventory/v1/inventory_item?limit=200&offset=$offset" |
    jq -r '.inventoryItems[].sku | @uri | "/sell/inventory/v1/offer?sku=" + .'
done >"$tmp/paths"
cat >"$tmp/offers.lua" <<LUA
local paths = {}
for line in io.lines("$tmp/paths") do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer bench"})
end
LUA

echo "ebaysync-sim $base: $(wc -l <"$tmp/paths") SKUs in rotation, $sim_threads worker threads"
echo "RSS at start:        $(rss)"
wrk -t"$wrk_threads" -c"$conns" -d3s -s "$tmp/offers.lua" "$base" >/dev/null
echo "RSS after warm-up:   $(rss)"
wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency -s "$tmp/offers.lua" "$base" | tee "$tmp/run1"
echo "RSS after run 1:     $(rss)"
wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" -s "$tmp/offers.lua" "$base" >"$tmp/run2"
echo "RSS after run 2:     $(rss)"
grep -q 'Non-2xx' "$tmp/run1" "$tmp/run2" && { echo "some answers were not 2xx" >&2; exit 1; }
served=$(curl -sf "$base/sim/stats" | jq '.calls.getOffers."200"')
echo "getOffers answered 200: $served"
echo "run 1: $(awk '/Requests\/sec/ {print $2}' "$tmp/run1") req/s; run 2: $(awk '/Requests\/sec/ {print $2}' "$tmp/run2") req/s"
