// A tiny busybox root for subhost tests, built into a squashfs with the real `ramboot rootfs`
// path (buildRootfs). It holds this machine's static busybox, an /etc/init.d/web service that
// records what it sees (PID, hostname, namespaces) and serves it with busybox httpd on eth0, and
// an /sbin/init that records its PID and ends on SIGTERM, or at once when /etc/init-mode says so.
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRootfs } from '../../src/rootfs/build-rootfs.ts';

export const SUBHOST_IP = '10.199.0.2';
export const HOST_IP = '10.199.0.1';

const APPLETS = ['sh', 'ip', 'httpd', 'hostname', 'cat', 'echo', 'mkdir', 'sleep', 'readlink', 'kill', 'ls', 'wget', 'rm', 'touch'];

const WEB_SERVICE = `#!/bin/sh
# test service: writes a marker (into the overlay, so into UPPER) and serves it on eth0.
case "$1" in
start)
  ip addr add ${SUBHOST_IP}/24 dev eth0
  ip link set eth0 up
  mkdir -p /srv/www /var/lib/web
  {
    echo "pid=$$"
    echo "hostname=$(hostname)"
    echo "mac=$(cat /sys/class/net/eth0/address)"
    echo "pid1=$(cat /proc/1/comm)"
  } > /srv/www/index.html
  echo started >> /var/lib/web/marker
  httpd -p ${SUBHOST_IP}:80 -h /srv/www
  ;;
stop)
  echo stopped >> /var/lib/web/marker
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = httpd ] && kill "\${p#/proc/}"
  done
  ;;
esac
exit 0
`;

const INIT = `#!/bin/sh
# test init: proves it is PID 1, then waits for SIGTERM (or ends at once in "exit" mode).
mkdir -p /var/lib/init
echo "pid=$$ hostname=$(hostname)" > /var/lib/init/marker
[ "$(cat /etc/init-mode 2>/dev/null)" = exit ] && exit 0
trap 'echo term >> /var/lib/init/marker; exit 0' TERM
while :; do sleep 1; done
`;

/** Build the test tree under `dir`/tree and its image `dir`/rootfs.squashfs; returns the image. */
export async function buildSubhostImage(dir: string): Promise<{ image: string; sha256: string }> {
  const tree = join(dir, 'tree');
  for (const d of ['bin', 'sbin', 'etc/init.d', 'proc', 'sys', 'dev', 'run', 'tmp', 'var/lib', 'srv']) await mkdir(join(tree, d), { recursive: true });
  await copyFile('/bin/busybox', join(tree, 'bin/busybox'));
  await chmod(join(tree, 'bin/busybox'), 0o755);
  for (const a of APPLETS) await symlink('busybox', join(tree, 'bin', a));
  await writeFile(join(tree, 'etc/init.d/web'), WEB_SERVICE, { mode: 0o755 });
  await writeFile(join(tree, 'sbin/init'), INIT, { mode: 0o755 });
  await writeFile(join(tree, 'etc/hostname'), 'image\n');
  const out = join(dir, 'rootfs.squashfs');
  const r = await buildRootfs({ root: tree, out });
  return { image: out, sha256: r.sha256 };
}
