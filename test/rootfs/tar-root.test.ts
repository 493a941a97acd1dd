// --root as a tarball: a GNU tar archive of a tree with every kind of entry (setuid, hard link,
// symlink, fifo, char device, long and UTF-8 names, a file capability and a binary user xattr)
// unpacks to the same tree, xattr bytes included, from .tar, .tar.gz, .tar.zst and .tar.xz;
// hostile and truncated archives are one-line errors that leave nothing behind; and the CLI
// builds the same squashfs from the tarball as from the directory, capability included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, linkSync, chmodSync, chownSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { materializeRoot } from '../../src/rootfs/tar-root.ts';
import { TarHeaderTap } from '../../src/tar/header-tap.ts';
import { RambootError } from '../../src/errors.ts';
import { skipWithout } from '../support/require-tool.ts';

const asRoot = process.getuid?.() === 0;
const skip =
  (!asRoot && 'needs root (owners, devices, capabilities)') ||
  skipWithout('setfattr', ['--version'], 'apt-get install attr') ||
  skipWithout('getcap', ['/dev/null'], 'apt-get install libcap2-bin') ||
  false;
const LONG = `${'d'.repeat(60)}/${'n'.repeat(120)}`;

let work: string;
let tree: string;
let scratch: string; // RAMBOOT_TMPDIR: must be empty after every test
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-tar-root-'));
  scratch = join(work, 'scratch');
  mkdirSync(scratch);
  process.env.RAMBOOT_TMPDIR = scratch;
  if (!skip) tree = makeTree(join(work, 'tree'));
});
after(() => {
  delete process.env.RAMBOOT_TMPDIR;
  rmSync(work, { recursive: true, force: true });
});

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8' });
}

function makeTree(root: string): string {
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dev'));
  mkdirSync(join(root, 'sbin'));
  writeFileSync(join(root, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(root, 'bin/ping'), 'ELF-ish\n');
  chmodSync(join(root, 'bin/ping'), 0o755);
  // cap_setuid (bit 7) puts 0x80 in the value: not UTF-8 on its own, so tar-stream's decoding
  // would turn it into EF BF BD.
  sh('setcap', ['cap_setuid,cap_net_raw+ep', join(root, 'bin/ping')]);
  writeFileSync(join(root, 'bin/su'), 'su\n');
  chmodSync(join(root, 'bin/su'), 0o4755);
  writeFileSync(join(root, 'bin/data'), 'shared\n');
  sh('setfattr', ['-n', 'user.blob', '-v', '0xeb00ff0a3d80', join(root, 'bin/data')]);
  chownSync(join(root, 'bin/data'), 1234, 5678);
  linkSync(join(root, 'bin/data'), join(root, 'bin/data-link'));
  symlinkSync('../bin/su', join(root, 'sbin/su'));
  sh('mkfifo', ['-m', '640', join(root, 'dev/fifo')]);
  sh('mknod', ['-m', '660', join(root, 'dev/null2'), 'c', '1', '3']);
  mkdirSync(join(root, LONG.split('/')[0]!));
  writeFileSync(join(root, LONG), 'long\n');
  writeFileSync(join(root, 'bin/grüße ñ\\x'), 'utf8\n');
  sh('setfattr', ['-n', 'user.q', '-v', '0x00', join(root, 'bin/grüße ñ\\x')]); // quoted in setfattr's list
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const p of ['bin', 'sbin', 'dev', 'tmp', '.']) utimesSync(join(root, p), 1_700_000_000, 1_700_000_000);
  return root;
}

/** One line per path: type+mode, owner, size (files), link target, rdev, xattrs in hex, and
 * which hard-link group it is in (by first path of the inode). */
function describe(root: string): string[] {
  const out = sh('find', ['.', '-printf', '%p|%M|%U:%G|%s|%l|%T@|%i\\n'], root).trim().split('\n');
  const firstOfInode = new Map<string, string>();
  const lines = out.sort().map((line) => {
    const [p, mode, owner, size, target, mtime, ino] = line.split('|');
    const group = mode!.startsWith('-') ? (firstOfInode.get(ino!) ?? (firstOfInode.set(ino!, p!), p!)) : '';
    const st = statSync(join(root, p!), { throwIfNoEntry: false });
    const rdev = mode!.startsWith('c') || mode!.startsWith('b') ? `${Math.floor(st!.rdev / 256)}:${st!.rdev % 256}` : '';
    const xattr = mode!.startsWith('l') ? '' : sh('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', join(root, p!)]).split('\n').filter((l) => l.includes('=')).join(',');
    const sz = mode!.startsWith('d') ? '' : size;
    return [p, mode, owner, sz, target, Math.floor(Number(mtime)), rdev, group, xattr].join(' ');
  });
  return lines;
}

function tarOf(root: string, out: string, compress?: string[]): string {
  sh('tar', ['--xattrs', "--xattrs-include=*", '--numeric-owner', '-cf', out, '-C', root, '.']);
  if (compress) {
    sh(compress[0]!, [...compress.slice(1), out]);
    return `${out}${compress[0] === 'gzip' ? '.gz' : compress[0] === 'zstd' ? '.zst' : '.xz'}`;
  }
  return out;
}

function assertScratchEmpty(): void {
  assert.deepEqual(readdirSync(scratch), [], 'temp dirs left behind');
}

test('a GNU tar of every entry kind unpacks to the same tree, xattr bytes included', { skip }, async () => {
  const tar = tarOf(tree, join(work, 'plain.tar'));
  const root = await materializeRoot(tar, { progress: false });
  try {
    assert.equal(root.fromTarball, true);
    assert.deepEqual(root.warnings, []);
    const want = describe(tree);
    assert.deepEqual(describe(root.dir), want);
    // The checks the listing encodes, spelled out.
    assert.ok(want.some((l) => l.includes('./bin/ping ') && l.includes('security.capability=0x0100000280200000')));
    assert.ok(want.some((l) => l.startsWith('./bin/su -rwsr-xr-x')));
    assert.equal(statSync(join(root.dir, 'bin/data')).ino, statSync(join(root.dir, 'bin/data-link')).ino);
    assert.equal(readFileSync(join(root.dir, LONG), 'utf8'), 'long\n');
  } finally {
    await root.cleanup();
    await root.cleanup();
  }
  assertScratchEmpty();
});

for (const [name, compress] of [
  ['gzip', ['gzip', '-k']],
  ['zstd', ['zstd', '-q', '-k']],
  ['xz', ['xz', '-k']],
] as const) {
  test(`.tar.${name === 'gzip' ? 'gz' : name === 'zstd' ? 'zst' : 'xz'} unpacks the same`, { skip }, async () => {
    const tar = tarOf(tree, join(work, `c-${name}.tar`), [...compress]);
    const root = await materializeRoot(tar, { progress: false });
    try {
      assert.deepEqual(describe(root.dir), describe(tree));
    } finally {
      await root.cleanup();
    }
    assertScratchEmpty();
  });
}

test('a directory is returned as is', async () => {
  const root = await materializeRoot(work);
  assert.deepEqual({ dir: root.dir, fromTarball: root.fromTarball }, { dir: work, fromTarball: false });
  await root.cleanup();
  assert.ok(statSync(work).isDirectory());
});

/** A tarball written with tar-stream, entry by entry. */
async function craft(name: string, entries: Array<Partial<tarStream.Header> & { name: string; data?: string }>): Promise<string> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { data, ...header } of entries) pack.entry(header, data ?? '');
  pack.finalize();
  await ended;
  const path = join(work, name);
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

async function rejects(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(materializeRoot(path, { progress: false }), (err: unknown) => {
    assert.ok(err instanceof RambootError, String(err));
    assert.equal(err.code, 'input', err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  assertScratchEmpty();
}

test('hostile tarballs are one-line errors and write nothing outside', async () => {
  const outside = join(work, 'outside');
  mkdirSync(outside, { recursive: true });
  await rejects(await craft('dotdot.tar', [{ name: 'ok', data: 'x' }, { name: '../x', data: 'evil' }]), /^E-PATH-TRAVERSAL: dotdot\.tar: entry '\.\.\/x' at byte 1024 has a '\.\.' component$/);
  await rejects(
    await craft('symlink-parent.tar', [
      { name: 'esc', type: 'symlink', linkname: outside },
      { name: 'esc/pwned', data: 'evil' },
    ]),
    /^E-PATH-SYMLINK: symlink-parent\.tar: entry 'esc\/pwned' at byte 512: its parent 'esc' is a symlink/,
  );
  await rejects(
    await craft('hardlink-dotdot.tar', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }]),
    /^E-PATH-TRAVERSAL: hardlink-dotdot\.tar: entry 'h' at byte 0: its hard link target '\.\.\/\.\.\/etc\/passwd' has a '\.\.' component$/,
  );
  await rejects(
    await craft('hardlink-abs.tar', [{ name: 'h', type: 'link', linkname: '/etc/passwd' }]),
    /^E-CORRUPT: hardlink-abs\.tar: entry 'h' at byte 0 is a hard link to '\/etc\/passwd', which is not an earlier file of the archive$/,
  );
  await rejects(
    await craft('hardlink-via-symlink.tar', [
      { name: 'esc', type: 'symlink', linkname: '/etc' },
      { name: 'h', type: 'link', linkname: 'esc/passwd' },
    ]),
    /^E-CORRUPT: .*hard link to 'esc\/passwd', which is not an earlier file/,
  );
  assert.deepEqual(readdirSync(outside), []);
});

test('an absolute path is stripped, as tar does, with one warning', async () => {
  const path = await craft('abs.tar', [{ name: '/abs/x', data: 'in' }, { name: '/abs/y', data: 'in' }]);
  const root = await materializeRoot(path, { progress: false });
  try {
    assert.equal(readFileSync(join(root.dir, 'abs/x'), 'utf8'), 'in');
    assert.equal(root.warnings.filter((w) => w.startsWith('W-ABSOLUTE-PATH: abs.tar:')).length, 1);
    assert.equal((statSync(root.dir).mode & 0o7777).toString(8), '755');
  } finally {
    await root.cleanup();
  }
  assertScratchEmpty();
});

test('truncated and corrupt tarballs are errors and leave no temp dir', async () => {
  const big = 'z'.repeat(5000);
  const path = await craft('whole.tar', [{ name: 'a', data: big }, { name: 'b', data: big }]);
  const bytes = readFileSync(path);
  writeFileSync(join(work, 'cut.tar'), bytes.subarray(0, 3000));
  await rejects(join(work, 'cut.tar'), /^E-TRUNCATED: cut\.tar: the tar archive ends in the middle of an entry \(after entry 'a'\)$/);
  // Cut exactly after an entry: no end-of-archive blocks.
  writeFileSync(join(work, 'cut-block.tar'), bytes.subarray(0, 512 + 5120));
  await rejects(join(work, 'cut-block.tar'), /^E-TRUNCATED: cut-block\.tar: the tar archive ends without its end-of-archive block, after 'a'$/);
  const corrupt = Buffer.from(bytes);
  corrupt[512 + 5120 + 10] = corrupt[512 + 5120 + 10]! ^ 0xff; // b's header
  writeFileSync(join(work, 'corrupt.tar'), corrupt);
  await rejects(join(work, 'corrupt.tar'), /^E-CORRUPT: corrupt\.tar: corrupt tar header \(after entry 'a'\)$/);
  execFileSync('zstd', ['-q', '-f', path, '-o', join(work, 'whole.tar.zst')]);
  const zst = readFileSync(join(work, 'whole.tar.zst'));
  writeFileSync(join(work, 'cut.tar.zst'), zst.subarray(0, zst.length - 8));
  await rejects(join(work, 'cut.tar.zst'), /^E-(CORRUPT|TRUNCATED): cut\.tar\.zst/);
  writeFileSync(join(work, 'notatar'), 'hello world\n'.repeat(100));
  await assert.rejects(materializeRoot(join(work, 'notatar')), /is neither a directory nor a tarball/);
  assertScratchEmpty();
});

test('ramboot rootfs --root X.tar.zst gives the squashfs of the directory, capability included', { skip: skip || skipWithout('mksquashfs', ['-version'], 'apt-get install squashfs-tools') }, () => {
  const tar = tarOf(tree, join(work, 'cli.tar'), ['zstd', '-q', '-k']);
  const cli = (root: string, out: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'rootfs', '--root', root, '-o', out], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  const fromTar = join(work, 'tar.squashfs');
  const fromDir = join(work, 'dir.squashfs');
  cli(tar, fromTar);
  cli(tree, fromDir);
  const list = (img: string) => sh('unsquashfs', ['-lln', '-d', '', img]).split('\n').filter((l) => !l.startsWith('Parallel') && l.trim() !== '');
  assert.deepEqual(list(fromTar), list(fromDir));
  const out = join(work, 'unsquashed');
  sh('unsquashfs', ['-q', '-n', '-d', out, fromTar]);
  const getfattr = (p: string) => sh('getfattr', ['-d', '-m', '-', '-e', 'hex', '--absolute-names', p]).split('\n').filter((l) => l.includes('='));
  assert.deepEqual(getfattr(join(out, 'bin/ping')), getfattr(join(tree, 'bin/ping')));
  assert.deepEqual(getfattr(join(out, 'bin/data')), ['user.blob=0xeb00ff0a3d80']);
  assert.match(sh('getcap', [join(out, 'bin/ping')]), /cap_setuid,cap_net_raw=ep/);
  assertScratchEmpty();
});

test('an error early in a big compressed stream stops the feed (no hang) and cleans up', async () => {
  const big = 'b'.repeat(8 << 20);
  const path = await craft('early.tar', [{ name: '../x', data: 'evil' }, { name: 'big', data: big }, { name: 'big2', data: big }]);
  await rejects(path, /^E-PATH-TRAVERSAL: early\.tar:/);
  execFileSync('zstd', ['-q', '-f', path, '-o', `${path}.zst`]);
  await rejects(`${path}.zst`, /^E-PATH-TRAVERSAL: early\.tar\.zst \(zstd; offsets in its tar data\): entry '\.\.\/x' at byte 0/);
  execFileSync('sh', ['-c', `head -c 100000 /dev/urandom | gzip > '${join(work, 'noise.tar.gz')}'`]);
  await rejects(join(work, 'noise.tar.gz'), /^E-CORRUPT: noise\.tar\.gz \(gzip; offsets in its tar data\): not a tar archive \(no valid header\) \(before the first entry\)$/);
});

test('a hard link to a symlink becomes a copy of it; to a file, the same inode', async () => {
  const path = await craft('linkcopy.tar', [
    { name: 's', type: 'symlink', linkname: 'target' },
    { name: 's2', type: 'link', linkname: 's' },
    { name: 'f', data: 'x' },
    { name: 'f2', type: 'link', linkname: './f' },
  ]);
  const root = await materializeRoot(path, { progress: false });
  try {
    assert.equal(sh('readlink', [join(root.dir, 's2')]).trim(), 'target');
    assert.equal(statSync(join(root.dir, 'f')).ino, statSync(join(root.dir, 'f2')).ino);
  } finally {
    await root.cleanup();
  }
});

test('the pax tap reads binary xattr records the same at any chunking', { skip }, () => {
  const tar = readFileSync(tarOf(tree, join(work, 'tap.tar')));
  const read = (step: number) => {
    const tap = new TarHeaderTap();
    for (let i = 0; i < tar.length; i += step) tap.push(tar.subarray(i, i + step));
    assert.equal(tap.error, undefined);
    assert.ok(tap.endSeen);
    const found: string[] = [];
    for (let off = 512; off < tar.length; off += 512) {
      const e = tap.take(off);
      for (const [k, v] of e?.records ?? []) if (k.startsWith('SCHILY.xattr.')) found.push(`${k}=${v.toString('hex')}`);
    }
    return found.sort();
  };
  const whole = read(tar.length);
  assert.ok(whole.includes('SCHILY.xattr.security.capability=0100000280200000000000000000000000000000'), whole.join());
  assert.ok(whole.includes('SCHILY.xattr.user.blob=eb00ff0a3d80'), whole.join());
  assert.deepEqual(read(1), whole);
  assert.deepEqual(read(511), whole);
  assert.deepEqual(read(4099), whole);
});
