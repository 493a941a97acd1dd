// The small root tree `ramboot demo` and the boot tests build an image set from: a static
// busybox, a Debian kernel (vmlinuz + its modules tree), and an /sbin/init that reports what the
// booted system looks like in `RAMBOOT-*` marker lines, then powers off. The markers are read
// from the guest's own console output, so they show what really happened inside the guest.
import { chmod, cp, link, mkdir, readdir, rm, symlink, writeFile, copyFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { readElfMachine } from '../elf/machine.js';
import { listApplets } from '../initrd/busybox.js';
import type { DebianKernel } from './debian-kernel.js';

/** What the demo init prints. PID, uptime at init, the root mount, every squashfs mount, a write
 * test, swaps and memory; then it powers off so QEMU exits (-no-reboot). */
export const MARKER_INIT = `#!/bin/sh
# ramboot demo init: report, then power off.
read -r up _ < /proc/uptime
echo "RAMBOOT-INIT pid=$$ uptime=$up"
while read -r dev mnt type opts _; do
  case "$mnt:$type" in
    /:*) echo "RAMBOOT-ROOT type=$type dev=$dev opts=$opts" ;;
  esac
  case "$type" in
    squashfs) echo "RAMBOOT-SQUASHFS mnt=$mnt dev=$dev" ;;
  esac
done < /proc/mounts
if echo ok > /ramboot-write-test && [ "$(cat /ramboot-write-test)" = ok ]; then echo "RAMBOOT-WRITABLE yes"; else echo "RAMBOOT-WRITABLE no"; fi
while read -r name type size used prio; do
  [ "$name" = Filename ] || echo "RAMBOOT-SWAP name=$name type=$type size=$size prio=$prio"
done < /proc/swaps
while read -r key value _; do
  [ "$key" = MemTotal: ] && echo "RAMBOOT-MEM total=$value"
done < /proc/meminfo
echo "RAMBOOT-MACHINE-ID bytes=$(wc -c < /etc/machine-id)"
[ -f /etc/ramboot-demo ] && echo "RAMBOOT-IMAGE $(cat /etc/ramboot-demo)"
echo "RAMBOOT-DONE"
poweroff -f
`;

/** Hard links when the cache is on the same filesystem (instant, no space), copies otherwise. */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dst);
    else if (entry.isFile()) await link(src, dst).catch(() => copyFile(src, dst));
    else await cp(src, dst, { verbatimSymlinks: true });
  }
}

export interface DemoRootOptions {
  dir: string;
  kernel: DebianKernel;
  /** Static busybox, default /bin/busybox (Debian busybox-static); of the kernel's architecture
   * (an arm64 one's applets are read from the binary, it cannot run here). */
  busybox?: string;
  /** Replaces the marker init. */
  init?: string;
  /** Text written to /etc/ramboot-demo, echoed by the marker init (tells two images apart). */
  stamp?: string;
}

export async function makeDemoRoot(opts: DemoRootOptions): Promise<string> {
  const root = opts.dir;
  await rm(root, { recursive: true, force: true });
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'boot', 'lib/modules']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  const busybox = opts.busybox ?? '/bin/busybox';
  await copyFile(busybox, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  for (const applet of await listApplets(busybox, (await readElfMachine(busybox)) ?? 0)) {
    if (applet === 'bin/busybox' || applet === 'sbin/init') continue;
    await symlink(posix.relative(posix.dirname(`/${applet}`), '/bin/busybox'), join(root, applet)).catch(() => {});
  }
  await writeFile(join(root, 'sbin/init'), opts.init ?? MARKER_INIT, { mode: 0o755 });
  await writeFile(join(root, 'etc/hostname'), 'ramboot-demo\n');
  await writeFile(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  if (opts.stamp) await writeFile(join(root, 'etc/ramboot-demo'), `${opts.stamp}\n`);
  await copyFile(opts.kernel.vmlinuz, join(root, 'boot', `vmlinuz-${opts.kernel.kver}`));
  await linkTree(opts.kernel.modulesDir, join(root, 'lib/modules', opts.kernel.kver));
  await stat(join(root, 'sbin/init'));
  return root;
}

export interface InitMarkers {
  pid?: number;
  uptime?: number;
  root?: { type: string; dev: string; opts: string };
  squashfs: { mnt: string; dev: string }[];
  writable?: boolean;
  swaps: { name: string; type: string; sizeKiB: number; prio: number }[];
  memTotalKiB?: number;
  image?: string;
  machineIdBytes?: number;
  done: boolean;
}

/** Read the RAMBOOT-* lines of a console log. */
export function parseInitMarkers(output: string): InitMarkers {
  const markers: InitMarkers = { squashfs: [], swaps: [], done: false };
  const fields = (line: string) => Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (text.startsWith('RAMBOOT-INIT ')) {
      const f = fields(text);
      markers.pid = Number(f.pid);
      markers.uptime = Number(f.uptime);
    } else if (text.startsWith('RAMBOOT-ROOT ')) {
      const f = fields(text);
      markers.root = { type: f.type ?? '', dev: f.dev ?? '', opts: f.opts ?? '' };
    } else if (text.startsWith('RAMBOOT-SQUASHFS ')) {
      const f = fields(text);
      markers.squashfs.push({ mnt: f.mnt ?? '', dev: f.dev ?? '' });
    } else if (text.startsWith('RAMBOOT-WRITABLE ')) {
      markers.writable = text.endsWith(' yes');
    } else if (text.startsWith('RAMBOOT-SWAP ')) {
      const f = fields(text);
      markers.swaps.push({ name: f.name ?? '', type: f.type ?? '', sizeKiB: Number(f.size), prio: Number(f.prio) });
    } else if (text.startsWith('RAMBOOT-MEM ')) {
      markers.memTotalKiB = Number(fields(text).total);
    } else if (text.startsWith('RAMBOOT-IMAGE ')) {
      markers.image = text.slice('RAMBOOT-IMAGE '.length);
    } else if (text.startsWith('RAMBOOT-MACHINE-ID ')) {
      markers.machineIdBytes = Number(fields(text).bytes);
    } else if (text === 'RAMBOOT-DONE') {
      markers.done = true;
    }
  }
  return markers;
}
