#!/usr/bin/env bash
# The main job on the embedded default: builds ebaysync, starts the eBay
# simulator (a few thousand SKUs, some latency, so a sync is watchable) and
# `ebaysync serve` on a SQLite file with a demo user, and prints the address
# and the login to open. Ctrl-C stops both.
#   scripts/demo.sh            the web page (sign in, press Sync, watch)
#   scripts/demo.sh --cli      the same sync in this terminal: `ebaysync sync all`
# Options: --skus N (3000), --latency-ms MS (25), --port P (8080)
set -euo pipefail
cd "$(dirname "$0")/.."
skus=3000
latency=25
port=8080
mode=web
while [ $# -gt 0 ]; do
  case "$1" in
    --skus) skus=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --cli) mode=cli; shift ;;
    *) echo "usage: scripts/demo.sh [--cli] [--skus N] [--latency-ms MS] [--port P]" >&2; exit 2 ;;
  esac
done
scripts/deps.sh
scripts/build.sh build

work=$(mktemp -d /tmp/ebaysync-demo.XXXXXX)
token=demo-token
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_listening() { # log file -> prints the URL
  for _ in $(seq 200); do
    grep -q "listening on" "$1" && break
    sleep 0.05
  done
  grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -n 1
}

./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$skus" --seed 7 --token "$token" \
  --latency-ms "$latency" --jitter-ms 15 >"$work/sim.log" 2>&1 &
pids+=($!)
sim=$(wait_listening "$work/sim.log")
[ -n "$sim" ] || { cat "$work/sim.log"; exit 1; }
echo "eBay simulator: $skus SKUs at $sim (${latency} ms latency)"

if [ "$mode" = cli ]; then
  status=0
  ./build/ebaysync sync all --db "$work/ebaysync.db" --env simulator --api-base "$sim" \
    --token "$token" --concurrency 8 --max-rps 200 || status=$?
  echo
  sqlite3 "$work/ebaysync.db" "SELECT 'inventory rows: ' || count(*) FROM inventory;
    SELECT 'offer rows:     ' || count(*) FROM offers;"
  echo "(database kept in $work/ebaysync.db)"
  exit $status
fi

./build/ebaysync serve --listen "127.0.0.1:$port" --db "$work/ebaysync.db" --env simulator \
  --api-base "$sim" --demo-user demo:demo-password --demo-ebay-token "$token" \
  --max-rps 200 >"$work/serve.log" 2>&1 &
pids+=($!)
url=$(wait_listening "$work/serve.log")
[ -n "$url" ] || { cat "$work/serve.log"; exit 1; }
cat <<MSG

  ebaysync is running on SQLite ($work/ebaysync.db)

      open   $url/
      login  demo / demo-password

  Press "Sync all" and watch the terminal pane. Ctrl-C here stops both servers.
  (The same sync from the command line: scripts/demo.sh --cli)

MSG
wait "${pids[@]}"
