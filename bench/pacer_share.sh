#!/usr/bin/env bash
# Benchmark of the shared pacer (docs/rate-limiting.md, "One pacer for the
# install"): PROCS `ebaysync sync all` processes at once, one user each, on
# one database, against one ebaysync-sim whose rate limit (--rps LIMIT,
# --rate-scope global, 20 ms latency) none of them is told. Run with the
# pacers sharing through the database, then with EBAYSYNC_PACER_SHARE=0
# (each process finds the rate alone), on a SQLite file and, when
# ES_TEST_PG_URL names a PostgreSQL server (scripts/pg-temp.sh start), on a
# fresh PostgreSQL database.
# Columns: wall time; API calls the simulator answered (all statuses); 429s
# and their share; the rate attempted (calls / wall) and accepted (non-429
# calls / wall) next to the limit.
# Usage: bench/pacer_share.sh [SKUS] [LIMIT] [PROCS]
# (EBAYSYNC_BIN, EBAYSYNC_SIM pick the binaries; default build/.)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
limit=${2:-100}
procs=${3:-3}
latency=20
bin=${EBAYSYNC_BIN:-build/ebaysync}
sim=${EBAYSYNC_SIM:-build/ebaysync-sim}
[ -x "$bin" ] && [ -x "$sim" ] || scripts/build.sh build
work=$(mktemp -d /tmp/es-pshare.XXXXXX)
simpid=
trap '[ -n "$simpid" ] && kill "$simpid" 2>/dev/null; rm -rf "$work"' EXIT

start_sim() {
	"$sim" --listen 127.0.0.1:0 --skus "$n" --seed 1 --token t --latency-ms "$latency" \
		--rps "$limit" --rate-scope global >"$work/sim.log" 2>&1 &
	simpid=$!
	for _ in $(seq 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
	url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1)
}

stop_sim() {
	kill "$simpid" 2>/dev/null || true
	wait "$simpid" 2>/dev/null || true
	simpid=
}

fresh_db() { # backend -> URL
	if [ "$1" = sqlite ]; then
		rm -f "$work/db"*
		echo "$work/db"
	else
		local name="es_bench_$$_$RANDOM"
		psql -q "$ES_TEST_PG_URL" -c "CREATE DATABASE $name" >/dev/null
		echo "${ES_TEST_PG_URL%/*}/$name"
	fi
}

run() { # backend share(1|0)
	local backend=$1 share=$2 db t0 t1 wall stats calls throttled pids=() i failed=0
	db=$(fresh_db "$backend")
	start_sim
	t0=$(date +%s.%N)
	for i in $(seq "$procs"); do
		EBAYSYNC_PACER_SHARE=$share timeout 600 "$bin" sync all --db "$db" --user "u$i" \
			--env simulator --api-base "$url" --token t --quiet >"$work/out$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed=$((failed + 1)); done
	t1=$(date +%s.%N)
	wall=$(echo "$t1 - $t0" | bc -l)
	stats=$(curl -s "$url/sim/stats")
	stop_sim
	calls=$(echo "$stats" | jq '[.calls | to_entries[] | select(.key != "token") | .value[]] | add')
	throttled=$(echo "$stats" | jq '.throttled')
	printf "%-9s %-7s %8.2fs %7d %6d %6.2f%% %8.1f/s %8.1f/s %s\n" "$backend" \
		"$([ "$share" = 1 ] && echo shared || echo alone)" "$wall" "$calls" "$throttled" \
		"$(echo "100 * $throttled / $calls" | bc -l)" "$(echo "$calls / $wall" | bc -l)" \
		"$(echo "($calls - $throttled) / $wall" | bc -l)" \
		"$([ "$failed" = 0 ] && echo ok || echo "$failed FAILED")"
}

echo "$procs x sync all of $n SKUs at once; simulator: limit $limit req/s (global), $latency ms"
printf "%-9s %-7s %9s %7s %6s %7s %10s %10s\n" backend pacer wall calls 429s "429 %" attempted \
	accepted
backends=sqlite
[ -n "${ES_TEST_PG_URL:-}" ] && backends="sqlite postgres"
for backend in $backends; do
	run "$backend" 1
	run "$backend" 0
done
