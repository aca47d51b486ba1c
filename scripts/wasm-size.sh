#!/usr/bin/env bash
# Sizes of the console's WASM as a browser downloads it (gzip -9), after
# `cargo leptos build --release --split`: the initial bundle every page loads, then for
# each lazy panel what opening it adds (its own file and the shared chunks it needs,
# from wasm-split's manifest; a chunk shared with a panel opened earlier is fetched once).
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=target/site/pkg
gz() { gzip -9c "$1" | wc -c; }
kib() { awk -v b="$1" 'BEGIN { printf "%.0f KiB", b / 1024 }'; }
main=$(gz "$pkg/ferrostack.wasm")
js=$(( $(gz "$pkg/ferrostack.js") + $(cat "$pkg"/__wasm_split*.js 2>/dev/null | gzip -9c | wc -c) ))
printf '%-34s %9s B gzip (%s)\n' "initial: ferrostack.wasm" "$main" "$(kib "$main")"
printf '%-34s %9s B gzip\n' "initial: JS glue" "$js"
[ -f "$pkg/__wasm_split_manifest.json" ] || exit 0
python3 - "$pkg" <<'PY'
import gzip, json, os, re, sys
pkg = sys.argv[1]
manifest = json.load(open(os.path.join(pkg, "__wasm_split_manifest.json")))
size = lambda name: len(gzip.compress(open(os.path.join(pkg, name + ".wasm"), "rb").read(), 9))
total = 0
for key, files in sorted(manifest.items()):
    panel = re.sub(r"^__|_\d+$", "", key).replace("_route_view", "")
    b = sum(size(f) for f in files)
    print(f"{'+ opening ' + panel:34} {b:9} B gzip ({b / 1024:.0f} KiB, {len(files)} files)")
every = {f for files in manifest.values() for f in files}
b = sum(size(f) for f in every)
print(f"{'all lazy files together':34} {b:9} B gzip ({b / 1024:.0f} KiB)")
PY
