// Running dracut, mkinitramfs and apt inside the benchmark chroots. They need /proc, /sys and
// /dev (udevadm, blkid, module lookup), so those are bind-mounted for the duration of one call
// and ALWAYS unmounted afterwards, even when the call fails. A tree is never deleted while
// anything is mounted under it (rm -rf through a /dev bind mount would wipe the host's /dev).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runTool } from '../src/util/run-tool.js';

const BINDS = ['proc', 'sys', 'dev'] as const;

/** Mount points at or below `root`, deepest first (from /proc/self/mounts; octal escapes decoded). */
export async function mountsUnder(root: string): Promise<string[]> {
  const base = resolve(root);
  const text = await readFile('/proc/self/mounts', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === base || p.startsWith(`${base}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmount everything under `root` (left over from an interrupted run, or ours). */
export async function unmountAll(root: string): Promise<void> {
  for (const point of await mountsUnder(root)) {
    await runTool('umount', [point]).catch(() => runTool('umount', ['-l', point]));
  }
  const left = await mountsUnder(root);
  if (left.length > 0) throw new Error(`still mounted under ${root}: ${left.join(', ')}`);
}

/** Run `fn` with /proc, /sys and /dev bind-mounted into `root`; unmount in finally. The root is
 * first bound onto itself so that `/` is a mount point inside the chroot (/proc/self/mounts only
 * lists mounts under the caller's root): mkinitramfs MODULES=dep looks up the device of `/` and
 * fails with "failed to determine device for /" otherwise. */
export async function withChrootMounts<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await unmountAll(root);
  try {
    await runTool('mount', ['--bind', root, root]);
    for (const dir of BINDS) await runTool('mount', ['--bind', `/${dir}`, `${root}/${dir}`]);
    return await fn();
  } finally {
    await unmountAll(root);
  }
}

/** Refuse to delete a tree that still has mounts below it. */
export async function assertNothingMounted(root: string): Promise<void> {
  await unmountAll(root);
}
