// Shared by the extraction tests: raw newc bytes (including what our writer refuses to write,
// such as '..' names), compression with the system tools, tree snapshots, and a target
// directory with a sentinel beside it to prove nothing was written outside.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAGIC_CRC, MAGIC_NEWC, pad4, renderHeader, type HeaderFields } from '../../src/cpio/newc-format.ts';

export interface RawEntry {
  name: string;
  /** Full st_mode, type bits included. */
  mode: number;
  data?: Buffer | string;
  /** Declared size when it differs from the data (hostile archives). */
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  nlink?: number;
  ino?: number;
  rmaj?: number;
  rmin?: number;
  /** Write a 070702 header with this checksum. */
  chksum?: number;
}

export const S = { file: 0o100000, dir: 0o040000, symlink: 0o120000, chr: 0o020000, blk: 0o060000, fifo: 0o010000, sock: 0o140000 };

/** newc bytes for entries exactly as given, then a TRAILER!!!. */
export function rawCpio(entries: RawEntry[], trailer = true): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const name = Buffer.from(e.name);
    const fields: HeaderFields = {
      c_ino: e.ino ?? ino++,
      c_mode: e.mode,
      c_uid: e.uid ?? 0,
      c_gid: e.gid ?? 0,
      c_nlink: e.nlink ?? 1,
      c_mtime: e.mtime ?? 1700000000,
      c_filesize: e.size ?? data.length,
      c_maj: 0,
      c_min: 0,
      c_rmaj: e.rmaj ?? 0,
      c_rmin: e.rmin ?? 0,
      c_namesize: name.length + 1,
      c_chksum: e.chksum ?? 0,
    };
    parts.push(renderHeader(e.chksum === undefined ? MAGIC_NEWC : MAGIC_CRC, fields, name), data, Buffer.alloc(pad4(data.length)));
  }
  if (trailer) parts.push(renderHeader(MAGIC_NEWC, { ...zeroFields(), c_nlink: 1, c_namesize: 11 }, Buffer.from('TRAILER!!!')));
  return Buffer.concat(parts);
}

function zeroFields(): HeaderFields {
  return { c_ino: 0, c_mode: 0, c_uid: 0, c_gid: 0, c_nlink: 0, c_mtime: 0, c_filesize: 0, c_maj: 0, c_min: 0, c_rmaj: 0, c_rmin: 0, c_namesize: 0, c_chksum: 0 };
}

export type Codec = 'gzip' | 'zstd' | 'xz' | 'lz4' | 'bzip2' | 'lzma';

/** Compressed the way initrd builders do it (xz with CRC32, lz4 legacy, as the kernel needs). */
export function compress(data: Buffer, codec: Codec): Buffer {
  const opts = { input: data, maxBuffer: 1 << 30 };
  switch (codec) {
    case 'gzip':
      return gzipSync(data);
    case 'zstd':
      return execFileSync('zstd', ['-q', '-c', '-3'], opts);
    case 'xz':
      return execFileSync('xz', ['-q', '-c', '--check=crc32'], opts);
    case 'lz4':
      return execFileSync('lz4', ['-q', '-c', '-l'], opts);
    case 'bzip2':
      return execFileSync('bzip2', ['-q', '-c'], opts);
    case 'lzma':
      return execFileSync('xz', ['-q', '-c', '--format=lzma'], opts);
  }
}

export interface Snap {
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
  rdev?: number;
  ino?: number;
}

/** Every path under `dir` (relative, '' for dir itself) with what it is. */
export function snapshot(dir: string, withIno = false): Map<string, Snap> {
  const out = new Map<string, Snap>();
  const walk = (rel: string) => {
    const full = rel ? join(dir, rel) : dir;
    const st = lstatSync(full);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : st.isFIFO() ? 'fifo' : 'socket';
    const snap: Snap = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (type === 'file') {
      snap.size = st.size;
      snap.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
      if (withIno) snap.ino = st.ino;
    }
    if (type === 'symlink') {
      snap.linkTarget = readlinkSync(full);
      delete (snap as Partial<Snap>).mode; // symlink modes are not settable on Linux
    }
    if (type === 'chardev' || type === 'blockdev') snap.rdev = st.rdev;
    out.set(rel, snap);
    if (type === 'dir') for (const name of readdirSync(full).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return out;
}

export interface Arena {
  base: string;
  /** Where a test puts its images: beside the target, and allowed to be there. */
  inputs: string;
  target: string;
  sentinel: string;
  /** Asserts the sentinel beside the target is as it was and nothing else appeared beside it. */
  checkOutside(): void;
}

export const OUTSIDE_ABS = '/tmp/ramboot-hostile-outside';

/** base/target (where we extract) and base/sentinel/victim (what must never change). */
export function arena(prefix = 'rb-extract-'): Arena {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const target = join(base, 'target');
  const sentinel = join(base, 'sentinel');
  const inputs = join(base, 'inputs');
  mkdirSync(sentinel);
  mkdirSync(inputs);
  writeFileSync(join(sentinel, 'victim'), 'original\n');
  const before = snapshot(sentinel);
  return {
    base,
    inputs,
    target,
    sentinel,
    checkOutside() {
      assert.deepEqual(readdirSync(base).sort(), existsSync(target) ? ['inputs', 'sentinel', 'target'] : ['inputs', 'sentinel'], 'nothing new beside the target');
      assert.deepEqual(snapshot(sentinel), before, 'the sentinel directory is untouched');
      assert.equal(existsSync(OUTSIDE_ABS), false, `${OUTSIDE_ABS} was not created`);
      if (existsSync(target)) {
        const temps = [...snapshot(target).keys()].filter((p) => /\.ramboot-.*\.tmp$/.test(p));
        assert.deepEqual(temps, [], 'no temporary files are left');
      }
    },
  };
}

/** Deterministic PRNG (mulberry32) so fuzz and chunking runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
