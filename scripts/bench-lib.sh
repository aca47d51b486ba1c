# Shared by the bench scripts (sourced): start `ferrostack serve` (release) on a fresh
# data dir and a free loopback port, wait for it, get an admin token. Sets dir, port,
# url, server, token; stops the server and removes the dir on exit. BENCH_CONFIG, when
# set, is the config file the server reads (compute hosts, …).
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bin="$CARGO_TARGET_DIR/release/ferrostack"
[ -x "$bin" ] || cargo leptos build --release --split
BENCH_PASSWORD=bench-pw-1
dir=$(mktemp -d /tmp/ferrostack-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
FERROSTACK_DATA_DIR="$dir/data" FERROSTACK_LISTEN="127.0.0.1:$port" FERROSTACK_ADMIN_PASSWORD=$BENCH_PASSWORD \
  FERROSTACK_LOG=warn "$bin" ${BENCH_CONFIG:+--config "$BENCH_CONFIG"} serve --site-root target/site >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$url/identity/v3" >/dev/null && break; sleep 0.2; done
auth_body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'$BENCH_PASSWORD'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
token=$(curl -si -X POST -H 'Content-Type: application/json' -d "$auth_body" "$url/identity/v3/auth/tokens" \
  | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
[ -n "$token" ] || { echo "could not get a token" >&2; cat "$dir/server.log" >&2; exit 1; }
