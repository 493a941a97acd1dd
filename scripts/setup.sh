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
$SUDO apt-get install -y -qq ovmf systemd-boot-efi sbsigntool mtools dosfstools binutils >/dev/null  # UKI: systemd-stub, sbsign/sbverify, OVMF Secure Boot firmware, FAT boot disk for the UEFI boot test, objdump as the PE layout oracle
$SUDO apt-get install -y -qq debootstrap >/dev/null  # the distribution boot tests debootstrap stock Debian roots (src/lab/stock-root.ts)
# ramboot lab runs its own dnsmasq and nginx inside a network namespace: the distro's services must
# never start (policy-rc.d 101 = "do not start"; removed again if it was ours) nor be enabled.
[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d && RAMBOOT_RC=1; }
$SUDO apt-get install -y -qq dnsmasq-base nginx-light ipxe-qemu >/dev/null  # ramboot lab and test/boot/pxe-lab: DHCP/TFTP, HTTP, QEMU's iPXE ROMs
[ -z "${RAMBOOT_RC:-}" ] || $SUDO rm -f /usr/sbin/policy-rc.d
! command -v systemctl >/dev/null || $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
$SUDO apt-get install -y -qq tini >/dev/null  # reaper as PID 1 of `ramboot run` subhosts (test/subhost/)
$SUDO apt-get install -y -qq cryptsetup-bin dmsetup >/dev/null  # --hook verity: veritysetup appends the hash tree at build time; test/boot/verity.test.ts copies this host's dmsetup into its test root
$SUDO apt-get install -y -qq curl dropbear-bin openssh-client openssl >/dev/null  # the curl and ssh-debug hooks' boot tests stock their test roots with this machine's curl and dropbear, make a test CA (openssl) and log in with ssh (test/boot/curl-hook, ssh-debug)
$SUDO apt-get install -y -qq tinyproxy-bin >/dev/null  # ramboot lab --proxy: the forward proxy (binary only, no service) of test/boot/pxe-lab-net
$SUDO apt-get install -y -qq gpgv debian-archive-keyring >/dev/null  # test/boot/pxe-lab-dhcp6 packs Debian 13's busybox-static (udhcpc6), checked against trixie's signed InRelease (src/lab/debian-busybox.ts)
# arm64 sets (--arch arm64) and their boot test: apt learns arm64 packages (busybox-static:arm64,
# linux-image-cloud-arm64:arm64 via apt-get download, nothing arm64 is installed), QEMU's aarch64 emulator and AAVMF
dpkg --print-foreign-architectures | grep -qx arm64 || { $SUDO dpkg --add-architecture arm64 && $SUDO apt-get update -qq; }
$SUDO apt-get install -y -qq qemu-system-arm qemu-efi-aarch64 >/dev/null
npm ci --no-audit --no-fund
