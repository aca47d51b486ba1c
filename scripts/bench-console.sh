#!/usr/bin/env bash
# Console benchmark (docs/benchmarks.md): server-side render time of Identity >
# Projects with 1,000 projects, signed in as admin, measured with wrk against a running
# `ferrostack serve` (release, SQLite). Not a test: it prints figures.
# Usage: scripts/bench-console.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
secs=${1:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bin="$CARGO_TARGET_DIR/release/ferrostack"
[ -x "$bin" ] || cargo leptos build --release

dir=$(mktemp -d /tmp/ferrostack-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
FERROSTACK_DATA_DIR="$dir/data" FERROSTACK_LISTEN="127.0.0.1:$port" FERROSTACK_ADMIN_PASSWORD=bench-pw-1 \
  FERROSTACK_LOG=warn "$bin" serve --site-root target/site >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$url/identity/v3" >/dev/null && break; sleep 0.2; done

body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"bench-pw-1"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
token=$(curl -si -X POST -H 'Content-Type: application/json' -d "$body" "$url/identity/v3/auth/tokens" \
  | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
echo "creating 1,000 projects..."
for i in $(seq -w 1 1000); do
  printf '{"project":{"name":"project-%s","description":"benchmark project %s"}}' "$i" "$i"
done | python3 -c '
import sys, json, urllib.request
url, token = sys.argv[1], sys.argv[2]
for line in sys.stdin.read().replace("}}{", "}}\n{").splitlines():
    req = urllib.request.Request(url + "/identity/v3/projects", data=line.encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Auth-Token": token})
    urllib.request.urlopen(req).read()
' "$url" "$token"

cookie=$(curl -si -X POST -H "Host: 127.0.0.1:$port" -d 'username=admin&password=bench-pw-1&domain=' "$url/api/sign_in" \
  | awk 'tolower($1)=="set-cookie:" {print $2}' | grep ferrostack_session | tr -d ';\r')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
rows=$(curl -s -H "Cookie: $cookie" "$url/identity/projects" | grep -o 'data-test="project-row"' | wc -l)
echo "== SSR GET /identity/projects (1,001 projects, page 1 = $rows rows), 1 connection, ${secs}s"
wrk -t1 -c1 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/identity/projects" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx'
echo "== the same, searching (?q=project-9), 1 connection, ${secs}s"
wrk -t1 -c1 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/identity/projects?q=project-9&page=2" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx'
