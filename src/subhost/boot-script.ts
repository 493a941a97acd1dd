// The subhost's boot-up, as overlay-boot(8) does it, in POSIX sh run by this host's /bin/sh
// already inside the new mount, PID, UTS, IPC and network namespaces (run-subhost.ts starts it
// through nsenter + unshare). Every mount is made in the private mount namespace, so none of
// them is ever visible on the host and all of them vanish with the namespace, even after a
// SIGKILL. Up to pivot_root only this host's programs run; after it only the image's do, inside
// the namespaces (`service X start`, or its /sbin/init with --init).
//
// File descriptors: 0 is a pipe from `ramboot run` that is never written (services mode holds on
// it: it reads EOF only when ramboot is gone), 1/2 the LOG file, 3 a pipe on which the script
// reports "ready" once the services are started (or just before exec'ing the image's init).
// Services and the image's init get 0 from /dev/null and no fd 3.
//
// Inputs come in the environment (never interpolated into the script text):
//   RB_NAME RB_LOWER RB_LOWER_KIND(dir|squashfs) RB_LOWER_MNT RB_UPPER RB_WORK RB_LIVE
//   RB_RAM_SIZE (empty: no /run tmpfs) RB_START (blank-separated) RB_MODE (services|init)
//   RB_BUSYBOX (real path of this host's static busybox)
export const BOOT_SCRIPT = `set -eu
say() { echo "ramboot run: $*"; }
fail() { echo "ramboot: error: subhost $RB_NAME: $*" >&3; exit 1; }

lower=$RB_LOWER
if [ "$RB_LOWER_KIND" = squashfs ]; then
  # util-linux mount sets LO_FLAGS_AUTOCLEAR on the loop device: it is freed with the mount.
  mount -t squashfs -o loop,ro,nodev "$RB_LOWER" "$RB_LOWER_MNT" || fail "cannot mount LOWER $RB_LOWER"
  lower=$RB_LOWER_MNT
fi
mount -t overlay "subhost-$RB_NAME" -o "lowerdir=$lower,upperdir=$RB_UPPER,workdir=$RB_WORK" "$RB_LIVE" \\
  || fail "cannot mount the overlay on LIVE $RB_LIVE (lowerdir=$lower upperdir=$RB_UPPER workdir=$RB_WORK)"
cd "$RB_LIVE"
mkdir -p proc sys dev run
mount -t proc -o nosuid,nodev,noexec proc proc
# sysfs shows the network namespace of the mounter; read-only keeps the host's devices safe.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs sys
mount -t tmpfs -o nosuid,mode=755,size=1M ramboot-dev dev
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r n major minor <<EOF
$node
EOF
  mknod -m 666 "dev/$n" c "$major" "$minor"
done
mkdir dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts dev/pts
ln -s pts/ptmx dev/ptmx
mount -t tmpfs -o nosuid,nodev,mode=1777 shm dev/shm
ln -s /proc/self/fd dev/fd
ln -s /proc/self/fd/0 dev/stdin
ln -s /proc/self/fd/1 dev/stdout
ln -s /proc/self/fd/2 dev/stderr
if [ -n "$RB_RAM_SIZE" ]; then
  mount -t tmpfs -o "nosuid,nodev,mode=755,size=$RB_RAM_SIZE" run run
fi
hostname "$RB_NAME"
# pivot_root(2): the host's root goes to a directory of our own /dev tmpfs and is detached at
# once, so nothing of the host's file tree stays reachable. Past pivot_root no host path
# resolves, so the detach is done by this host's static busybox reached through the old root;
# its sh runs umount and rmdir as built-in applets (docs/facts.md, "busybox 1.35").
mkdir dev/.ramboot-oldroot
pivot_root . dev/.ramboot-oldroot
cd /
"/dev/.ramboot-oldroot$RB_BUSYBOX" sh -c 'umount -l /dev/.ramboot-oldroot && rmdir /dev/.ramboot-oldroot' \
  || fail "cannot detach the host's root after pivot_root"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux
unset RB_BUSYBOX RB_LOWER RB_LOWER_KIND RB_LOWER_MNT RB_UPPER RB_WORK RB_LIVE RB_RAM_SIZE

if [ "$RB_MODE" = init ]; then
  [ -x /sbin/init ] || fail "the image has no executable /sbin/init (--init)"
  say "exec /sbin/init as PID $$"
  echo ready >&3
  exec /sbin/init </dev/null 3>&-
fi

for s in $RB_START; do
  say "service $s start"
  if command -v service >/dev/null 2>&1; then
    service "$s" start </dev/null 3>&- || say "service $s start failed (exit $?)"
  elif [ -x "/etc/init.d/$s" ]; then
    "/etc/init.d/$s" start </dev/null 3>&- || say "/etc/init.d/$s start failed (exit $?)"
  else
    say "no service $s in the image (no service command, no /etc/init.d/$s)"
  fi
done
echo ready >&3
exec 3>&-
# The reaper (tini, PID 1) lives as long as this shell: until ramboot run signals it, or is gone.
read -r _ || true
`;
