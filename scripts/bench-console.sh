#!/usr/bin/env bash
# Console benchmark (docs/benchmarks.md): server-side render time of Identity >
# Projects with 1,000 projects, signed in as admin, measured with wrk against a running
# `ferrostack serve` (release, SQLite). Not a test: it prints figures.
# Usage: scripts/bench-console.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
. scripts/bench-lib.sh

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

cookie=$(curl -si -X POST -H "Host: 127.0.0.1:$port" -d "username=admin&password=$BENCH_PASSWORD&domain=" "$url/api/sign_in" \
  | awk 'tolower($1)=="set-cookie:" {print $2}' | grep ferrostack_session | tr -d ';\r')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
rows=$(curl -s -H "Cookie: $cookie" "$url/identity/projects" | grep -o 'data-test="project-row"' | wc -l)
echo "== SSR GET /identity/projects (1,001 projects, page 1 = $rows rows), 1 connection, ${secs}s"
wrk -t1 -c1 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/identity/projects" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx'
echo "== the same, searching (?q=project-9), 1 connection, ${secs}s"
wrk -t1 -c1 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/identity/projects?q=project-9&page=2" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx'
