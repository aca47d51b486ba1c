# Shared environment for the bring-up, the test command and CI: where tools and the
# cargo target dir are cached (outside the clone, so a fresh clone rebuilds fast).
# Sourced, not run.
export FERROSTACK_CACHE="${FERROSTACK_CACHE:-/var/cache/ferrostack}"
export FERROSTACK_TOOLS="$FERROSTACK_CACHE/tools"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERROSTACK_CACHE/target}"
# binaryen from npm must come first: Debian's wasm-opt silently breaks the bundle.
export PATH="$FERROSTACK_TOOLS/node_modules/.bin:$FERROSTACK_TOOLS/bin:$HOME/.cargo/bin:$PATH"
# Pinned tool versions (see docs/ARCHITECTURE.md, "Toolchain").
CARGO_LEPTOS_VERSION=0.3.8
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
OPENSTACKCLIENT_VERSION=10.5.0
# cargo-leptos compiles with LEPTOS_OUTPUT_NAME set, and leptos reads it at compile time
# (it names the WASM file the page loads). Setting it for plain cargo builds too keeps
# `cargo test` from rebuilding leptos and everything above it after `cargo leptos build`,
# and keeps a test-built binary loading the right file.
export LEPTOS_OUTPUT_NAME=ferrostack
# Leptos type-erases components (as cargo-leptos does in dev builds) in every build,
# server and WASM alike — both sides must agree or pages do not hydrate. It makes the
# release WASM 12 % smaller (docs/benchmarks.md).
export RUSTFLAGS="--cfg erase_components"
