#!/usr/bin/env bash
# Benchmark of the pacer (docs/rate-limiting.md): an offers sync with the
# default flags (no --max-rps, default concurrency) against ebaysync-sim on
# loopback, whose rate limit the client is not told:
#  1. 20 ms latency, limit 100 req/s: wall time next to calls / limit;
#  2. 20 ms latency, limit 200 req/s: the same;
#  3. 20 ms latency, no limit: next to SKUs x latency / concurrency.
# "calls" are the answers eBay (the simulator) gave with 200; 429s are
# counted apart and must stay under 2% of all calls. Targets: 1.15x the
# bound in 1 and 2, 1.10x in 3. Each sync is cut off after 300 s.
# Needs a release build in build/ (scripts/build.sh build).
# Usage: bench/pacer.sh [SKUS] [extra sync flags, e.g. --max-rps 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
shift || true
latency=20
concurrency=8 # the default of ebaysync sync
bin=${EBAYSYNC_BIN:-build/ebaysync}
sim=${EBAYSYNC_SIM:-build/ebaysync-sim}
[ -x "$bin" ] && [ -x "$sim" ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-pacer.XXXXXX)
simpid=
trap '[ -n "$simpid" ] && kill "$simpid" 2>/dev/null; rm -rf "$work"' EXIT

start_sim() {
	"$sim" --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t --latency-ms "$latency" "$@" \
		>"$work/sim.log" 2>&1 &
	simpid=$!
	for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
	url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)
}

stop_sim() {
	kill "$simpid" 2>/dev/null || true
	wait "$simpid" 2>/dev/null || true
	simpid=
}

run() { # label limit(- for none) extra-sync-flags...
	local label=$1 limit=$2 t0 t1 wall stats ok throttled calls bound ratio target
	shift 2
	rm -f "$work/db"*
	t0=$(date +%s.%N)
	timeout 300 "$bin" sync offers --db "$work/db" --env simulator --api-base "$url" \
		--token t --json "$@" >"$work/out.json" 2>"$work/err" ||
		{ echo "$label: sync failed"; tail -n 5 "$work/err"; return 1; }
	t1=$(date +%s.%N)
	grep -q '"type":"done"' "$work/out.json" ||
		{ echo "$label: no done event"; tail -n 2 "$work/out.json"; return 1; }
	wall=$(echo "$t1 - $t0" | bc -l)
	stats=$(curl -s "$url/sim/stats")
	ok=$(echo "$stats" | jq '[.calls[] | to_entries[] | select(.key == "200") | .value] | add')
	throttled=$(echo "$stats" | jq '.throttled')
	calls=$((ok + throttled))
	if [ "$limit" = "-" ]; then
		bound=$(echo "$n * $latency / $concurrency / 1000" | bc -l)
		target=1.10
	else
		bound=$(echo "$ok / $limit" | bc -l)
		target=1.15
	fi
	ratio=$(echo "$wall / $bound" | bc -l)
	# What the answers really took (the simulator's latency plus HTTP and
	# this machine's load), from the run's own events: SKUs x that mean /
	# concurrency is a floor no pacer can beat.
	mean=$(jq -r 'select(.type == "response") | .line | select(test("\\] SKU ")) |
		capture("\\((?<ms>[0-9]+)ms\\)$").ms' "$work/out.json" |
		awk '{ s += $1; k++ } END { printf "%.1f", k ? s / k : 0 }')
	printf "%-28s %7.2fs %7.2fs %6.3fx (<= %s) %6d %5d %5.2f%% %6.1f ms %7.2fs\n" "$label" "$wall" \
		"$bound" "$ratio" "$target" "$ok" "$throttled" "$(echo "100 * $throttled / $calls" | bc -l)" \
		"$mean" "$(echo "$n * $mean / $concurrency / 1000" | bc -l)"
}

printf "%-28s %8s %8s %15s %6s %5s %6s %9s %8s\n" "offers sync, $n SKUs" wall bound ratio calls 429s \
	"429 %" "answer" "floor"
for limit in 100 200; do
	start_sim --rps "$limit"
	run "${latency} ms, limit $limit req/s" "$limit" "$@"
	stop_sim
done
start_sim
run "${latency} ms, no limit" - "$@"
stop_sim
