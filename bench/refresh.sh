#!/usr/bin/env bash
# Benchmark: `sync refresh` next to `sync all` on a catalog of N SKUs
# (default 100,000) of which 1% changed since the last full sync.
#  1. A full sync with no latency and no limit fills the database.
#  2. /sim/mutate changes a price, a quantity or a listing status on 1% of
#     the SKUs.
#  3. `sync refresh` at 50 ms latency and a 100 requests/s limit: calls, wall,
#     CPU, peak RSS; then the database is compared with /sim/catalog (the
#     offers and inventory columns a refresh keeps, every row).
#  4. `sync all` on the same catalog under the same limits, into a copy of
#     the database as it was before the refresh (skip with SKIP_ALL=1: it
#     takes calls / 100 seconds, about 17 minutes for 100,000 SKUs).
# Needs a release build in build/ (scripts/build.sh build), jq and sqlite3.
# Usage: bench/refresh.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x build/ebaysync ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

./build/ebaysync-sim --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t >"$work/sim.log" 2>&1 &
for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)

calls() { curl -s "$url/sim/stats" | jq '[.calls[] | to_entries[] | .value] | add // 0'; }
config() { curl -s -X POST -H 'Content-Type: application/json' -d "$1" "$url/sim/config" >/dev/null; }

run() { # label kind db flags...
  local label=$1 kind=$2 db=$3; shift 3
  local c0 c1
  c0=$(calls)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" ./build/ebaysync sync "$kind" --db "$db" \
    --env simulator --api-base "$url" --token t --quiet "$@" >"$work/out" 2>"$work/err" ||
    { tail -5 "$work/err"; exit 1; }
  c1=$(calls)
  read -r wall user sys rss <"$work/time"
  printf "%-44s %9ss %8s %9.1f MB %7.2fs\n" "$label" "$wall" "$((c1 - c0))" \
    "$(echo "$rss/1024" | bc -l)" "$(echo "$user + $sys" | bc)"
}

printf "%-44s %10s %8s %12s %8s\n" "$n SKUs, 1% changed" "wall" "calls" "peak RSS" "CPU"
run "sync all (seed the mirror; no latency/limit)" all "$work/db" --max-rps 100000 --concurrency 16
cp "$work/db" "$work/db-all"
mutated=$(curl -s -X POST -H 'Content-Type: application/json' \
  -d "{\"fraction\":0.01,\"seed\":1}" "$url/sim/mutate" | jq .mutated)
echo "mutated $mutated SKUs"
config '{"latency_ms":50,"rps":100,"burst":10}'
run "sync refresh, 50 ms latency, 100 req/s" refresh "$work/db" --max-rps 100 --concurrency 8
grep -o 'Refresh completed.*' "$work/err" | head -n 1 || true

# The mirror against the catalog: every offer's price, currency, quantities,
# statuses and listing, every item's payload-derived quantity.
config '{"latency_ms":0,"rps":0}'
curl -s "$url/sim/catalog" | jq -r '.offers[] | [.offerId, .sku, .status,
  (.listing.listingId // ""), (.listing.listingStatus // ""),
  (.pricingSummary.price.value // ""),
  ((if .pricingSummary.price.value then .pricingSummary.price.currency
    else .pricingSummary.auctionStartPrice.currency end) // ""),
  (.availableQuantity // ""), (.listing.soldQuantity // "")] | map(tostring) | join("\t")' |
  sort >"$work/want"
sqlite3 -separator $'\t' "$work/db" "SELECT offer_id, sku_code, status, coalesce(listing_id,''),
  coalesce(listing_status,''), coalesce(price_value,''), coalesce(price_currency,''),
  coalesce(available_quantity,''), coalesce(sold_quantity,'') FROM offers" | sort >"$work/got"
if cmp -s "$work/want" "$work/got"; then
  echo "mirror equals the catalog: $(wc -l <"$work/got") offers, field by field"
else
  echo "mirror differs from the catalog:"; diff "$work/want" "$work/got" | head -n 10; exit 1
fi

if [ "${SKIP_ALL:-0}" != 1 ]; then
  config '{"latency_ms":50,"rps":100,"burst":10}'
  run "sync all, 50 ms latency, 100 req/s" all "$work/db-all" --max-rps 100 --concurrency 8
fi
