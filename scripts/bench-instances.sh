#!/usr/bin/env bash
# Instances benchmark (docs/benchmarks.md): (1) the server-side render of Project >
# Instances with 1,000 servers (on 20 simulated hosts), signed in as admin, measured
# with wrk; (2) the time from a server's state change (a stop or start through the
# API, as the CLI does) to its row's status changing in a real Chromium with the page
# open (scripts/bench-instances.mjs). Not a test: it prints figures.
# Usage: scripts/bench-instances.sh [seconds] [changes]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
changes=${2:-100}
hosts=$(mktemp -d /tmp/ferrostack-bench-hosts.XXXXXX)
{
  echo "[compute]"
  echo "reconcile_secs = 3600"
  for i in $(seq -w 1 20); do
    echo "<node><cpu><mhz>2000</mhz><model>x86_64</model><active>64</active><max>64</max><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>1</threads></cpu><memory>$((262144 * 1024))</memory></node>" >"$hosts/sim-$i.xml"
    printf '[[compute.hosts]]\nname = "sim-%s"\nuri = "test://%s/sim-%s.xml"\navailability_zone = "sim"\ndisk_gb = 5000\n' "$i" "$hosts" "$i"
  done
} >"$hosts/ferrostack.toml"
export BENCH_CONFIG="$hosts/ferrostack.toml"
. scripts/bench-lib.sh
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir" "$hosts"' EXIT

api() { curl -sf -X "$1" -H 'Content-Type: application/json' -H "X-Auth-Token: $token" \
  -H 'OpenStack-API-Version: compute 2.100' ${3:+-d "$3"} "$url$2"; }
project=$(api GET "/identity/v3/projects?name=admin" | python3 -c 'import sys,json; print(json.load(sys.stdin)["projects"][0]["id"])')
api PUT "/compute/v2.1/os-quota-sets/$project" '{"quota_set":{"instances":2000,"cores":4000,"ram":2000000}}' >/dev/null
img=$(api POST /image/v2/images '{"name":"bench","disk_format":"raw","container_format":"bare","visibility":"public"}' \
  | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
head -c 4096 /dev/zero | curl -sf -X PUT -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' \
  --data-binary @- "$url/image/v2/images/$img/file"
echo "creating 1,000 servers (10 requests of 100)..."
for i in $(seq 1 10); do
  api POST /compute/v2.1/servers "{\"server\":{\"name\":\"bench-$i\",\"imageRef\":\"$img\",\"flavorRef\":\"1\",\"networks\":\"none\",\"availability_zone\":\"sim\",\"min_count\":100,\"max_count\":100}}" >/dev/null
done
for _ in $(seq 600); do
  n=$(api GET "/compute/v2.1/servers/detail?status=ACTIVE&limit=2000" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["servers"]))')
  [ "$n" -ge 1000 ] && break
  sleep 1
done
echo "$n servers ACTIVE"
cookie=$(curl -si -X POST -H "Host: 127.0.0.1:$port" -d "username=admin&password=$BENCH_PASSWORD&domain=" "$url/api/sign_in" \
  | awk 'tolower($1)=="set-cookie:" {print $2}' | grep ferrostack_session | tr -d ';\r')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
rows=$(curl -s -H "Cookie: $cookie" "$url/project/instances" | grep -o 'data-test="instance-row"' | wc -l)
echo "== SSR GET /project/instances (1,000 servers, page 1 = $rows rows), 1 connection, ${secs}s"
wrk -t1 -c1 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/project/instances" | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx'
echo "== state change -> row update in Chromium, $changes changes"
node scripts/bench-instances.mjs "$url" "$token" "$BENCH_PASSWORD" "$changes"
