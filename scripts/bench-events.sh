#!/usr/bin/env bash
# Event fan-out benchmark (docs/benchmarks.md): 100 console connections follow the
# live event stream (/console/events, signed in as admin); images are created through
# the API one after another, and each connection notes when each image's `created`
# event arrives. Latency = arrival (client clock) − the event's commit time (server
# clock, same machine); cost = the server's CPU time per event, with and without the
# 100 listeners. Not a test: it prints figures.
# Usage: scripts/bench-events.sh [connections] [events]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-100}
events=${2:-300}
. scripts/bench-lib.sh
cookie=$(curl -si -X POST -H "Host: 127.0.0.1:$port" -d "username=admin&password=$BENCH_PASSWORD&domain=" "$url/api/sign_in" \
  | awk 'tolower($1)=="set-cookie:" {print $2}' | grep ferrostack_session | tr -d ';\r')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
node scripts/bench-events.mjs "$url" "$token" "$cookie" "$conns" "$events" "$server"
