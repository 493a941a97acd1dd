#!/usr/bin/env bash
# Installs what ramboot needs on a fresh Debian/Ubuntu machine (as root, or with sudo):
# squashfs-tools (mksquashfs), busybox-static (the initrd userland), zstd/xz/lz4 (initrd
# compression), qemu-system-x86 (demo and boot tests), and for tests only: cpio and kmod
# and initramfs-tools-core (cross-check oracles) and shellcheck; then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq squashfs-tools busybox-static zstd xz-utils lz4 qemu-system-x86 \
  attr libcap2-bin cpio kmod shellcheck initramfs-tools-core ca-certificates >/dev/null
npm ci --no-audit --no-fund
