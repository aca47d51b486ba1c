#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test Ferrostack.
# Idempotent: each step checks first, so a rerun on a prepared machine takes seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
mkdir -p "$FERROSTACK_TOOLS"

log() { printf '[prereqs] %s\n' "$*"; }

need_apt=()
for pkg in build-essential pkg-config libssl-dev libsqlite3-dev postgresql python3-venv curl ca-certificates chromium xorriso openssh-client iproute2 nftables procps iputils-ping; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Node.js and npm: the machine image's own (Debian's npm would conflict with it); only
# a machine without any gets Debian's.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}"
fi

# QEMU and libvirt from bookworm-backports (QEMU 10, libvirt 11): qemu-img vets
# uploaded images; libvirt and the system emulator run servers. Backports' qemu
# packages upgrade together, so they are installed as one set.
if ! qemu-img --version 2>/dev/null | grep -q "version 10" \
    || ! dpkg -s libvirt-daemon-system libvirt-dev qemu-system-x86 >/dev/null 2>&1; then
  log "apt-get install -t bookworm-backports qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-dev"
  export DEBIAN_FRONTEND=noninteractive
  if ! [ -f /etc/apt/sources.list.d/backports.list ]; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/backports.list
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-utils qemu-system-x86 \
    libvirt-daemon-system libvirt-dev
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (rustup) first" >&2; exit 1
fi
if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! "$FERROSTACK_TOOLS/bin/cargo-leptos" --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 9 minutes on 2 cores)"
  CARGO_TARGET_DIR="$FERROSTACK_CACHE/tool-build" CARGO_PROFILE_RELEASE_LTO=false \
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" \
      --features no_downloads --root "$FERROSTACK_TOOLS"
fi

if ! "$FERROSTACK_TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Without --locked: its lockfile pins a crate version the registry does not serve.
  CARGO_TARGET_DIR="$FERROSTACK_CACHE/tool-build" \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$FERROSTACK_TOOLS"
fi

if ! [ -x "$FERROSTACK_TOOLS/node_modules/.bin/wasm-opt" ]; then
  log "npm install binaryen@$BINARYEN_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$FERROSTACK_TOOLS" "binaryen@$BINARYEN_VERSION"
fi
# Browser tests: playwright-core only (it drives Debian's chromium; no browser download).
here_repo="$(cd "$here/.." && pwd)"
if ! [ -d "$here_repo/end2end/node_modules/playwright-core" ]; then
  log "npm ci (end2end)"
  npm ci --silent --no-audit --no-fund --prefix "$here_repo/end2end"
fi
# The consoles' browser side (xterm.js, noVNC) into public/vendor.
bash "$here/console-assets.sh"
log "done"
