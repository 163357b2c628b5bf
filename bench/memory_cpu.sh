#!/usr/bin/env bash
# Benchmark: memory and CPU of `ebaysync sync all` as the catalog grows.
# Against ebaysync-sim at zero latency and without a rate limit, for each
# catalog size (default 10,000, 100,000 and 1,000,000 SKUs) it reports the
# wall time, the CPU seconds of ebaysync (user + system, the simulator not
# included), the CPU per SKU and the peak RSS, from /usr/bin/time -v. The
# targets (issue 13): peak RSS at 1,000,000 SKUs within 1.2x of that at
# 10,000, and at most 50 us of CPU a SKU at 100,000. Needs a release build
# in build/ (scripts/build.sh build); SQLite by default, or --db URL.
# With --callgrind it runs ebaysync (not the simulator) under valgrind's
# callgrind instead and reports the instructions executed (Ir, all threads)
# a SKU: deterministic where CPU seconds on a loaded machine are not, so
# the way to compare two builds (use small catalogs: 2,000 SKUs take minutes
# under valgrind). Under valgrind the run is slow, so its write batches
# (flushed every 250 ms) are smaller than in a real run.
# Usage: bench/memory_cpu.sh [--db URL] [--callgrind] [SKUS...]
set -euo pipefail
cd "$(dirname "$0")/.."
db_url=
callgrind=
if [ "${1:-}" = "--db" ]; then db_url=$2; shift 2; fi
if [ "${1:-}" = "--callgrind" ]; then callgrind=1; shift; fi
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x build/ebaysync ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-memcpu.XXXXXX)
sim=
trap '[ -n "$sim" ] && kill "$sim" 2>/dev/null; rm -rf "$work"' EXIT

if [ -n "$callgrind" ]; then
  command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
  printf "%-10s %15s %12s\n" "SKUs" "Ir" "Ir/SKU"
else
  printf "%-10s %9s %9s %10s %11s\n" "SKUs" "wall" "CPU" "CPU/SKU" "peak RSS"
fi
for n in "${sizes[@]}"; do
  ./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t >"$work/sim.log" 2>&1 &
  sim=$!
  for _ in $(seq 300); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)
  rm -f "$work/db"*
  db=${db_url:-$work/db}
  # Many SKUs: more requests at once, so the run is not bound by round trips.
  conc=16
  [ "$n" -ge 1000000 ] && conc=32
  if [ -n "$callgrind" ]; then
    valgrind --tool=callgrind --callgrind-out-file="$work/cg" ./build/ebaysync sync all \
      --db "$db" --env simulator --api-base "$url" --token t --quiet --max-rps 100000 \
      --concurrency "$conc" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    ir=$(callgrind_annotate "$work/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    printf "%-10s %15s %12s\n" "$n" "$ir" "$((ir / n))"
    kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null || true
    sim=
    continue
  fi
  /usr/bin/time -v -o "$work/time" ./build/ebaysync sync all --db "$db" --env simulator \
    --api-base "$url" --token t --quiet --max-rps 100000 --concurrency "$conc" \
    >/dev/null 2>"$work/err" || { cat "$work/err" "$work/time"; exit 1; }
  user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/time")
  cpu=$(echo "$user + $sys" | bc)
  printf "%-10s %9s %8.2fs %7.0f us %8.1f MB\n" "$n" "$wall" "$cpu" \
    "$(echo "$cpu * 1000000 / $n" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null || true
  sim=
done
