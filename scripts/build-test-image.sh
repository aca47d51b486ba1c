#!/usr/bin/env bash
# Builds the Ferrostack test image: a ~20 MB bootable ISO (BIOS, GRUB) whose only job is
# to prove that a VM booted and got an address. Compute and networking tests boot it
# under QEMU and read its serial console for two lines:
#   FERROSTACK-TEST-IMAGE BOOTED        once /init runs and the virtio modules are loaded
#   FERROSTACK-TEST-IMAGE LEASE <ip>    once DHCP on eth0 (virtio-net) gave it an address
# (and `FERROSTACK-TEST-IMAGE LEASEFAIL eth0` / `... NO-NIC` when that goes wrong).
# Then `FERROSTACK-TEST-IMAGE SHELL`, and a root shell (prompt `test-image# `) on the
# serial console, which the console tests type commands into; the VM stays up until it
# is stopped.
#
# Everything comes from Debian packages, with no other download: Debian's cloud kernel
# (its .deb is only unpacked, never installed on this machine), busybox-static as the
# whole userland of a gzipped newc initramfs, and grub-mkrescue for the ISO. The cloud
# kernel builds the virtio drivers as modules, so /init loads them itself, in
# dependency order.
#
# Usage: scripts/build-test-image.sh [OUTPUT.iso]
#   default OUTPUT: ${FERROSTACK_CACHE:-/var/cache/ferrostack}/images/ferrostack-test.iso
# A rebuild happens only when this script or the kernel package version changes (a
# stamp file beside the ISO records both); otherwise it returns at once. The ISO's path
# is the last line on stdout; progress goes to stderr.
set -euo pipefail
shopt -s inherit_errexit

KERNEL_META=linux-image-cloud-amd64
BUILD_PACKAGES=(busybox-static cpio grub-pc-bin grub-common xorriso mtools xz-utils)
# Load order for /init; a trailing '?' marks a module some kernels lack or build in.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev? virtio_pci_modern_dev? virtio_pci
  failover net_failover virtio_net virtio_blk?)
MARK=FERROSTACK-TEST-IMAGE

script="$(readlink -f "${BASH_SOURCE[0]}")"
out="$(realpath -m "${1:-${FERROSTACK_CACHE:-/var/cache/ferrostack}/images/ferrostack-test.iso}")"
stamp="$out.stamp"
work=""
tmp_iso=""

log() { printf '[test-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
cleanup() { [ -z "$work" ] || rm -rf "$work"; [ -z "$tmp_iso" ] || rm -f "$tmp_iso" "$stamp.tmp.$$"; }
trap cleanup EXIT

apt_quiet() { DEBIAN_FRONTEND=noninteractive apt-get -qq -o=Dpkg::Use-Pty=0 "$@" >&2; }

# "PACKAGE=VERSION" of the kernel the meta package pins, e.g.
# linux-image-6.1.0-56-cloud-amd64=6.1.192-2 (one apt-cache call: this is the cache check).
kernel_pin() {
  apt-cache show --no-all-versions "$KERNEL_META" 2>/dev/null \
    | sed -n 's/^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1=\2/p'
}

# As kernel_pin, refreshing the package lists first if apt knows no kernel yet.
resolve_kernel() {
  local pin
  pin="$(kernel_pin)" || true
  if [ -z "$pin" ]; then
    apt_quiet update
    pin="$(kernel_pin)" || true
  fi
  [ -n "$pin" ] || die "apt knows no $KERNEL_META"
  echo "$pin"
}

install_build_packages() {
  local missing=() p
  for p in "${BUILD_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  apt_quiet update
  apt_quiet install -y --no-install-recommends "${missing[@]}"
}

# Unpacks the kernel .deb into $work/kernel (no install); prints the kernel release.
fetch_kernel() {
  local pkgver="$1" dl="$work/deb"
  mkdir -p "$dl" "$work/kernel"
  log "apt-get download $pkgver"
  # As root into a private temp dir: apt's _apt sandbox user could not write there.
  (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkgver" >&2)
  dpkg-deb -x "$dl"/*.deb "$work/kernel"
  ls "$work/kernel/lib/modules"
}

# Copies one module, decompressed (busybox insmod may not read .ko.xz), to DEST/NAME.ko.
# Returns 1 if the kernel has no such module file.
copy_module() {
  local moddir="$1" name="$2" dest="$3" f
  f="$(find "$moddir" \( -name "$name.ko" -o -name "$name.ko.xz" \) -print -quit)"
  [ -n "$f" ] || return 1
  case "$f" in
    *.xz) xz -dc "$f" >"$dest/$name.ko" ;;
    *) cp "$f" "$dest/$name.ko" ;;
  esac
}

# Puts the modules /init needs into ROOT/lib/modules and their load order into ROOT/etc/modules.
add_modules() {
  local moddir="$1" root="$2" m name
  mkdir -p "$root/lib/modules"
  : >"$root/etc/modules"
  for m in "${MODULES[@]}"; do
    name="${m%\?}"
    if copy_module "$moddir" "$name" "$root/lib/modules"; then
      echo "$name" >>"$root/etc/modules"
    elif grep -q "/$name\.ko" "$moddir/modules.builtin" 2>/dev/null; then
      log "$name is built into the kernel"
    elif [ "$m" = "$name" ]; then
      die "kernel has no module $name"
    fi
  done
  log "modules: $(tr '\n' ' ' <"$root/etc/modules")"
}

add_busybox() {
  local root="$1" applet
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
}

write_init() {
  cat >"$1/init" <<EOF
#!/bin/sh
# PID 1 of the Ferrostack test image (written by scripts/build-test-image.sh).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# /dev/console is the last console= (tty0); the tests read the serial port.
say() { for t in /dev/console /dev/ttyS0; do echo "\$*" >"\$t" 2>/dev/null; done; }
for m in \$(cat /etc/modules); do
  insmod "/lib/modules/\$m.ko" || say "$MARK insmod \$m failed"
done
say "$MARK BOOTED"
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
  # Backgrounds itself once leased (or after its first tries) and keeps renewing.
  udhcpc -b -i eth0 -s /etc/udhcpc.script
else
  say "$MARK NO-NIC"
fi
# A shell on the serial console (what the console tests type into), started again
# whenever it exits; PID 1 stays this loop.
export PS1='test-image# '
say "$MARK SHELL"
while :; do
  setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'
  sleep 1
done
EOF
  chmod 755 "$1/init"
}

write_udhcpc_script() {
  cat >"$1/etc/udhcpc.script" <<EOF
#!/bin/sh
# udhcpc hook: \$1 is the event; udhcpc sets interface, ip, mask (prefix bits), router, dns.
say() { for t in /dev/console /dev/ttyS0; do echo "\$*" >"\$t" 2>/dev/null; done; }
case "\$1" in
  deconfig)
    ip addr flush dev "\$interface"
    ip link set "\$interface" up ;;
  bound|renew)
    ip addr flush dev "\$interface"
    ip addr add "\$ip/\${mask:-24}" dev "\$interface"
    [ -z "\$router" ] || ip route replace default via "\${router%% *}" dev "\$interface"
    : >/etc/resolv.conf
    for d in \$dns; do echo "nameserver \$d" >>/etc/resolv.conf; done
    say "$MARK LEASE \$ip" ;;
  leasefail|nak)
    say "$MARK LEASEFAIL \$interface" ;;
esac
EOF
  chmod 755 "$1/etc/udhcpc.script"
}

# Builds the initramfs for kernel release KVER into DEST.
build_initramfs() {
  local kver="$1" dest="$2" root="$work/initramfs"
  mkdir -p "$root"/{dev,etc,proc,sys,tmp}
  mknod -m 600 "$root/dev/console" c 5 1 # the kernel opens it before /init mounts devtmpfs
  add_busybox "$root"
  add_modules "$work/kernel/lib/modules/$kver" "$root"
  write_init "$root"
  write_udhcpc_script "$root"
  (cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -9 >"$dest"
}

write_grub_cfg() {
  cat >"$1" <<'EOF'
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry "Ferrostack test image" {
  linux /boot/vmlinuz console=ttyS0,115200 console=tty0
  initrd /boot/initrd.gz
}
EOF
}

# BIOS only (-d pins the platform, so the ISO does not change with what else is installed).
build_iso() {
  local kver="$1" dest="$2" iso="$work/iso"
  mkdir -p "$iso/boot/grub"
  cp "$work/kernel/boot/vmlinuz-$kver" "$iso/boot/vmlinuz"
  build_initramfs "$kver" "$iso/boot/initrd.gz"
  write_grub_cfg "$iso/boot/grub/grub.cfg"
  grub-mkrescue -d /usr/lib/grub/i386-pc --locales= --fonts= --themes= \
    -o "$dest" "$iso" >&2 2>"$work/grub-mkrescue.log" \
    || { cat "$work/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }
}

main() {
  local pkgver want kver
  pkgver="$(resolve_kernel)"
  want="script=$(sha256sum "$script" | cut -d' ' -f1) kernel=$pkgver"
  if [ -s "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "$out"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "building needs root (apt-get, mknod)"
  log "building $out ($pkgver)"
  install_build_packages
  mkdir -p "$(dirname "$out")"
  work="$(mktemp -d /tmp/ferrostack-test-image.XXXXXX)"
  tmp_iso="$out.tmp.$$"
  kver="$(fetch_kernel "$pkgver")"
  build_iso "$kver" "$tmp_iso"
  mv -f "$tmp_iso" "$out"
  echo "$want" >"$stamp.tmp.$$" && mv -f "$stamp.tmp.$$" "$stamp"
  log "$(du -h "$out" | cut -f1) $out"
  echo "$out"
}

main
