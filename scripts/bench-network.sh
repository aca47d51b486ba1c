#!/usr/bin/env bash
# Networking benchmarks (docs/benchmarks.md): port create throughput with the IPAM on
# a /16 (1,000 ports, 8 clients at once, and one at a time for latency), then port
# list latency with 10,000 ports (a 1,000-port page, a 50-port page of one network,
# one port by address, and the whole listing followed page by page).
#   scripts/bench-network.sh [FIRST_N] [TOTAL_N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
python3 scripts/bench-network.py "$url" "$token" "${1:-1000}" "${2:-10000}"
