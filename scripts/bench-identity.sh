#!/usr/bin/env bash
# Identity benchmark (docs/benchmarks.md): token validation and token issue throughput
# and latency against a running `ferrostack serve` (release build, SQLite), with wrk
# as the concurrent client on the same machine; and the bare argon2id verify rate.
# Not a test: it prints figures. Usage: scripts/bench-identity.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
secs=${1:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bin="$CARGO_TARGET_DIR/release/ferrostack"
[ -x "$bin" ] || cargo leptos build --release

# First, with nothing else running: the ceiling for password token issue.
echo "== bare argon2id verify rate at the server's default parameters, all cores"
cargo bench -q -p ferrostack-identity --bench argon2_verify 2>/dev/null | grep argon2id

dir=$(mktemp -d /tmp/ferrostack-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
FERROSTACK_DATA_DIR="$dir/data" FERROSTACK_LISTEN="127.0.0.1:$port" FERROSTACK_ADMIN_PASSWORD=bench-pw-1 \
  FERROSTACK_LOG=warn "$bin" serve >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$url/identity/v3" >/dev/null && break; sleep 0.2; done

body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"bench-pw-1"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
token=$(curl -si -X POST -H 'Content-Type: application/json' -d "$body" "$url/identity/v3/auth/tokens" \
  | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
[ -n "$token" ] || { echo "could not get a token" >&2; cat "$dir/server.log" >&2; exit 1; }

echo "== token validation: GET /identity/v3/auth/tokens (X-Auth-Token = X-Subject-Token), 64 connections, ${secs}s"
wrk -t1 -c64 -d"${secs}s" --latency -H "X-Auth-Token: $token" -H "X-Subject-Token: $token" \
  "$url/identity/v3/auth/tokens" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors'

cat >"$dir/issue.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA
echo "== token issue: POST /identity/v3/auth/tokens (password, project scope), 16 connections, ${secs}s"
wrk -t1 -c16 -d"${secs}s" --latency -s "$dir/issue.lua" "$url/identity/v3/auth/tokens" \
  | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors'

