// The arm64 Image an arm64 set carries (src/kernel/arm64-image.ts): a plain Image is copied, a
// gzip one decompressed, anything else refused with a one-line error before any work starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkArm64Kernel, isArm64Image, writeArm64Image } from '../../src/kernel/arm64-image.ts';

/** An arm64 boot header (booting.rst): MZ for the EFI stub, "ARM\x64" at 0x38, then a body. */
function fakeImage(size = 300_000): Buffer {
  const image = Buffer.alloc(size);
  for (let i = 64; i < size; i++) image[i] = (i * 7919) % 251;
  image.write('MZ', 0, 'latin1');
  image.write('ARM\x64', 0x38, 'latin1');
  return image;
}

function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-arm64-image-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a plain Image is written as it is; a gzip one is decompressed to the same bytes', () =>
  withDir(async (dir) => {
    const image = fakeImage();
    writeFileSync(join(dir, 'plain'), image);
    writeFileSync(join(dir, 'gz'), gzipSync(image));
    assert.equal(await checkArm64Kernel(join(dir, 'plain')), 'image');
    assert.equal(await checkArm64Kernel(join(dir, 'gz')), 'gzip');
    await writeArm64Image(join(dir, 'plain'), join(dir, 'out1'));
    await writeArm64Image(join(dir, 'gz'), join(dir, 'out2'));
    assert.ok(readFileSync(join(dir, 'out1')).equals(image));
    assert.ok(readFileSync(join(dir, 'out2')).equals(image));
    assert.ok(isArm64Image(readFileSync(join(dir, 'out2'))));
  }));

test('an x86 bzImage, a gzip of something else and an EFI zboot image are refused with a hint', () =>
  withDir(async (dir) => {
    const bzImage = Buffer.alloc(4096);
    bzImage.write('HdrS', 0x202, 'latin1');
    writeFileSync(join(dir, 'bz'), bzImage);
    writeFileSync(join(dir, 'gz'), gzipSync(Buffer.alloc(100_000, 1)));
    const zboot = fakeImage(4096);
    zboot.write('zimg', 4, 'latin1');
    writeFileSync(join(dir, 'zboot'), zboot);
    writeFileSync(join(dir, 'short'), 'MZ');
    for (const name of ['bz', 'gz', 'short']) {
      await assert.rejects(checkArm64Kernel(join(dir, name)), (e: any) => /is not an arm64 kernel Image/.test(e.message) && /--arch amd64/.test(e.hint), name);
    }
    await assert.rejects(checkArm64Kernel(join(dir, 'zboot')), /EFI zboot image/);
    await assert.rejects(writeArm64Image(join(dir, 'bz'), join(dir, 'out')), /not an arm64 kernel Image/);
  }));
