// rootfs.squashfs from small fake roots, checked with unsquashfs: excludes keep the directory
// and drop its contents, the machine identity is gone from the image but not from the tree, the
// same tree gives the same bytes, and a failed build leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildRootfs, renderMksquashfsArgs } from '../../src/rootfs/build-rootfs.ts';
import { parseExcludeList, renderExcludePatterns } from '../../src/rootfs/excludes.ts';
import { RambootError } from '../../src/errors.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('mksquashfs', ['-version'], 'apt-get install squashfs-tools');

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-rootfs-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function put(root: string, path: string, content = `${path}\n`): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

/** A tiny root with something in every place the shipped excludes and fixups care about. */
function makeFakeRoot(name: string): string {
  const root = join(work, name);
  put(root, 'sbin/init', '#!/bin/sh\n');
  chmodSync(join(root, 'sbin/init'), 0o755);
  put(root, 'proc/1/status');
  put(root, 'proc/.hidden');
  put(root, 'dev/null-ish');
  mkdirSync(join(root, 'tmp/.X11-unix'), { recursive: true });
  put(root, 'tmp/build-leftover');
  put(root, 'usr/share/doc/pkg/README');
  put(root, 'usr/share/doc/pkg/changelog.Debian.gz');
  put(root, 'usr/share/doc/pkg/copyright');
  put(root, 'usr/share/man/man1/ls.1.gz');
  put(root, 'usr/bin/hello', 'binary\n');
  put(root, 'var/log/dpkg.log');
  mkdirSync(join(root, 'var/log/nginx'), { recursive: true });
  put(root, 'var/cache/apt/pkgcache.bin');
  put(root, 'var/cache/debconf/config.dat');
  put(root, 'var/cache/debconf/config.dat-old');
  put(root, 'etc/machine-id', '0123456789abcdef0123456789abcdef\n');
  chmodSync(join(root, 'etc/machine-id'), 0o444);
  put(root, 'etc/ssh/ssh_host_ed25519_key', 'PRIVATE\n');
  put(root, 'etc/ssh/ssh_host_ed25519_key.pub', 'PUBLIC\n');
  put(root, 'etc/ssh/sshd_config');
  mkdirSync(join(root, 'var/lib/dbus'), { recursive: true });
  symlinkSync('/etc/machine-id', join(root, 'var/lib/dbus/machine-id'));
  symlinkSync('/run', join(root, 'var/run'));
  return root;
}

/** Every entry of the tree with type, mode, times and content, hashed: "unchanged" means this. */
function hashTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      hash.update(`${path}\0${st.mode}\0${st.uid}:${st.gid}\0${st.mtimeMs}\0${st.size}\0`);
      if (st.isSymbolicLink()) hash.update(readlinkSync(path));
      else if (st.isFile()) hash.update(readFileSync(path));
      else if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return hash.digest('hex');
}

/** path -> `ls -l` style line from unsquashfs, paths as inside the image ("/etc/machine-id"). */
function listImage(image: string): Map<string, string> {
  const out = execFileSync('unsquashfs', ['-lln', image], { encoding: 'utf8' });
  const entries = new Map<string, string>();
  for (const line of out.split('\n')) {
    const match = / squashfs-root(\/.*?)?(?: -> .*)?$/.exec(line);
    if (match) entries.set(match[1] ?? '/', line);
  }
  return entries;
}

test('parseExcludeList: /dir/ drops contents, /path drops the path, comments skipped', () => {
  const rules = parseExcludeList('# comment\n\n/proc/\n  /etc/ssh/ssh_host_*  \n/usr/share/man/*/\n', 'list');
  assert.deepEqual(
    rules.map((r) => [r.path, r.contentsOnly, r.source]),
    [
      ['/proc', true, 'list:3'],
      ['/etc/ssh/ssh_host_*', false, 'list:4'],
      ['/usr/share/man/*', true, 'list:5'],
    ],
  );
  assert.deepEqual(renderExcludePatterns(rules), ['proc/*', 'proc/.*', 'etc/ssh/ssh_host_*', 'usr/share/man/*/*', 'usr/share/man/*/.*']);
});

test('parseExcludeList: relative paths, / and .. are one-line errors naming file:line', () => {
  assert.throws(() => parseExcludeList('var/tmp/\n', 'x'), /x:1: exclude "var\/tmp\/" is not an absolute path/);
  assert.throws(() => parseExcludeList('\n/\n', 'x'), /x:2: .*must name a path below \//);
  assert.throws(() => parseExcludeList('/var/../etc\n', 'x'), /x:1: .*without \. or \.\./);
});

test('mksquashfs arguments: -e last, SOURCE_DATE_EPOCH or -mkfs-time 0, quiet without progress', () => {
  const base = { root: 'r', out: 'o', compression: 'zstd' as const, level: 6, blockSize: 1 << 20, excludes: ['proc/*'], pseudo: ['etc/x F 0 0444 0 0 true'] };
  const quiet = renderMksquashfsArgs({ ...base, progress: false, sourceDateEpoch: undefined });
  assert.deepEqual(quiet.slice(0, 2), ['r', 'o']);
  assert.deepEqual(quiet.slice(-3), ['-wildcards', '-e', 'proc/*']);
  for (const flag of ['-noappend', '-quiet', '-no-progress', '-exit-on-error']) assert.ok(quiet.includes(flag), flag);
  assert.equal(quiet[quiet.indexOf('-mkfs-time') + 1], '0');
  assert.equal(quiet[quiet.indexOf('-Xcompression-level') + 1], '6');
  assert.equal(quiet[quiet.indexOf('-b') + 1], '1048576');
  const loud = renderMksquashfsArgs({ ...base, progress: true, sourceDateEpoch: 1_700_000_000 });
  assert.ok(!loud.includes('-quiet') && !loud.includes('-no-progress') && !loud.includes('-mkfs-time'));
});

test('excludes keep the directories and drop their contents; copyright files stay', { skip }, async () => {
  const root = makeFakeRoot('excl');
  const out = join(work, 'excl.squashfs');
  const result = await buildRootfs({ root, out });
  const entries = listImage(out);
  for (const dir of ['/proc', '/dev', '/tmp', '/usr/share/doc', '/usr/share/doc/pkg', '/usr/share/man/man1', '/var/log', '/var/log/nginx', '/var/cache/apt']) {
    assert.match(entries.get(dir) ?? '', /^d/, `${dir} is kept as a directory`);
  }
  for (const gone of ['/proc/1', '/proc/.hidden', '/dev/null-ish', '/tmp/.X11-unix', '/tmp/build-leftover', '/usr/share/doc/pkg/README', '/usr/share/doc/pkg/changelog.Debian.gz', '/usr/share/man/man1/ls.1.gz', '/var/log/dpkg.log', '/var/cache/apt/pkgcache.bin', '/var/cache/debconf/config.dat-old']) {
    assert.ok(!entries.has(gone), `${gone} is excluded`);
  }
  for (const kept of ['/usr/share/doc/pkg/copyright', '/usr/bin/hello', '/sbin/init', '/var/cache/debconf/config.dat', '/etc/ssh/sshd_config', '/var/run']) {
    assert.ok(entries.has(kept), `${kept} is kept`);
  }
  assert.equal(result.size, lstatSync(out).size);
  assert.equal(result.sha256, createHash('sha256').update(readFileSync(out)).digest('hex'));
  assert.deepEqual(result.warnings, []);
});

test('machine-id is empty and ssh host keys are gone in the image; the source tree is unchanged', { skip }, async () => {
  const root = makeFakeRoot('ident');
  const before = hashTree(root);
  const out = join(work, 'ident.squashfs');
  const result = await buildRootfs({ root, out });
  assert.equal(hashTree(root), before, 'the source tree is unchanged');
  assert.equal(readFileSync(join(root, 'etc/machine-id'), 'utf8'), '0123456789abcdef0123456789abcdef\n');
  const entries = listImage(out);
  assert.match(entries.get('/etc/machine-id') ?? '', /^-r--r--r-- 0\/0 +0 /, 'an empty 0444 root-owned file');
  assert.equal(execFileSync('unsquashfs', ['-cat', out, 'etc/machine-id']).length, 0);
  assert.ok(!entries.has('/etc/ssh/ssh_host_ed25519_key') && !entries.has('/etc/ssh/ssh_host_ed25519_key.pub'));
  assert.ok(!entries.has('/var/lib/dbus/machine-id'));
  assert.ok(entries.has('/var/lib/dbus'));
  assert.deepEqual(result.edits, ['/etc/machine-id emptied']);
});

test('same tree gives the same bytes; SOURCE_DATE_EPOCH clamps newer times and sets the creation time', { skip }, async () => {
  const root = makeFakeRoot('repro');
  const sde = 1_700_000_000;
  const a = await buildRootfs({ root, out: join(work, 'a.squashfs'), sourceDateEpoch: sde });
  const b = await buildRootfs({ root, out: join(work, 'b.squashfs'), sourceDateEpoch: sde });
  assert.equal(a.sha256, b.sha256);
  // A copy made later (every mtime newer than the epoch) still gives the same bytes.
  const copy = join(work, 'repro-copy');
  cpSync(root, copy, { recursive: true, verbatimSymlinks: true });
  utimesSync(join(copy, 'usr/bin/hello'), new Date(), new Date());
  const c = await buildRootfs({ root: copy, out: join(work, 'c.squashfs'), sourceDateEpoch: sde });
  assert.equal(c.sha256, a.sha256);
  assert.match(execFileSync('unsquashfs', ['-s', join(work, 'a.squashfs')], { encoding: 'utf8' }), /Creation or last append time Tue Nov 14 22:13:20 2023/);
  // From the environment, as the CLI gets it.
  process.env.SOURCE_DATE_EPOCH = String(sde);
  try {
    const d = await buildRootfs({ root, out: join(work, 'd.squashfs') });
    assert.equal(d.sha256, a.sha256);
  } finally {
    delete process.env.SOURCE_DATE_EPOCH;
  }
  // Without an epoch the creation time is pinned, so the tree alone decides the bytes.
  const e = await buildRootfs({ root, out: join(work, 'e.squashfs') });
  const f = await buildRootfs({ root, out: join(work, 'f.squashfs') });
  assert.equal(e.sha256, f.sha256);
});

test('extra exclude files are applied; a missing one is a one-line error', { skip }, async () => {
  const root = makeFakeRoot('extra');
  const list = join(work, 'extra.excludes');
  writeFileSync(list, '# site policy\n/usr/bin/hello\n');
  const out = join(work, 'extra.squashfs');
  await buildRootfs({ root, out, excludeFiles: [list] });
  assert.ok(!listImage(out).has('/usr/bin/hello'));
  await assert.rejects(buildRootfs({ root, out, excludeFiles: [join(work, 'nope')] }), /cannot read exclude list .*nope: no such file/);
});

function assertNothingLeft(dir: string, name: string): void {
  const left = readdirSync(dir).filter((f) => f.includes(name));
  assert.deepEqual(left, [], `no output or temp file left in ${dir}`);
}

test('a failing mksquashfs leaves neither the output nor a temp file, and says why', { skip }, async () => {
  const root = makeFakeRoot('fail');
  const bin = join(work, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  // Writes part of an image to the path it was given, then fails like mksquashfs does.
  writeFileSync(join(bin, 'mksquashfs'), '#!/bin/sh\nhead -c 65536 /dev/zero > "$2"\necho "FATAL ERROR: Failed to read file: disk on fire" >&2\nexit 1\n', { mode: 0o755 });
  const outDir = join(work, 'fail-out');
  const out = join(outDir, 'rootfs.squashfs');
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    await assert.rejects(buildRootfs({ root, out }), (error: unknown) => {
      assert.ok(error instanceof RambootError);
      assert.equal(error.code, 'tool');
      assert.match(error.message, /^mksquashfs .* exited with 1: FATAL ERROR: Failed to read file: disk on fire$/);
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
  assertNothingLeft(outDir, 'rootfs.squashfs');
});

test('a failed rebuild keeps the previous good image', { skip }, async () => {
  const root = makeFakeRoot('keep');
  const out = join(work, 'keep.squashfs');
  const good = await buildRootfs({ root, out });
  await assert.rejects(buildRootfs({ root, out, excludeFiles: ['/nonexistent/list'] }));
  await assert.rejects(buildRootfs({ root: join(work, 'missing'), out }));
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), good.sha256);
});

test('missing mksquashfs: one line with the apt-get hint', { skip }, async () => {
  const root = makeFakeRoot('nomk');
  const outDir = join(work, 'nomk-out');
  const path = process.env.PATH;
  process.env.PATH = join(work, 'empty-bin');
  try {
    await assert.rejects(buildRootfs({ root, out: join(outDir, 'r.squashfs') }), (error: unknown) => {
      assert.ok(error instanceof RambootError);
      assert.equal(error.toLine(), 'mksquashfs not found (hint: apt-get install squashfs-tools)');
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
  assertNothingLeft(outDir, 'r.squashfs');
});

test('bad roots and settings are one-line errors before anything is written', async () => {
  const out = join(work, 'bad', 'r.squashfs');
  await assert.rejects(buildRootfs({ root: join(work, 'no-such-root'), out }), /^RambootError: root tree .*no-such-root does not exist$/);
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(buildRootfs({ root: file, out }), /root tree .*a-file is not a directory/);
  const root = join(work, 'inside');
  mkdirSync(root, { recursive: true });
  await assert.rejects(buildRootfs({ root, out: join(root, 'out', 'r.squashfs') }), /output .* is inside the root tree/);
  await assert.rejects(buildRootfs({ root, out, compression: 'xz', level: 6 }), /mksquashfs has no compression level for xz/);
  await assert.rejects(buildRootfs({ root, out, level: 23 }), /zstd level 23 is out of range/);
  await assert.rejects(buildRootfs({ root, out, blockSize: 3000 }), /block size 3000 is not a power of two/);
  assert.throws(() => readdirSync(join(work, 'bad')), /ENOENT/);
});

test('a tree without any init builds, with a warning', { skip }, async () => {
  const root = join(work, 'no-init');
  put(root, 'etc/hostname', 'x\n');
  const result = await buildRootfs({ root, out: join(work, 'no-init.squashfs') });
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /has no \/sbin\/init.*is it a root tree\?/);
});
