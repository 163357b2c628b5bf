#!/usr/bin/env bash
# The CSV export in flat memory: fills a SQLite database with N inventory
# rows of one user (SQL, no eBay needed), starts `ebaysync serve` on it and
# downloads GET /ebay/inventory?format=csv for each size, reading the
# server's peak RSS (VmHWM in /proc, which only grows) after each download.
# Flat memory shows as the same peak after 10,000 rows and after 100,000
# (or 1,000,000) rows: the export is read from the store in keyset chunks
# of 500 rows and streamed as it goes.
# Usage: bench/csv_export.sh [ROWS ...]   (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
[ -x "$build/ebaysync" ] || scripts/build.sh "$build" >/dev/null

tmp=$(mktemp -d /tmp/es-csv-bench.XXXXXX)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export EBAYSYNC_JWT_SECRET=csv-bench-secret-0123456789abcdef0123456789ab
db="$tmp/bench.db"
printf 'bench-password\n' | "$build/ebaysync" user add bench --db "$db" >/dev/null

fill() { # rows from $1 to $2
  sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
    INSERT INTO inventory (user_id, sku_code, title, condition, price_value, price_currency,
      quantity, ebay_status, raw_payload, last_seen_run, rec_created, rec_updated, first_seen_run)
    SELECT 'bench', printf('SKU-%08d', i), printf('Item %d, \"quoted\" title', i), 'NEW',
      printf('%d.99', i % 1000), 'USD', i % 50, 'ACTIVE',
      printf('{\"sku\":\"SKU-%08d\",\"product\":{\"title\":\"Item %d\"}}', i, i), 'bench',
      '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'bench' FROM n;"
}

"$build/ebaysync" serve --listen 127.0.0.1:0 --db "$db" >"$tmp/serve.log" 2>&1 &
srv_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/serve.log" | head -1)
token=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password"}' \
  "$url/auth/login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$srv_pid/status"; }
echo "serve at start: peak RSS $(hwm)"
have=0
for n in "${sizes[@]}"; do
  [ "$n" -gt "$have" ] && fill $((have + 1)) "$n" && have=$n
  start=$(date +%s.%N)
  lines=$(curl -sf -H "Authorization: Bearer $token" "$url/ebay/inventory?format=csv" | wc -l)
  end=$(date +%s.%N)
  printf '%8d rows: %d CSV lines in %.2fs, serve peak RSS %s\n' "$n" "$lines" \
    "$(echo "$end - $start" | bc)" "$(hwm)"
done
