#!/usr/bin/env bash
# Image data benchmark (docs/benchmarks.md): upload and download of one large image
# through Glance's API (curl, streaming, loopback) against a running `ferrostack serve`,
# next to what the disk does without us: `dd conv=fdatasync` into the same file system
# (upload: we also fsync before the image turns active) and a plain read of the stored
# file (download). Not a test: it prints figures.
# Usage: scripts/bench-image.sh [MiB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
. scripts/bench-lib.sh

src="$dir/source.bin"
echo "making a ${mib} MiB file of random bytes (not timed)..."
head -c "${mib}M" /dev/urandom >"$src"
sync
want=$(md5sum "$src" | cut -d' ' -f1)

rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MiB/s", b / 1048576 / s }'; }
now() { date +%s.%N; }
bytes=$(stat -c %s "$src")

# The virtual disk's own speed swings (dd: 350-720 MiB/s between runs here), so each
# round measures dd right next to our upload, and the figures are medians of rounds.
rounds=${ROUNDS:-5}
cold() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
dd_w=(); up=(); rd=(); down=()
# The source is read from the page cache for both dd and the upload (warm), so both
# measure writing to the disk, not reading the source.
warm() { cat "$src" >/dev/null; }
for r in $(seq "$rounds"); do
  warm
  t0=$(now); dd if="$src" of="$dir/dd.bin" bs=4M conv=fdatasync status=none; t1=$(now)
  dd_w+=("$(secs "$t0" "$t1")"); rm -f "$dir/dd.bin"
  id=$(curl -sf -X POST -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
    -d '{"name": "bench", "disk_format": "raw", "container_format": "bare"}' "$url/image/v2/images" \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
  warm
  t0=$(now)
  curl -sf -X PUT -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' -T "$src" \
    "$url/image/v2/images/$id/file"
  t1=$(now); up+=("$(secs "$t0" "$t1")")
  got=$(curl -sf -H "X-Auth-Token: $token" "$url/image/v2/images/$id" | python3 -c 'import sys, json; print(json.load(sys.stdin)["checksum"])')
  [ "$got" = "$want" ] || { echo "checksum mismatch: $got != $want" >&2; exit 1; }
  # Reads from the disk, not the page cache (as root; otherwise both read cached data).
  stored="$dir/data/images/$id"
  cold
  t0=$(now); dd if="$stored" of=/dev/null bs=4M status=none; t1=$(now); rd+=("$(secs "$t0" "$t1")")
  cold
  t0=$(now); curl -sf -H "X-Auth-Token: $token" -o /dev/null "$url/image/v2/images/$id/file"; t1=$(now)
  down+=("$(secs "$t0" "$t1")")
  echo "round $r: dd $(rate "$bytes" "${dd_w[-1]}"), upload $(rate "$bytes" "${up[-1]}"), plain read $(rate "$bytes" "${rd[-1]}"), download $(rate "$bytes" "${down[-1]}")"
  curl -sf -X DELETE -H "X-Auth-Token: $token" "$url/image/v2/images/$id"
done
dd_write=$(median "${dd_w[@]}"); upload=$(median "${up[@]}"); read_plain=$(median "${rd[@]}"); download=$(median "${down[@]}")

echo "== ${mib} MiB, checksum verified ($want), medians of $rounds rounds"
echo "dd conv=fdatasync (same file system): $(rate "$bytes" "$dd_write")"
echo "upload (PUT .../file, streamed, hashed, fsynced, vetted): $(rate "$bytes" "$upload") = $(awk -v a="$dd_write" -v b="$upload" 'BEGIN { printf "%.0f%%", a / b * 100 }') of dd"
echo "plain read of the stored file, cold cache (dd to /dev/null): $(rate "$bytes" "$read_plain")"
echo "download, cold cache (GET .../file, streamed): $(rate "$bytes" "$download") = $(awk -v a="$read_plain" -v b="$download" 'BEGIN { printf "%.0f%%", a / b * 100 }') of the plain read"
