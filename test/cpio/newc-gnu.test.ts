// Cross-checks with GNU cpio, the reference implementation of newc: it lists and extracts what
// we write, we read what it writes (newc and crc), and for the same tree our bytes equal
// `cpio -o -H newc --reproducible` except for the documented inode base (GNU counts from 0,
// we from 1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNewc } from '../../src/cpio/newc-writer.ts';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import type { CpioEntry, CpioEntryType } from '../../src/cpio/entry.ts';

const isRoot = process.getuid?.() === 0; // mknod and chown need root; everything else runs anyway
let work: string;

function cpio(args: string[], input: Buffer | string, cwd?: string): Buffer {
  return execFileSync('cpio', ['--quiet', ...args], { input, cwd, maxBuffer: 1 << 26 });
}

// glibc's major()/minor() for a dev_t, which GNU cpio writes into the header.
const major = (dev: bigint) => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
const minor = (dev: bigint) => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));

function typeOf(st: ReturnType<typeof lstatSync>): CpioEntryType {
  if (st!.isFile()) return 'file';
  if (st!.isDirectory()) return 'dir';
  if (st!.isSymbolicLink()) return 'symlink';
  if (st!.isCharacterDevice()) return 'chardev';
  if (st!.isBlockDevice()) return 'blockdev';
  if (st!.isFIFO()) return 'fifo';
  return 'socket';
}

/** A small tree with one of everything, and its paths in archive order. */
function makeTree(root: string): string[] {
  const paths = ['.', 'bin', 'bin/busybox', 'bin/sh', 'empty', 'etc', 'etc/grüße', 'etc/grüße/ñ.txt', 'etc/secret', 'run', 'run/fifo', 'three'];
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc/grüße'), { recursive: true });
  mkdirSync(join(root, 'run'));
  writeFileSync(join(root, 'bin/busybox'), Buffer.from(Array.from({ length: 5001 }, (_, i) => (i * 7) & 0xff)));
  chmodSync(join(root, 'bin/busybox'), 0o4755);
  symlinkSync('busybox', join(root, 'bin/sh'));
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'etc/grüße/ñ.txt'), 'grüß dich\n');
  writeFileSync(join(root, 'etc/secret'), 'top');
  chmodSync(join(root, 'etc/secret'), 0);
  utimesSync(join(root, 'etc/secret'), 0, 0);
  writeFileSync(join(root, 'three'), 'abc');
  execFileSync('mkfifo', [join(root, 'run/fifo')]);
  if (isRoot) {
    chownSync(join(root, 'three'), 1000, 1001);
    execFileSync('mknod', [join(root, 'run/null'), 'c', '1', '3']);
    paths.splice(paths.indexOf('run/fifo') + 1, 0, 'run/null');
  }
  return paths;
}

/** The entry our writer gets for a path on disk, every field from lstat. */
function entryFromDisk(root: string, path: string): CpioEntry {
  const st = lstatSync(join(root, path), { bigint: true });
  const type = typeOf(lstatSync(join(root, path)));
  const entry: CpioEntry = {
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: Number(st.mtimeMs / 1000n),
    nlink: Number(st.nlink),
  };
  if (type === 'file') entry.data = readFileSync(join(root, path));
  if (type === 'symlink') entry.linkTarget = readlinkSync(join(root, path));
  if (type === 'chardev' || type === 'blockdev') Object.assign(entry, { rdevMajor: major(st.rdev), rdevMinor: minor(st.rdev) });
  return entry;
}

let root: string;
let paths: string[];
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-cpio-gnu-'));
  root = join(work, 'root');
  mkdirSync(root);
  paths = makeTree(root);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('GNU cpio lists and extracts what we write: names, bytes, modes, times, targets, devices', () => {
  const base = { uid: 0, gid: 0, mtime: 1_600_000_000 };
  const entries: CpioEntry[] = [
    { ...base, path: 'bin', type: 'dir', mode: 0o755 },
    { ...base, path: 'bin/busybox', type: 'file', mode: 0o755, data: Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 13) & 0xff)) },
    { ...base, path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: 'busybox' },
    { ...base, path: 'etc', type: 'dir', mode: 0o755 },
    { ...base, path: 'etc/grüße', type: 'dir', mode: 0o700 },
    { ...base, path: 'etc/grüße/ñ.txt', type: 'file', mode: 0o640, data: Buffer.from('grüß dich\n') },
    { path: 'etc/secret', type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, data: Buffer.from('top') },
    { ...base, path: 'etc/empty', type: 'file', mode: 0o600 },
    { ...base, path: 'etc/setuid', type: 'file', mode: 0o4711, data: Buffer.from('x') },
    { ...base, path: 'dev', type: 'dir', mode: 0o755 },
    { ...base, path: 'dev/null', type: 'chardev', mode: 0o666, rdevMajor: 1, rdevMinor: 3 },
    { ...base, path: 'dev/sda', type: 'blockdev', mode: 0o660, rdevMajor: 8, rdevMinor: 0 },
  ];
  const archive = encodeNewc(entries);
  assert.deepEqual(cpio(['-t'], archive).toString('utf8').split('\n').slice(0, -1), entries.map((e) => e.path));
  const long = cpio(['-tv'], archive).toString('utf8');
  assert.match(long, /^crw-rw-rw- +1 root +root +1, +3 .* dev\/null$/m);
  assert.match(long, /^brw-rw---- +1 root +root +8, +0 .* dev\/sda$/m);
  assert.match(long, /^---------- +1 root +root +3 Jan +1 +1970 etc\/secret$/m);
  assert.match(long, /^lrwxrwxrwx .* bin\/sh -> busybox$/m);

  const out = join(work, 'extracted');
  mkdirSync(out);
  const extractable = isRoot ? entries : entries.filter((e) => !e.path.startsWith('dev/'));
  cpio(['-idm', '--no-absolute-filenames'], encodeNewc(extractable), out);
  for (const e of extractable) {
    const st = lstatSync(join(out, e.path));
    assert.equal(typeOf(st), e.type, e.path);
    if (e.type !== 'symlink') assert.equal(st.mode & 0o7777, e.mode, `mode of ${e.path}`);
    if (e.type === 'file') {
      assert.deepEqual(readFileSync(join(out, e.path)), e.data ?? Buffer.alloc(0), `content of ${e.path}`);
      assert.equal(Math.floor(st.mtimeMs / 1000), e.mtime, `mtime of ${e.path}`);
    }
    if (e.type === 'symlink') assert.equal(readlinkSync(join(out, e.path)), e.linkTarget);
    if (e.type === 'chardev') assert.equal(st.rdev, 0x103);
  }
});

test('we read what GNU cpio -H newc writes, every header field equal to lstat', () => {
  const archive = cpio(['-o', '-H', 'newc'], paths.join('\n') + '\n', root);
  assert.equal(archive.length % 512, 0, 'GNU pads to its block size; the NULs after the trailer are skipped');
  const entries = decodeNewc(archive);
  assert.deepEqual(entries.map((e) => e.path), paths);
  for (const e of entries) {
    const st = lstatSync(join(root, e.path), { bigint: true });
    assert.equal(e.type, typeOf(lstatSync(join(root, e.path))), e.path);
    assert.equal(e.mode, Number(st.mode & 0o7777n), `mode of ${e.path}`);
    assert.deepEqual([e.uid, e.gid, e.nlink, e.mtime], [Number(st.uid), Number(st.gid), Number(st.nlink), Number(st.mtimeMs / 1000n)], e.path);
    assert.equal(e.ino, Number(st.ino & 0xffffffffn), `ino of ${e.path}`);
    assert.deepEqual([e.devMajor, e.devMinor], [major(st.dev), minor(st.dev)], `dev of ${e.path}`);
    const device = e.type === 'chardev' || e.type === 'blockdev';
    assert.deepEqual([e.rdevMajor, e.rdevMinor], device ? [major(st.rdev), minor(st.rdev)] : [0, 0], `rdev of ${e.path}`);
    if (e.type === 'file') assert.deepEqual(e.data, readFileSync(join(root, e.path)));
    if (e.type === 'symlink') assert.equal(e.linkTarget, readlinkSync(join(root, e.path)));
    assert.equal(e.size, e.data.length);
  }
  assert.equal(entries.find((e) => e.path === 'etc/secret')?.mtime, 0);
  if (isRoot) assert.deepEqual(['run/null', 'three'].map((p) => entries.find((e) => e.path === p)).map((e) => [e?.rdevMajor, e?.rdevMinor, e?.uid, e?.gid]), [[1, 3, 0, 0], [0, 0, 1000, 1001]]);
});

test('byte equality with GNU cpio -o -H newc --reproducible for the same tree (inodes from 1, not 0)', () => {
  const gnu = Buffer.from(cpio(['-o', '-H', 'newc', '--reproducible'], paths.join('\n') + '\n', root));
  const ours = encodeNewc(paths.map((p) => entryFromDisk(root, p)));
  // GNU's --renumber-inodes counts from 0; ours count from 1 (the trailer has 0 in both).
  const decoded = decodeNewc(gnu);
  assert.deepEqual(decoded.map((e) => e.ino), paths.map((_, i) => i));
  for (const e of decoded) gnu.write((e.ino + 1).toString(16).toUpperCase().padStart(8, '0'), e.offset + 6, 'latin1');
  assert.equal(ours.toString('latin1'), gnu.subarray(0, ours.length).toString('latin1'));
  assert.ok(gnu.subarray(ours.length).every((b) => b === 0), 'GNU only adds NULs up to its 512-byte block');
});

test('we read GNU cpio -H crc (070702) and verify its checksums', () => {
  const archive = Buffer.from(cpio(['-o', '-H', 'crc'], paths.join('\n') + '\n', root));
  assert.equal(archive.toString('latin1', 0, 6), '070702');
  const entries = decodeNewc(archive);
  const busybox = entries.find((e) => e.path === 'bin/busybox')!;
  assert.equal(busybox.checksum, busybox.data.reduce((s, b) => s + b, 0));
  assert.deepEqual(busybox.data, readFileSync(join(root, 'bin/busybox')));

  const dataAt = busybox.offset + Math.ceil((110 + 'bin/busybox'.length + 1) / 4) * 4;
  archive[dataAt + 4000] = archive[dataAt + 4000]! ^ 0x01;
  assert.throws(() => decodeNewc(archive), new RegExp(`^RambootError: cpio checksum mismatch in bin/busybox \\(entry at byte ${busybox.offset}\\)`));
});
