#!/usr/bin/env bash
# Bring up a working cloud on this machine (README command 1): install what is
# missing, build, then `ferrostack serve`, which migrates, bootstraps and prints where
# to log in. Options pass through to `ferrostack serve` (e.g. --listen 0.0.0.0:8080).
#   FERROSTACK_DATA_DIR   state (default: /var/lib/ferrostack)
#   FERROSTACK_LISTEN     address:port (default: 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/install-prereqs.sh
cargo leptos build --release --split
# A small bootable ISO, offered as a public image so the new cloud can boot something.
test_image=$(bash scripts/build-test-image.sh | tail -n 1)
export FERROSTACK_DATA_DIR="${FERROSTACK_DATA_DIR:-/var/lib/ferrostack}"
# This machine's hypervisor, registered once (KVM or TCG, whichever the probe finds faster).
bash scripts/libvirt.sh
bin="$CARGO_TARGET_DIR/release/ferrostack"
if ! "$bin" host list | grep -q '^local '; then
  "$bin" host add --name local --uri qemu:///system
fi
exec "$CARGO_TARGET_DIR/release/ferrostack" serve --site-root target/site --seed-image "$test_image" "$@"
