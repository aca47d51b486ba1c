#!/usr/bin/env bash
# Identity benchmark (docs/benchmarks.md): token validation and token issue throughput
# and latency against a running `ferrostack serve` (release build, SQLite), with wrk
# as the concurrent client on the same machine; and the bare argon2id verify rate.
# Not a test: it prints figures. Usage: scripts/bench-identity.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
secs=${1:-15}

# First, with nothing else running: the ceiling for password token issue.
echo "== bare argon2id verify rate at the server's default parameters, all cores"
cargo bench -q -p ferrostack-identity --bench argon2_verify 2>/dev/null | grep argon2id

. scripts/bench-lib.sh
body=$auth_body

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

