// squashfs images: the 96-byte superblock read here (layout: linux fs/squashfs/squashfs_fs.h,
// struct squashfs_super_block, little-endian), entries and extraction through unsquashfs.
// unsquashfs (4.5.1 or later, which fixed the '..' and symlink escapes CVE-2021-40153 and
// CVE-2021-41072) writes the tree; ramboot keeps the same rules as for initrds around it:
// devices are excluded unless root with --devices, setuid/setgid bits dropped unless root with
// --keep-setuid, each with its warning code.
import { chmod, lstat, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RambootError } from '../errors.js';
import { runTool } from '../util/run-tool.js';
import { ExtractError, type Warnings } from './problems.js';

export const SQUASHFS_MAGIC = 0x73717368; // "hsqs" read little-endian

const COMPRESSORS: Record<number, string> = { 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' };
const FLAGS: Array<[number, string]> = [
  [0x0001, 'uncompressed-inodes'],
  [0x0002, 'uncompressed-data'],
  [0x0008, 'uncompressed-fragments'],
  [0x0010, 'no-fragments'],
  [0x0020, 'always-fragments'],
  [0x0040, 'duplicates-removed'],
  [0x0080, 'exportable'],
  [0x0100, 'uncompressed-xattrs'],
  [0x0200, 'no-xattrs'],
  [0x0400, 'compressor-options'],
  [0x0800, 'uncompressed-ids'],
];

export interface SquashfsSuperblock {
  version: string;
  compression: string;
  blockSize: number;
  inodeCount: number;
  fragmentCount: number;
  idCount: number;
  bytesUsed: number;
  /** mkfs time, seconds since the epoch. */
  mkfsTime: number;
  flags: string[];
}

export function parseSquashfsSuperblock(sb: Buffer, fileSize: number): SquashfsSuperblock {
  const bad = (what: string) => new ExtractError('E-CORRUPT', `bad squashfs superblock: ${what}`, 'the image is corrupt or not squashfs 4.0');
  if (sb.length < 96) throw bad(`the file is ${sb.length} bytes, shorter than the 96-byte superblock`);
  if (sb.readUInt32LE(0) !== SQUASHFS_MAGIC) throw bad('no "hsqs" magic');
  const major = sb.readUInt16LE(28);
  const minor = sb.readUInt16LE(30);
  if (major !== 4) throw bad(`version ${major}.${minor}; only 4.0 (Linux 2.6.29 and later) is read`);
  const blockSize = sb.readUInt32LE(12);
  const blockLog = sb.readUInt16LE(22);
  if (blockSize < 4096 || blockSize > 1024 * 1024 || 2 ** blockLog !== blockSize) {
    throw bad(`block size ${blockSize} with block_log ${blockLog} (a power of two from 4 KiB to 1 MiB is expected)`);
  }
  const bytesUsed = Number(sb.readBigUInt64LE(40));
  if (bytesUsed > fileSize) throw bad(`it claims ${bytesUsed} bytes, the file has ${fileSize} (truncated?)`);
  const compressionId = sb.readUInt16LE(20);
  const flagBits = sb.readUInt16LE(24);
  return {
    version: `${major}.${minor}`,
    compression: COMPRESSORS[compressionId] ?? `unknown (${compressionId})`,
    blockSize,
    inodeCount: sb.readUInt32LE(4),
    fragmentCount: sb.readUInt32LE(16),
    idCount: sb.readUInt16LE(26),
    bytesUsed,
    mkfsTime: sb.readUInt32LE(8),
    flags: FLAGS.filter(([bit]) => flagBits & bit).map(([, name]) => name),
  };
}

export async function readSquashfsSuperblock(path: string): Promise<SquashfsSuperblock> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(96);
    const { bytesRead } = await handle.read(buf, 0, 96, 0);
    return parseSquashfsSuperblock(buf.subarray(0, bytesRead), (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

export interface SquashfsEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';
  /** Permission bits, as in a cpio entry. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** "YYYY-MM-DD HH:MM" UTC: unsquashfs lists minutes only. */
  mtime: string;
  linkTarget?: string;
  rdevMajor?: number;
  rdevMinor?: number;
}

const TYPE_CHARS: Record<string, SquashfsEntry['type']> = { '-': 'file', d: 'dir', l: 'symlink', c: 'chardev', b: 'blockdev', p: 'fifo', s: 'socket' };
// "drwxr-xr-x 0/0   38 2024-01-01 00:00 squashfs-root/dir" ; devices show "1,  3" as the size.
const LINE = /^([-dlcbps])([-rwxsStT]{9}) (\d+)\/(\d+) +(?:(\d+)|(\d+), +(\d+)) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(\/.*)?$/;

/**
 * Entries from `unsquashfs -lln -UTC`. Its output is text: a name containing a newline, or a
 * symlink name containing ' -> ', cannot be told apart and is listed as unsquashfs prints it.
 */
export async function listSquashfs(path: string): Promise<SquashfsEntry[]> {
  const { stdout } = await runTool('unsquashfs', ['-lln', '-UTC', '-n', path], { env: { TZ: 'UTC' } }).catch((err: unknown) => {
    throw corruptUnlessMissing(err, `unsquashfs cannot list ${path}`);
  });
  const entries: SquashfsEntry[] = [];
  for (const line of stdout.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const type = TYPE_CHARS[m[1]!]!;
    let name = (m[9] ?? '/').slice(1) || '.';
    let linkTarget: string | undefined;
    if (type === 'symlink') {
      const arrow = name.indexOf(' -> ');
      if (arrow >= 0) {
        linkTarget = name.slice(arrow + 4);
        name = name.slice(0, arrow);
      }
    }
    entries.push({
      path: name,
      type,
      mode: parsePermissions(m[2]!),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: m[5] !== undefined ? Number(m[5]) : 0,
      mtime: m[8]!,
      ...(linkTarget !== undefined ? { linkTarget } : {}),
      ...(m[6] !== undefined ? { rdevMajor: Number(m[6]), rdevMinor: Number(m[7]) } : {}),
    });
  }
  return entries;
}

/** "rwsr-xr-x" -> 0o4755. */
/** A missing unsquashfs stays a tool error (with its install hint); a failing one means a bad image. */
function corruptUnlessMissing(err: unknown, what: string): unknown {
  if (!(err instanceof RambootError) || (err.cause as { code?: string } | undefined)?.code === 'ENOENT') return err;
  return new ExtractError('E-CORRUPT', `${what}: ${err.message}`, undefined, { cause: err });
}

function oct(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(3, '0');
}

export function parsePermissions(text: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) {
    const c = text[i]!;
    if (c !== '-' && c !== 'S' && c !== 'T') mode |= 1 << (8 - i);
  }
  if ('sS'.includes(text[2]!)) mode |= 0o4000;
  if ('sS'.includes(text[5]!)) mode |= 0o2000;
  if ('tT'.includes(text[8]!)) mode |= 0o1000;
  return mode;
}

export interface SquashfsExtractOptions {
  image: string;
  /** Real path of an empty directory. */
  dir: string;
  warnings: Warnings;
  asRoot: boolean;
  devices: boolean;
  keepSetuid: boolean;
}

export async function extractSquashfs(options: SquashfsExtractOptions): Promise<number> {
  const { image, dir, warnings, asRoot } = options;
  const sb = await readSquashfsSuperblock(image);
  if (sb.bytesUsed < 96) throw new ExtractError('E-CORRUPT', `${image}: the squashfs superblock claims only ${sb.bytesUsed} bytes`);
  const entries = await listSquashfs(image);
  const skipDevices = !(asRoot && options.devices);
  const excluded: string[] = [];
  for (const e of entries) {
    if ((e.type === 'chardev' || e.type === 'blockdev') && skipDevices) {
      warnings.warn('W-DEVICE-SKIPPED', `squashfs entry '${e.path}' is a ${e.type === 'chardev' ? 'character' : 'block'} device ${e.rdevMajor}:${e.rdevMinor}, not created (${asRoot ? 'give --devices to create it' : 'needs root and --devices'})`);
      excluded.push(e.path);
    } else if (e.type === 'socket') {
      warnings.warn('W-SOCKET-SKIPPED', `squashfs entry '${e.path}' is a socket, which cannot be recreated; skipped`);
      excluded.push(e.path);
    }
  }
  const keepSetuid = asRoot && options.keepSetuid;
  const setuid = keepSetuid ? [] : entries.filter((e) => e.type === 'file' && e.mode & 0o6000);
  for (const e of setuid) {
    warnings.warn('W-SETUID-DROPPED', `squashfs entry '${e.path}': setuid/setgid bits dropped, mode 0${oct(e.mode)} -> 0${oct(e.mode & 0o1777)} (${asRoot ? 'give --keep-setuid to keep them' : 'kept only as root with --keep-setuid'})`);
  }
  const work = await mkdtemp(join(tmpdir(), 'ramboot-unsquashfs-'));
  try {
    const args = ['-d', dir, '-f', '-n', '-q'];
    if (!asRoot) args.push('-no-xattrs');
    if (excluded.length > 0) {
      const list = join(work, 'exclude');
      await writeFile(list, excluded.map((p) => `${p}\n`).join(''));
      args.push('-no-wildcards', '-exclude-file', list);
    }
    args.push(image);
    await runTool('unsquashfs', args).catch((err: unknown) => {
      throw corruptUnlessMissing(err, `unsquashfs cannot extract ${image}`);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const e of setuid) {
    const full = join(dir, e.path);
    const st = await lstat(full).catch(() => undefined);
    if (st?.isFile()) await chmod(full, st.mode & 0o1777);
  }
  return entries.length;
}
