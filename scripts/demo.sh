#!/usr/bin/env bash
# The main job on the embedded default: builds ebaysync, starts the eBay
# simulator (a few thousand SKUs, some latency, so the sync is watchable) and
# syncs inventory and offers into a SQLite file, printing every step.
# Usage: scripts/demo.sh [--skus N] [--latency-ms MS]
set -euo pipefail
cd "$(dirname "$0")/.."
skus=3000
latency=25
while [ $# -gt 0 ]; do
  case "$1" in
    --skus) skus=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    *) echo "usage: scripts/demo.sh [--skus N] [--latency-ms MS]" >&2; exit 2 ;;
  esac
done
scripts/deps.sh
scripts/build.sh build

work=$(mktemp -d /tmp/ebaysync-demo.XXXXXX)
token=demo-token
./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$skus" --seed 7 --token "$token" \
  --latency-ms "$latency" --jitter-ms 15 >"$work/sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$work/sim.log" && break
  sleep 0.1
done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)
echo "eBay simulator with $skus SKUs at $url; database $work/ebaysync.db"
status=0
./build/ebaysync sync all --db "$work/ebaysync.db" --env simulator --api-base "$url" \
  --token "$token" --concurrency 8 --max-rps 200 || status=$?
echo
echo "In the database:"
sqlite3 "$work/ebaysync.db" "SELECT 'inventory rows: ' || count(*) FROM inventory;
  SELECT 'offer rows:     ' || count(*) FROM offers;
  SELECT 'by status:      ' || group_concat(ebay_status || '=' || n, ', ') FROM
    (SELECT ebay_status, count(*) n FROM inventory GROUP BY ebay_status);"
echo "(kept in $work)"
exit $status
