// A full disk is one line naming the disk, the file and the sizes (issue 9, item 6): before,
// `initrd -o` on a full disk said "zstd ... was killed by SIGPIPE", gzip and none a stack trace,
// xz and lz4 "write EPIPE". Every codec, mksquashfs and the image set, on a 1 MiB tmpfs; no temp
// file is left behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COMPRESSIONS } from '../../src/compress/codecs.ts';
import { makeRoot, mountTmpfs, ramboot, skipUnlessRoot, tempWork } from '../image-set/helpers.ts';

let work: string;
let root: string;
let disk: ReturnType<typeof mountTmpfs> | undefined;

before(async () => {
  if (skipUnlessRoot) return;
  work = tempWork('ramboot-nospace-');
  root = await makeRoot(work);
  disk = mountTmpfs(work, 'small', '1m');
});
after(() => {
  disk?.unmount();
  if (work) rmSync(work, { recursive: true, force: true });
});

const SIZE = '[\\d.]+ (B|KiB|MiB)';

function assertNoSpaceLine(stderr: string, file: string, flag: string): void {
  assert.match(stderr, new RegExp(`^ramboot: error: no space left on ${disk!.dir} writing ${file.replace('.', '\\.')} \\(needed (at least|more than) ${SIZE}, ${SIZE} free\\) \\(hint: free space or choose another ${flag}\\)\\n$`));
}

test('initrd -o on a full disk, every compression: one line with the size it needed', { skip: skipUnlessRoot }, () => {
  for (const compression of COMPRESSIONS) {
    const r = ramboot('initrd', '--root', root, '-o', join(disk!.dir, 'initrd.img'), '--compress', compression);
    assert.equal(r.status, 5, `${compression}: ${r.stderr}`);
    assertNoSpaceLine(r.stderr, 'initrd.img', '-o');
    // The compressed stream is counted to its end, so the size is what the file would have had.
    const needed = /needed at least ([\d.]+) MiB/.exec(r.stderr);
    assert.ok(needed && Number(needed[1]) > 1, `${compression}: more than the 1 MiB disk: ${r.stderr}`);
    assert.deepEqual(readdirSync(disk!.dir), [], 'no temp file left');
  }
});

test('rootfs -o on a full disk: mksquashfs failing is one line too', { skip: skipUnlessRoot }, () => {
  const r = ramboot('rootfs', '--root', root, '-o', join(disk!.dir, 'rootfs.squashfs'));
  assert.equal(r.status, 5, r.stderr);
  assertNoSpaceLine(r.stderr, 'rootfs.squashfs', '-o');
  assert.deepEqual(readdirSync(disk!.dir), []);
});

test('build --out on a full disk names the set file and leaves no staging directory or new out dir', { skip: skipUnlessRoot }, () => {
  const r = ramboot('build', '--root', root, '--out', join(disk!.dir, 'set'));
  assert.equal(r.status, 5, r.stderr);
  assertNoSpaceLine(r.stderr, 'rootfs.squashfs', '--out');
  assert.deepEqual(readdirSync(disk!.dir), [], 'the out dir the build created is gone again');
});
