// Outputs replace only regular files (issue 9, item 3): `-o` onto a device, a FIFO, a directory
// or a path under a regular file, `--out` onto a file, anything under /proc or /sys, and a
// read-only directory are one error line each, checked before any work starts, and the thing at
// the path is left as it was (`-o /dev/null` used to turn /dev/null into a regular file).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPath } from '../../src/util/output-path.ts';
import { RambootError } from '../../src/errors.ts';
import { mountTmpfs, ramboot, skipUnlessRoot } from '../image-set/helpers.ts';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-outpath-'));
  mkdirSync(join(work, 'dir'));
  writeFileSync(join(work, 'file'), 'x');
  execFileSync('mkfifo', [join(work, 'fifo')]);
  symlinkSync('/dev/null', join(work, 'link-to-null'));
  symlinkSync(join(work, 'file'), join(work, 'link-to-file'));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function refusal(path: string, kind: 'file' | 'dir'): Promise<RambootError> {
  try {
    await checkOutputPath(path, kind);
  } catch (error) {
    assert.ok(error instanceof RambootError, String(error));
    assert.ok(!error.toLine().includes('\n'));
    return error;
  }
  assert.fail(`${path} (${kind}) was accepted`);
}

test('-o refuses devices, FIFOs, directories, symlinks to devices and paths under a regular file', async () => {
  assert.match((await refusal('/dev/null', 'file')).message, /^-o \/dev\/null is a character device, not a regular file$/);
  assert.match((await refusal(join(work, 'fifo'), 'file')).message, /is a FIFO, not a regular file$/);
  assert.match((await refusal(join(work, 'dir'), 'file')).message, /is a directory$/);
  assert.match((await refusal(join(work, 'link-to-null'), 'file')).message, /is a character device/);
  assert.match((await refusal(join(work, 'file', 'initrd.img'), 'file')).message, new RegExp(`${work}/file is a regular file, not a directory$`));
  assert.match((await refusal(join(work, 'file', 'a', 'b', 'initrd.img'), 'file')).message, /file is a regular file, not a directory$/);
});

test('--out refuses a file, a device and a path under a file', async () => {
  assert.match((await refusal(join(work, 'file'), 'dir')).toLine(), /^--out \S+ is a regular file, not a directory \(hint: --out takes the directory the image set goes into\)$/);
  assert.match((await refusal('/dev/null', 'dir')).message, /is a character device, not a directory$/);
  assert.match((await refusal(join(work, 'file', 'out'), 'dir')).message, /file is a regular file, not a directory$/);
});

test('nothing goes under /proc or /sys', async () => {
  assert.match((await refusal('/proc/ramboot-out', 'dir')).message, /^--out \/proc\/ramboot-out is on proc \(\/proc\), a kernel pseudo-filesystem$/);
  assert.match((await refusal('/proc/self/x/initrd.img', 'file')).message, /is on proc/);
  assert.match((await refusal('/sys/kernel/initrd.img', 'file')).message, /is on sysfs \(\/sys\)/);
});

test('regular files, symlinks to them, new paths and existing directories are accepted', async () => {
  await checkOutputPath(join(work, 'file'), 'file');
  await checkOutputPath(join(work, 'link-to-file'), 'file');
  await checkOutputPath(join(work, 'new', 'deeper', 'initrd.img'), 'file');
  await checkOutputPath(join(work, 'dir'), 'dir');
  await checkOutputPath(join(work, 'new-dir'), 'dir');
});

test('the CLI refuses -o /dev/null with one line, exit 2, and /dev/null stays a device', () => {
  for (const command of ['initrd', 'rootfs']) {
    const r = ramboot(command, '--root', work, '-o', '/dev/null');
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, 'ramboot: error: -o /dev/null is a character device, not a regular file (hint: ramboot replaces only regular files; give a file path)\n');
    assert.ok(statSync('/dev/null').isCharacterDevice());
  }
  const r = ramboot('build', '--root', work, '--out', join(work, 'file'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^ramboot: error: --out \S+\/file is a regular file, not a directory \(hint: .+\)\n$/);
});

test('the output is checked before a tarball root is unpacked', () => {
  // A root that is not even readable as a tarball: the output error must come first.
  writeFileSync(join(work, 'root.tar.gz'), 'not a tarball');
  const r = ramboot('initrd', '--root', join(work, 'root.tar.gz'), '-o', join(work, 'fifo'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^ramboot: error: -o \S+fifo is a FIFO, not a regular file/);
});

test('a read-only output directory is one line naming the mount, for -o and --out', { skip: skipUnlessRoot }, () => {
  const disk = mountTmpfs(work, 'ro-disk', '1m', 'ro');
  try {
    const r1 = ramboot('initrd', '--root', work, '-o', join(disk.dir, 'initrd.img'));
    assert.equal(r1.status, 5, r1.stderr);
    assert.equal(r1.stderr, `ramboot: error: cannot write -o ${disk.dir}/initrd.img: ${disk.dir} is mounted read-only (hint: remount it read-write or choose another -o)\n`);
    const r2 = ramboot('build', '--root', work, '--out', join(disk.dir, 'set'));
    assert.equal(r2.status, 5, r2.stderr);
    assert.match(r2.stderr, new RegExp(`^ramboot: error: cannot write --out ${disk.dir}/set: ${disk.dir} is mounted read-only \\(hint: .+\\)\\n$`));
  } finally {
    disk.unmount();
  }
});

test('a read-only bind mount is refused the same way', { skip: skipUnlessRoot }, () => {
  const target = join(work, 'bind-ro');
  mkdirSync(target);
  execFileSync('mount', ['--bind', join(work, 'dir'), target]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', target]);
    const r = ramboot('rootfs', '--root', work, '-o', join(target, 'rootfs.squashfs'));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`^ramboot: error: cannot write -o ${target}/rootfs\\.squashfs: ${target} is mounted read-only`));
  } finally {
    execFileSync('umount', [target]);
  }
});
