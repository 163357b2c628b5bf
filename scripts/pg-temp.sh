#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, in a temporary folder, on a
# free loopback port. `scripts/pg-temp.sh start` prints the lines to eval:
#   ES_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres
#   ES_TEST_PG_DIR=/tmp/es-pg.XXXX
# `scripts/pg-temp.sh stop|restart|kill DIR` stops, restarts or kills it;
# stop also removes the folder. As root, the server runs as `postgres`.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/es-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  echo "ES_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/postgres"
  echo "ES_TEST_PG_DIR=$dir"
  ;;
stop)
  dir=$2
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
kill)
  dir=$2
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
restart)
  dir=$2
  port=$(cat "$dir/port")
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  ;;
*)
  echo "usage: scripts/pg-temp.sh start | stop DIR | kill DIR | restart DIR" >&2
  exit 2
  ;;
esac
