#!/usr/bin/env bash
# Start libvirt's daemons when they are not running (the machines here have no
# systemd), and wait until qemu:///system answers. Idempotent; a few seconds at most.
set -euo pipefail
log() { printf '[libvirt] %s\n' "$*" >&2; }
pgrep -x virtlogd >/dev/null || { log "starting virtlogd"; virtlogd -d; }
pgrep -x libvirtd >/dev/null || { log "starting libvirtd"; libvirtd -d; }
for _ in $(seq 100); do
  if virsh -c qemu:///system uri >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.1
done
log "qemu:///system does not answer"; exit 1
