// squashfs images: the 96-byte superblock read here (layout: linux fs/squashfs/squashfs_fs.h,
// struct squashfs_super_block, little-endian), entries listed through unsquashfs, and
// extraction (squashfs-extract.ts) through unsquashfs.
// unsquashfs (4.5.1 or later, which fixed the '..' and symlink escapes CVE-2021-40153 and
// CVE-2021-41072) writes the tree; ramboot keeps the same rules as for initrds around it:
// devices are removed unless root with --devices, setuid/setgid bits dropped unless root with
// --keep-setuid, each with its warning code (extractSquashfs says how).
import { RambootError } from '../errors.js';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { escapeName, isUtf8Name } from '../unpack/display-name.js';
import { ExtractError } from '../unpack/problems.js';
import { toolFailure } from '../util/run-tool.js';
import { openImageFile, readImageAt } from './open-image.js';

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
  const { handle, size } = await openImageFile(path);
  try {
    const buf = Buffer.alloc(96);
    const bytesRead = await readImageAt(handle, path, buf, 96, 0);
    return parseSquashfsSuperblock(buf.subarray(0, bytesRead), size);
  } finally {
    await handle.close();
  }
}

export interface SquashfsEntry {
  /** The name as unsquashfs prints it: UTF-8 text, or escaped when the bytes are not UTF-8. */
  path: string;
  pathBytes: Buffer;
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';
  /** Permission bits, as in a cpio entry. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** "YYYY-MM-DD HH:MM" UTC: unsquashfs lists minutes only. */
  mtime: string;
  linkTarget?: string;
  linkTargetBytes?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

const TYPE_CHARS: Record<string, SquashfsEntry['type']> = { '-': 'file', d: 'dir', l: 'symlink', c: 'chardev', b: 'blockdev', p: 'fifo', s: 'socket' };
// "drwxr-xr-x 0/0   38 2024-01-01 00:00 squashfs-root/dir" ; devices show "1,  3" as the size.
const LINE = /^([-dlcbps])([-rwxsStT]{9}) (\d+)\/(\d+) +(?:(\d+)|(\d+), +(\d+)) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(\/.*)?$/s;

/**
 * Entries from `unsquashfs -lln -UTC`, streamed line by line (bytes kept: lines are read as
 * latin1). Its output is text: a name containing a newline, or a symlink name containing
 * ' -> ', cannot be told apart and is listed as unsquashfs prints it. Only listing trusts this
 * text; extraction decides from the inodes (extractSquashfs).
 */
export async function visitSquashfsEntries(path: string, visit: (entry: SquashfsEntry) => void | Promise<void>): Promise<void> {
  const child = execa('unsquashfs', ['-lln', '-UTC', '-n', path], { env: { TZ: 'UTC' }, buffer: false, stdout: 'pipe', stderr: 'pipe', reject: false });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  let failure: unknown;
  try {
    const lines = createInterface({ input: child.stdout!.setEncoding('latin1'), crlfDelay: Infinity });
    for await (const line of lines) {
      const entry = parseListLine(line);
      if (entry) await visit(entry);
    }
  } catch (err) {
    failure = err;
    child.kill();
  }
  const result = await child;
  if (failure !== undefined) throw failure;
  if ((result as { code?: string }).code === 'ENOENT' || result.failed) {
    const err = toolFailure('unsquashfs', ['-lln', '-UTC', '-n', path], result);
    throw corruptUnlessMissing(err, `unsquashfs cannot list ${path}${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`);
  }
}

export async function listSquashfs(path: string): Promise<SquashfsEntry[]> {
  const entries: SquashfsEntry[] = [];
  await visitSquashfsEntries(path, (e) => {
    entries.push(e);
  });
  return entries;
}

function parseListLine(line: string): SquashfsEntry | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
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
  const pathBytes = Buffer.from(name, 'latin1');
  const targetBytes = linkTarget !== undefined ? Buffer.from(linkTarget, 'latin1') : undefined;
  return {
    path: shown(pathBytes),
    pathBytes,
    type,
    mode: parsePermissions(m[2]!),
    uid: Number(m[3]),
    gid: Number(m[4]),
    size: m[5] !== undefined ? Number(m[5]) : 0,
    mtime: m[8]!,
    ...(targetBytes ? { linkTarget: shown(targetBytes), linkTargetBytes: targetBytes } : {}),
    ...(m[6] !== undefined ? { rdevMajor: Number(m[6]), rdevMinor: Number(m[7]) } : {}),
  };
}

function shown(bytes: Buffer): string {
  return isUtf8Name(bytes) ? bytes.toString('utf8') : escapeName(bytes);
}

/** "rwsr-xr-x" -> 0o4755. */
/** A missing unsquashfs stays a tool error (with its install hint); a failing one means a bad image. */
export function corruptUnlessMissing(err: unknown, what: string): unknown {
  if (!(err instanceof RambootError) || (err.cause as { code?: string } | undefined)?.code === 'ENOENT') return err;
  return new ExtractError('E-CORRUPT', `${what}: ${err.message}`, undefined, { cause: err });
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

