// Archives that ramboot, GNU cpio and the initrd builder write come back out as the same tree:
// contents, modes, owners, symlinks, hard links, device numbers and mtimes; and `ls` agrees
// with GNU cpio -tv segment by segment.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, lutimesSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNewc } from '../../src/cpio/newc-writer.ts';
import type { CpioEntry } from '../../src/cpio/entry.ts';
import { extractImage } from '../../src/extract/extract-image.ts';
import { listImage } from '../../src/extract/list-image.ts';
import { renderPermissions } from '../../src/extract/list-image.ts';
import { SHIPPED_HOOK_BUILTIN, SHIPPED_HOOK_MODULES, makeFakeRoot } from '../initrd/fake-root.ts';
import { arena, compress, snapshot, type Snap } from './helpers.ts';

const AS_ROOT = process.getuid?.() === 0;
const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function place() {
  const a = arena();
  cleanup.push(a.base);
  return a;
}

const big = randomBytes(3 * 1024 * 1024 + 5);
const ENTRIES: CpioEntry[] = [
  { path: '.', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1600000000 },
  { path: 'bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1600000001 },
  { path: 'bin/busybox', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1600000002, data: big },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1600000003, linkTarget: 'busybox' },
  { path: 'etc', type: 'dir', mode: 0o750, uid: 1000, gid: 1000, mtime: 1600000004 },
  { path: 'etc/empty', type: 'file', mode: 0o600, uid: 1000, gid: 100, mtime: 1600000005, data: Buffer.alloc(0) },
  { path: 'etc/ram.conf', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, data: Buffer.from('RAM_URL=http://x/\n') },
  { path: 'etc/dangling', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1600000006, linkTarget: '/nonexistent/target' },
  { path: 'ro', type: 'dir', mode: 0o555, uid: 0, gid: 0, mtime: 1600000007 },
  { path: 'ro/inside', type: 'file', mode: 0o444, uid: 0, gid: 0, mtime: 1600000008, data: Buffer.from('read-only dir, written anyway\n') },
  { path: 'ro/sub', type: 'dir', mode: 0o500, uid: 0, gid: 0, mtime: 1600000009 },
  { path: 'ro/sub/deep', type: 'file', mode: 0o640, uid: 0, gid: 0, mtime: 1600000010, data: Buffer.from('deep') },
  { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: 1600000011 },
  { path: 'run/fifo', type: 'fifo', mode: 0o620, uid: 0, gid: 0, mtime: 1600000012 },
  { path: 'ünïcødé name', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1600000013, data: Buffer.from('utf8\n') },
  { path: 'dev', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1600000014 },
  { path: 'dev/console', type: 'chardev', mode: 0o600, uid: 0, gid: 5, mtime: 1600000015, rdevMajor: 5, rdevMinor: 1 },
  { path: 'dev/sda', type: 'blockdev', mode: 0o660, uid: 0, gid: 6, mtime: 1600000016, rdevMajor: 8, rdevMinor: 0 },
  { path: 'sbin/mount.helper', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 1600000017, data: Buffer.from('#!/bin/sh\n') },
];

/** What the tree must look like after extracting ENTRIES. */
function expected(opts: { devices: boolean; setuid: boolean; owners: boolean }): Map<string, Partial<Snap>> {
  const want = new Map<string, Partial<Snap>>();
  for (const e of ENTRIES) {
    if ((e.type === 'chardev' || e.type === 'blockdev') && !opts.devices) continue;
    const rel = e.path === '.' ? '' : e.path;
    const s: Partial<Snap> = { type: e.type, mtime: e.mtime, mode: opts.setuid ? e.mode : e.mode & ~0o6000 };
    if (opts.owners) Object.assign(s, { uid: e.uid, gid: e.gid });
    if (e.data) Object.assign(s, { size: e.data.length });
    if (e.type === 'symlink') {
      s.linkTarget = e.linkTarget;
      delete s.mode;
    }
    if (e.rdevMajor !== undefined) s.rdev = e.rdevMajor * 256 + e.rdevMinor!;
    want.set(rel, s);
  }
  // run/ and sbin/ are implied by their entries: made 0755.
  for (const implied of ['run', 'sbin']) want.set(implied, { type: 'dir', mode: 0o755 });
  return want;
}

function assertTree(dir: string, want: Map<string, Partial<Snap>>) {
  const got = snapshot(dir);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [path, w] of want) {
    if (path === '') continue; // the target keeps its own mode and times: bytes.test.ts
    const g = got.get(path)!;
    const picked = Object.fromEntries(Object.keys(w).map((k) => [k, g[k as keyof Snap]]));
    assert.deepEqual(picked, w, `entry '${path}'`);
  }
  assert.equal(got.get('bin/busybox')!.sha256, snapshot(dir).get('bin/busybox')!.sha256);
  assert.ok(readFileSync(join(dir, 'bin/busybox')).equals(big), 'a 3 MiB file comes back byte for byte');
}

for (const codec of ['none', 'zstd'] as const) {
  test(`our writer's archive (${codec}) extracts to the same tree, as root with --devices --keep-setuid`, { skip: !AS_ROOT && 'needs root' }, async () => {
    const a = place();
    const raw = encodeNewc(ENTRIES);
    const image = join(a.inputs, 'x.img');
    writeFileSync(image, codec === 'none' ? raw : compress(raw, codec));
    const result = await extractImage({ image, dir: a.target, devices: true, keepSetuid: true });
    assert.deepEqual(result.warnings, []);
    assertTree(a.target, expected({ devices: true, setuid: true, owners: true }));
    rmSync(image);
    a.checkOutside();
  });
}

test('without root: no devices, no setuid, no chown, each with its warning code', async () => {
  const a = place();
  const image = join(a.inputs, 'x.img');
  writeFileSync(image, encodeNewc(ENTRIES));
  const result = await extractImage({ image, dir: a.target, asRoot: false, devices: true, keepSetuid: true });
  assert.deepEqual(
    result.warnings.map((w) => w.code),
    ['W-DEVICE-SKIPPED', 'W-DEVICE-SKIPPED', 'W-SETUID-DROPPED'],
  );
  assert.match(result.warnings[0]!.message, /entry 'dev\/console' at byte \d+ is a character device 5:1, not created \(only root can create device nodes\)/);
  assert.match(result.warnings[2]!.message, /entry 'sbin\/mount.helper' .*setuid bit dropped, mode 04755 -> 0755/);
  const want = expected({ devices: false, setuid: false, owners: false });
  assertTree(a.target, want);
  const me = process.getuid?.() ?? 0;
  assert.equal(lstatSync(join(a.target, 'etc/empty')).uid, me, 'owners are not restored without root');
  rmSync(image);
  a.checkOutside();
});

test('as root without --devices/--keep-setuid the same warnings say which flag to give', { skip: !AS_ROOT && 'needs root' }, async () => {
  const a = place();
  const image = join(a.inputs, 'x.img');
  writeFileSync(image, encodeNewc(ENTRIES));
  const result = await extractImage({ image, dir: a.target });
  assert.deepEqual(result.warnings.map((w) => w.code), ['W-DEVICE-SKIPPED', 'W-DEVICE-SKIPPED', 'W-SETUID-DROPPED']);
  assert.match(result.warnings[1]!.message, /block device 8:0, not created \(give --devices to create it\)/);
  assert.match(result.warnings[2]!.message, /give --keep-setuid to keep it/);
  assertTree(a.target, expected({ devices: false, setuid: false, owners: true }));
  await assert.rejects(extractImage({ image, dir: join(a.inputs, 'strict'), strict: true }), /^RambootError: W-DEVICE-SKIPPED: /);
  rmSync(image);
  rmSync(join(a.inputs, 'strict'), { recursive: true });
  a.checkOutside();
});

test('a GNU cpio -o -H newc archive of a real tree (hard links included) extracts to the same tree', async () => {
  const a = place();
  const src = join(a.inputs, 'src');
  mkdirSync(join(src, 'usr/lib'), { recursive: true });
  writeFileSync(join(src, 'usr/lib/libx.so.1'), randomBytes(70000));
  symlinkSync('libx.so.1', join(src, 'usr/lib/libx.so'));
  writeFileSync(join(src, 'hard1'), 'shared inode\n');
  linkSync(join(src, 'hard1'), join(src, 'usr/hard2'));
  linkSync(join(src, 'hard1'), join(src, 'hard3'));
  writeFileSync(join(src, 'exec'), '#!/bin/sh\n');
  chmodSync(join(src, 'exec'), 0o700);
  mkdirSync(join(src, 'locked'));
  writeFileSync(join(src, 'locked/f'), 'x');
  chmodSync(join(src, 'locked'), 0o500);
  for (const [p, t] of [['usr/lib/libx.so.1', 1500000000], ['exec', 1500000001], ['hard1', 1500000002], ['locked/f', 1], ['locked', 1500000003], ['usr/lib', 1500000004], ['usr', 1500000005], ['', 1500000006]] as const) {
    utimesSync(join(src, p), t, t);
  }
  lutimesSync(join(src, 'usr/lib/libx.so'), 1500000009, 1500000009);
  const archive = execFileSync('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet'], { cwd: src });
  const image = join(a.inputs, 'gnu.img');
  writeFileSync(image, compress(archive, 'gzip'));
  await extractImage({ image, dir: a.target });
  const want = snapshot(src, true);
  const got = snapshot(a.target, true);
  // The target directory itself keeps its own mode and times, whatever the '.' entry says.
  const strip = (m: Map<string, Snap>) => new Map([...m].filter(([k]) => k !== '').map(([k, v]) => [k, { ...v, ino: undefined }]));
  assert.deepEqual(strip(got), strip(want));
  const ino = (p: string) => got.get(p)!.ino;
  assert.equal(ino('hard1'), ino('usr/hard2'), 'hard links share an inode');
  assert.equal(ino('hard1'), ino('hard3'));
  assert.notEqual(ino('hard1'), ino('exec'));
  chmodSync(join(src, 'locked'), 0o700);
  rmSync(src, { recursive: true });
  rmSync(image);
  a.checkOutside();
});

/** `cpio -tv -n` lines -> comparable records. */
function gnuList(archive: Buffer): Array<[string, number, number, string, string, string | undefined]> {
  const out = execFileSync('cpio', ['-tv', '-n', '--quiet'], { input: archive, env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } }).toString();
  return out.trimEnd().split('\n').map((line) => {
    const m = /^(\S{10})\s+\d+\s+(\d+)\s+(\d+)\s+(\d+,\s+\d+|\d+)\s+\w{3}\s+\d+\s+[\d:]+\s(.*)$/.exec(line);
    assert.ok(m, `cpio -tv line: ${line}`);
    const [name, target] = m[1]!.startsWith('l') ? m[5]!.split(' -> ') : [m[5]!, undefined];
    return [m[1]!, Number(m[2]), Number(m[3]), m[4]!.replace(/\s+/g, ''), name!, target];
  });
}

test('ls lists what GNU cpio -tv lists, segment by segment, on a real ramboot initrd with an early cpio', async () => {
  const a = place();
  // A fake kernel root (test/initrd/fake-root.ts) is enough for `ramboot initrd`: the image is
  // a real ramboot initrd (busybox, /init, modules, ram.conf), built here so CI runs this test.
  const root = join(a.inputs, 'root');
  makeFakeRoot(root, SHIPPED_HOOK_MODULES, SHIPPED_HOOK_BUILTIN);
  const main = join(a.inputs, 'main.img');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', main], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const early = encodeNewc([
    { path: 'kernel', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    { path: 'kernel/x86', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    { path: 'kernel/x86/microcode', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    { path: 'kernel/x86/microcode/GenuineIntel.bin', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, data: randomBytes(5000) },
  ]);
  const image = join(a.inputs, 'initrd.img');
  writeFileSync(image, Buffer.concat([early, Buffer.alloc(512 - (early.length % 512)), readFileSync(main)]));
  const listing = await listImage({ image });
  assert.equal(listing.kind, 'initrd');
  if (listing.kind !== 'initrd') return;
  assert.deepEqual(listing.segments.map((s) => [s.compression, s.entries]).slice(0, 1), [['none', 4]]);
  assert.equal(listing.segments[1]!.compression, 'zstd');
  assert.equal(listing.segments[1]!.offset, early.length + 512 - (early.length % 512));
  const file = readFileSync(image);
  const entries = listing.entries;
  for (const seg of listing.segments) {
    const bytes = file.subarray(seg.offset, seg.offset + seg.compressedSize);
    const archive = seg.compression === 'none' ? bytes : execFileSync('zstd', ['-dc'], { input: bytes, maxBuffer: 1 << 30 });
    const ours = entries
      .filter((e) => e.segment === seg.index)
      .map((e) => [renderPermissions(e.type, e.mode), e.uid, e.gid, e.rdevMajor !== undefined ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size), e.path, e.linkTarget]);
    assert.deepEqual(ours, gnuList(archive), `segment ${seg.index}`);
  }
  // And the extracted tree is the one GNU cpio extracts.
  await extractImage({ image, dir: a.target, devices: AS_ROOT, keepSetuid: AS_ROOT });
  const gnu = join(a.inputs, 'gnu');
  mkdirSync(gnu);
  writeFileSync(join(a.inputs, 'early.cpio'), early);
  execFileSync('sh', ['-c', 'cpio -idm --quiet < "$1" && zstd -dc "$2" | cpio -idm --quiet', 'sh', join(a.inputs, 'early.cpio'), main], { cwd: gnu });
  const ourTree = snapshot(a.target);
  const gnuTree = snapshot(gnu);
  assert.ok(ourTree.has('kernel/x86/microcode/GenuineIntel.bin'));
  for (const m of [ourTree, gnuTree]) m.delete(''); // the target directories themselves
  if (!AS_ROOT) for (const m of [ourTree, gnuTree]) for (const [k, v] of m) if (v.type === 'chardev') m.delete(k);
  // GNU cpio restores neither symlink mtimes nor those of directories it adds children to
  // afterwards; ours are the archive's (0 here, SOURCE_DATE_EPOCH unset).
  for (const v of ourTree.values()) assert.equal(v.mtime, 0);
  for (const m of [ourTree, gnuTree]) for (const v of m.values()) if (v.type === 'symlink' || v.type === 'dir') v.mtime = 0;
  assert.deepEqual(ourTree, gnuTree);
  rmSync(gnu, { recursive: true });
  for (const f of ['main.img', 'initrd.img', 'early.cpio']) rmSync(join(a.inputs, f));
  rmSync(root, { recursive: true });
  a.checkOutside();
});
