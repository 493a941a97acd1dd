// The disk an output goes to: which mount it is on, how much is free, and the one-line error
// when it fills. A full disk shows up as ENOSPC (or EDQUOT) from Node's own writes, or as a
// tool's failure whose stderr says so (zstd "Write error : cannot write block : No space left on
// device", mksquashfs "Write failed because No space left on device", xz, lz4). Before, users saw
// "zstd ... was killed by SIGPIPE" or a stack trace; now: which disk (the mount point, from
// /proc/self/mountinfo, see proc(5)), what was being written, how much it needed and how much
// is free.
import { readFileSync } from 'node:fs';
import { realpath, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RambootError } from '../errors.js';

/** Sizes as people read them, in binary units (what du -h uses). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** realpath of `path`, or of its nearest existing ancestor joined with the rest. */
export async function realpathOfNearest(path: string): Promise<string> {
  const abs = resolve(path);
  const real = await realpath(abs).catch(() => null);
  if (real) return real;
  const parent = dirname(abs);
  return parent === abs ? abs : join(await realpathOfNearest(parent), basename(abs));
}

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export interface MountInfo {
  mountPoint: string;
  fsType: string;
}

/** The mount a path is on; `/` when mountinfo cannot be read (not Linux, no /proc). */
export async function mountOf(path: string): Promise<MountInfo> {
  const real = await realpathOfNearest(path);
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return { mountPoint: '/', fsType: 'unknown' };
  }
  let best: MountInfo = { mountPoint: '/', fsType: 'unknown' };
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 5 || dash < 0) continue;
    const mountPoint = unescapeMountinfo(fields[4]!);
    const inside = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
    // Later lines are mounted over earlier ones at the same point, so >= keeps the top one.
    if (inside && mountPoint.length >= best.mountPoint.length) best = { mountPoint, fsType: fields[dash + 1] ?? 'unknown' };
  }
  return best;
}

/** Bytes an unprivileged writer may still use on the filesystem holding `path`. */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const st = await statfs(dir).catch(() => undefined);
    if (st) return st.bavail * st.bsize;
    if (dirname(dir) === dir) return undefined;
  }
}

const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded/;

/** Bytes a writer knew it needed when the disk filled (a sink that kept counting), if any. */
export function neededBytesOf(error: unknown): number | undefined {
  if (error instanceof NoSpaceError) return error.needed;
  const needed = (error as { neededBytes?: unknown } | undefined)?.neededBytes;
  return typeof needed === 'number' ? needed : undefined;
}

/** ENOSPC/EDQUOT anywhere in the error or its causes, or a tool that said so on stderr. */
export function isNoSpace(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e !== null && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof NoSpaceError) return true;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    const stderr = (e as { stderr?: unknown }).stderr;
    if (typeof stderr === 'string' && NO_SPACE_TEXT.test(stderr)) return true;
  }
  return false;
}

export class NoSpaceError extends RambootError {
  constructor(
    readonly mountPoint: string,
    readonly label: string,
    readonly needed: number,
    readonly free: number | undefined,
    flag: string,
  ) {
    const freeText = free === undefined ? 'free space unknown' : `${formatBytes(free)} free`;
    // A writer that stops at the first failed write knows only that it needed more than was free.
    const neededText = free !== undefined && needed <= free ? `more than ${formatBytes(needed)}` : `at least ${formatBytes(needed)}`;
    super('io', `no space left on ${mountPoint} writing ${label} (needed ${neededText}, ${freeText})`, `free space or choose another ${flag}`);
  }
}

/** Measure the disk holding `dir` now (after the caller removed its temp files). */
export async function noSpaceError(dir: string, label: string, needed: number, flag: string): Promise<NoSpaceError> {
  const mount = await mountOf(dir);
  return new NoSpaceError(mount.mountPoint, label, needed, await freeBytes(dir), flag);
}
