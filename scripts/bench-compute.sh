#!/usr/bin/env bash
# Compute benchmarks (docs/benchmarks.md): create→ACTIVE on the libvirt test driver
# (p50, p99), 1,000 servers over 20 simulated hosts, and the test ISO on this machine's
# QEMU through Ferrostack against a bare `virsh define` + `virsh start` of the same XML.
#   scripts/bench-compute.sh [CONTROL_N] [SCALE_N] [QEMU_ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/libvirt.sh
iso=$(bash scripts/build-test-image.sh | tail -n 1)
cargo build --release -q -p ferrostack-compute --example bench
FERROSTACK_LOG=warn "$CARGO_TARGET_DIR/release/examples/bench" \
  control "${1:-200}" scale "${2:-1000}" 20 qemu "$iso" "${3:-5}"
