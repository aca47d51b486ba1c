#!/usr/bin/env bash
# The browser side of the server consoles, from npm, pinned: xterm.js (the serial
# console's terminal) and noVNC (the VNC console), copied into public/vendor/, which the
# site serves as /vendor/… (cargo leptos copies public/ into the site). Not in git: this
# script (run by install-prereqs.sh, so by up.sh and test.sh) fetches them once into the
# cache and copies them whenever public/vendor lacks them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
XTERM_VERSION=6.0.0
NOVNC_VERSION=1.7.0
repo="$(cd "$here/.." && pwd)"
dest="$repo/public/vendor"
stamp="$dest/.versions"
want="xterm $XTERM_VERSION novnc $NOVNC_VERSION"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
cache="$FERROSTACK_CACHE/npm-pack"
mkdir -p "$cache"
for pkg in "@xterm/xterm@$XTERM_VERSION" "@novnc/novnc@$NOVNC_VERSION"; do
  file="$cache/$(echo "${pkg#@}" | sed 's#/#-#; s#@#-#').tgz"
  if ! [ -s "$file" ]; then
    echo "[console-assets] npm pack $pkg" >&2
    (cd "$cache" && npm pack --silent "$pkg" >/dev/null)
  fi
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/xterm" "$work/novnc"
tar xzf "$cache/xterm-xterm-$XTERM_VERSION.tgz" -C "$work/xterm"
tar xzf "$cache/novnc-novnc-$NOVNC_VERSION.tgz" -C "$work/novnc"
rm -rf "$dest.part"
mkdir -p "$dest.part/xterm" "$dest.part/novnc"
cp "$work/xterm/package/lib/xterm.mjs" "$work/xterm/package/css/xterm.css" "$work/xterm/package/LICENSE" "$dest.part/xterm/"
cp -r "$work/novnc/package/core" "$work/novnc/package/vendor" "$work/novnc/package/LICENSE.txt" "$dest.part/novnc/"
echo "$want" >"$dest.part/.versions"
rm -rf "$dest"
mv "$dest.part" "$dest"
echo "[console-assets] $want in public/vendor" >&2
