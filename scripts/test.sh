#!/usr/bin/env bash
# The whole test suite (README command 2; what CI runs):
#   1. build the binary and the console (cargo leptos build --release --split), clippy,
#   2. unit, service and API tests on SQLite,
#   3. the same service and API tests on a real PostgreSQL server started here,
#   4. browser tests (Debian Chromium driven by playwright-core) against `ferrostack serve`
#      (the instances test with simulated hosts and this machine's libvirt/QEMU),
#   5. the real openstack CLI and openstacksdk against a running `ferrostack serve`, with
#      simulated hosts and this machine's libvirt/QEMU (the test ISO really boots).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/install-prereqs.sh

# Each step says when it starts and how long the run has taken so far (CI's limit is 90 min).
started=$(date +%s)
step() { printf '\n==> [%s, +%ss] %s\n' "$(date -u +%H:%M:%S)" "$(( $(date +%s) - started ))" "$*"; }

# Each Rust test makes a SQLite file here (core's Db::for_tests) and leaves it: start
# from none, so runs on one machine do not fill its disk (a real guest needs 20 GiB).
rm -rf "${TMPDIR:-/tmp}/ferrostack-tests"

step "build (cargo leptos build --release --split)"
cargo leptos build --release --split

step "lint (cargo clippy -D warnings)"
cargo clippy --release --workspace --exclude frontend --tests -- -D warnings

step "Rust tests on SQLite"
cargo test --release --workspace --exclude frontend

step "Rust service and API tests on PostgreSQL"
eval "$(bash scripts/pg.sh start)"
trap 'bash scripts/pg.sh stop "$FERROSTACK_PG_DIR"' EXIT
# The same package selection as above, so nothing is rebuilt; the database-backed
# tests pick PostgreSQL up from FERROSTACK_TEST_PG_URL.
FERROSTACK_TEST_PG_URL="$FERROSTACK_TEST_PG_URL" \
  cargo test --release --workspace --exclude frontend
bash scripts/pg.sh stop "$FERROSTACK_PG_DIR"; trap - EXIT

step "test image (scripts/build-test-image.sh, cached); libvirtd"
test_image=$(bash scripts/build-test-image.sh | tail -n 1)
bash scripts/libvirt.sh

step "browser tests (Chromium; the instances test boots the test image under real QEMU)"
FERROSTACK_BIN="$CARGO_TARGET_DIR/release/ferrostack" FERROSTACK_TEST_IMAGE="$test_image" \
  node --test --test-concurrency=1 end2end/tests/

step "openstack CLI against a running server (seeded with the test image; real QEMU through libvirtd)"
venv=$(bash scripts/venv.sh)
FERROSTACK_BIN="$CARGO_TARGET_DIR/release/ferrostack" FERROSTACK_SEED_IMAGE="$test_image" \
  "$venv/bin/pytest" -q -p no:cacheprovider end2end/clients

step "openstack CLI: the Keystone and Glance features again, the server on PostgreSQL"
eval "$(bash scripts/pg.sh start)"
trap 'bash scripts/pg.sh stop "$FERROSTACK_PG_DIR"' EXIT
FERROSTACK_DATABASE_URL="$FERROSTACK_TEST_PG_URL" \
FERROSTACK_BIN="$CARGO_TARGET_DIR/release/ferrostack" FERROSTACK_SEED_IMAGE="$test_image" \
  "$venv/bin/pytest" -q -p no:cacheprovider end2end/clients/test_identity_cli.py \
  end2end/clients/test_identity_delegation_cli.py end2end/clients/test_conformance_cli.py
bash scripts/pg.sh stop "$FERROSTACK_PG_DIR"; trap - EXIT
step "all tests passed"
