#!/usr/bin/env bash
# Storage benchmark (bench/store_bench.c): builds ebaysync (build/ unless
# BUILD_DIR says otherwise) and the benchmark, starts a throwaway PostgreSQL
# cluster on a free loopback port, runs the benchmark against it and a
# temporary SQLite folder, and stops the cluster. Extra arguments go to the
# benchmark, e.g. bench/store_bench.sh --rows 50000 --batches 200,500
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

scripts/build.sh "$build" >/dev/null
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc bench/store_bench.c \
  "$build/libebaysync_core.a" "$build/libebaysync_base.a" \
  $(pkg-config --cflags --libs libpq sqlite3 jansson libcurl libmicrohttpd libjwt libcrypto libcrypt) \
  -lpthread -lm -o "$build/store_bench"

tmp=$(mktemp -d /tmp/es-bench.XXXXXX)
pgdir=
cleanup() {
  [ -n "$pgdir" ] && scripts/pg-temp.sh stop "$pgdir"
  rm -rf "$tmp"
}
trap cleanup EXIT
eval "$(scripts/pg-temp.sh start)"
pgdir=$ES_TEST_PG_DIR
echo "PostgreSQL $(/usr/lib/postgresql/*/bin/postgres --version | awk '{print $3}') (throwaway cluster, fsync=off), SQLite $(pkg-config --modversion sqlite3) (WAL, synchronous=NORMAL), $(nproc) cores"
"$build/store_bench" --pg "$ES_TEST_PG_URL" --sqlite-dir "$tmp" "$@"
