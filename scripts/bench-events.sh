#!/usr/bin/env bash
# Event fan-out benchmark (docs/benchmarks.md): 100 console connections follow the
# live event stream (/console/events, signed in as admin); images are created through
# the API one after another, and each connection notes when each image's `created`
# event arrives. Latency = arrival (client clock) − the event's commit time (server
# clock, same machine); cost = the listening server's CPU time per event, with and
# without the 100 listeners. Not a test: it prints figures.
# Usage: scripts/bench-events.sh [connections] [events] [sqlite|pg|pg2]
#   sqlite  one server on SQLite (the default)
#   pg      one server on a throwaway PostgreSQL
#   pg2     two servers on one PostgreSQL and one data dir: images created through the
#           first, the connections on the second (LISTEN/NOTIFY between processes)
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-100}
events=${2:-300}
mode=${3:-sqlite}
case "$mode" in
  sqlite) ;;
  pg|pg2)
    eval "$(bash scripts/pg.sh start)"
    export FERROSTACK_DATABASE_URL=$FERROSTACK_TEST_PG_URL
    ;;
  *) echo "mode: sqlite, pg or pg2" >&2; exit 2 ;;
esac
. scripts/bench-lib.sh
listen_url=$url
listen_pid=$server
server2=
if [ "$mode" = pg2 ]; then
  port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  FERROSTACK_DATA_DIR="$dir/data" FERROSTACK_LISTEN="127.0.0.1:$port2" FERROSTACK_ADMIN_PASSWORD=$BENCH_PASSWORD \
    FERROSTACK_LOG=warn "$bin" serve --site-root target/site >"$dir/server2.log" 2>&1 &
  server2=$!
  listen_url="http://127.0.0.1:$port2"
  listen_pid=$server2
  for _ in $(seq 100); do curl -sf "$listen_url/identity/v3" >/dev/null && break; sleep 0.2; done
fi
trap 'kill $server $server2 2>/dev/null; wait $server $server2 2>/dev/null; rm -rf "$dir"; [ -z "${FERROSTACK_PG_DIR:-}" ] || bash scripts/pg.sh stop "$FERROSTACK_PG_DIR"' EXIT
host=${listen_url#http://}
cookie=$(curl -si -X POST -H "Host: $host" -d "username=admin&password=$BENCH_PASSWORD&domain=" "$listen_url/api/sign_in" \
  | awk 'tolower($1)=="set-cookie:" {print $2}' | grep ferrostack_session | tr -d ';\r')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
echo "mode: $mode"
node scripts/bench-events.mjs "$url" "$token" "$cookie" "$conns" "$events" "$listen_pid" "$listen_url"
