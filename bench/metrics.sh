#!/usr/bin/env bash
# Benchmark: GET /metrics with many runs in the database (default 1,000,000),
# on SQLite and on a throwaway PostgreSQL. The runs go in with one INSERT ...
# SELECT behind the server's back; then /metrics is called 20 times one
# after another and 12 at once, and the median and worst answer times are
# printed. /metrics counts the runs with one aggregate query, so its cost
# should not depend on the number of users or grow faster than the runs.
# Needs a release build in build/ (scripts/build.sh build).
# Usage: bench/metrics.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
[ -x build/ebaysync ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-bench.XXXXXX)
pg_dir=
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$pg_dir" ] && scripts/pg-temp.sh stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
export EBAYSYNC_JWT_SECRET=bench-secret-bench-secret-bench-secret-0
export EBAYSYNC_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

fill_sql="WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO sync_runs (id, user_id, kind, status, started_ms, finished_ms, heartbeat_ms)
SELECT 'offers_' || i, 'u' || (i % 1000), 'offers',
       CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 10 = 1 THEN 'cancelled' ELSE 'done' END,
       i, i + 1, i FROM c;"

serve() { # db
  ./build/ebaysync serve --listen 127.0.0.1:0 --db "$1" --quiet >"$work/serve.log" 2>&1 &
  for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -n 1)
}

measure() { # label
  local times
  times=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "$url/metrics"; done | sort -n)
  par=$( (for _ in $(seq 12); do curl -s -o /dev/null -w '%{time_total}\n' "$url/metrics" & done; wait) | sort -n | tail -n 1)
  printf "%-10s %9s runs   sequential p50 %6.1f ms  max %6.1f ms   12 at once: slowest %6.1f ms\n" \
    "$1" "$n" "$(echo "$times" | sed -n 10p | awk '{print $1 * 1000}')" \
    "$(echo "$times" | tail -n 1 | awk '{print $1 * 1000}')" "$(echo "$par" | awk '{print $1 * 1000}')"
  curl -s "$url/metrics" | grep '^ebaysync_runs{' | tr '\n' ' '
  echo
}

# SQLite: the server makes the schema, the runs go in beside it.
serve "$work/m.db"
sqlite3 "$work/m.db" "PRAGMA busy_timeout = 10000; $fill_sql"
measure sqlite
kill %1; wait 2>/dev/null || true

# PostgreSQL.
eval "$(scripts/pg-temp.sh start)"
pg_dir=$ES_TEST_PG_DIR
serve "$ES_TEST_PG_URL"
psql -q "$ES_TEST_PG_URL" -c "$fill_sql" -c "ANALYZE sync_runs"
measure postgres
