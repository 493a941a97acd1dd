// Shared by the image-set tests: a demo root around Debian's cloud kernel, the CLI as a child
// process, and a fingerprint of an output directory ("unchanged" means every byte).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';

export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export function ramboot(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8' });
}

export async function makeRoot(work: string, stamp = 'one'): Promise<string> {
  const kernel = await fetchDebianKernel('cloud-amd64');
  return makeDemoRoot({ dir: join(work, `root-${stamp}`), kernel, stamp });
}

/** An exclude list that leaves the rootfs at a few hundred KiB: for sets that fit a small tmpfs. */
export function smallRootfsExcludes(work: string): string {
  const path = join(work, 'small.exclude');
  writeFileSync(path, '/lib/modules/\n/boot/\n/usr/lib/modules/\n');
  return path;
}

/** name -> sha256 of every entry, hidden ones included. */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  return out;
}

/** `sha256sum -c SHA256SUMS` in the set's directory. */
export function sumsCheck(dir: string): SpawnSyncReturns<string> {
  return spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
}

/** The rootfs sha256 baked into a zstd initrd's /etc/ram.conf. */
export function pinnedRootSha(initrd: string): string | undefined {
  const raw = execFileSync('zstd', ['-dc', initrd], { maxBuffer: 1 << 30 }).toString('latin1');
  return /^RAM_ROOTSHA256='([0-9a-f]{64})'$/m.exec(raw)?.[1];
}

export function rootfsSumOf(dir: string): string | undefined {
  return /^([0-9a-f]{64}) {2}rootfs\.squashfs$/m.exec(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'))?.[1];
}

/** Running as root, or in CI (where a skip would hide a failure). */
export const skipUnlessRoot = process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root to mount a tmpfs';

/** A tmpfs of `size` (e.g. "1m") on a new directory under `work`, with extra mount options. */
export function mountTmpfs(work: string, name: string, size: string, extra = ''): { dir: string; unmount: () => void } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra ? `,${extra}` : ''}`, `rb-${name}`, dir]);
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      rmdirSync(dir);
    },
  };
}

export function tempWork(prefix: string): string {
  return mkdtempSync(join('/tmp', prefix));
}
