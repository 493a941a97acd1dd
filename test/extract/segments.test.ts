// Initrds of several segments, each uncompressed or compressed with any codec the kernel takes:
// every segment is found by its magic, a compressed segment may be followed by more segments,
// and feeding the bytes one at a time or in random chunks changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNewc } from '../../src/cpio/newc-writer.ts';
import type { CpioEntry } from '../../src/cpio/entry.ts';
import { extractImage } from '../../src/extract/extract-image.ts';
import { listImage, type InitrdListing } from '../../src/extract/list-image.ts';
import { arena, compress, prng, snapshot, type Codec } from './helpers.ts';

const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

const file = (path: string, data: Buffer | string, mode = 0o644): CpioEntry => ({ path, type: 'file', mode, uid: 0, gid: 0, mtime: 1650000000, data: Buffer.from(data) });
const dir = (path: string): CpioEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1650000000 });

const microcode = encodeNewc([dir('kernel'), dir('kernel/x86'), dir('kernel/x86/microcode'), file('kernel/x86/microcode/GenuineIntel.bin', randomBytes(3000))]);
const firmware = encodeNewc([dir('usr'), dir('usr/lib'), dir('usr/lib/firmware'), file('usr/lib/firmware/nic.bin', randomBytes(777))]);
const main = encodeNewc([
  dir('usr'),
  dir('usr/lib'),
  file('init', '#!/bin/sh\nexec /sbin/init\n', 0o755),
  file('usr/lib/big', Buffer.concat([randomBytes(200000), Buffer.alloc(300000, 0x41)])),
  { path: 'bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1650000000, linkTarget: 'usr/bin' },
]);
const extra = encodeNewc([file('etc/extra.conf', 'late=1\n')]);

async function listing(image: string, chunkSize?: () => number): Promise<InitrdListing> {
  const l = await listImage({ image, chunkSize });
  assert.equal(l.kind, 'initrd');
  return l as InitrdListing;
}

function place() {
  const a = arena();
  cleanup.push(a.base);
  return a;
}

const CODECS: Array<[Codec, string]> = [['gzip', 'gzip'], ['zstd', 'zstd'], ['xz', 'xz'], ['lz4', 'lz4-legacy'], ['bzip2', 'bzip2'], ['lzma', 'lzma']];

for (const [codec, name] of CODECS) {
  test(`early microcode cpio + firmware cpio + ${name} main: three segments, one tree`, async () => {
    const a = place();
    const image = join(a.inputs, 'initrd.img');
    const body = compress(main, codec);
    const pad = Buffer.alloc(16); // NULs between segments, as dracut and the kernel allow
    writeFileSync(image, Buffer.concat([microcode, firmware, pad, body]));
    const l = await listing(image);
    assert.deepEqual(
      l.segments.map((s) => [s.index, s.offset, s.compression, s.compressedSize, s.size, s.entries]),
      [
        [0, 0, 'none', microcode.length, microcode.length, 4],
        [1, microcode.length, 'none', firmware.length, firmware.length, 4],
        [2, microcode.length + firmware.length + 16, name, body.length, main.length, 5],
      ],
    );
    const result = await extractImage({ image, dir: a.target });
    assert.deepEqual(result.warnings, []);
    const tree = snapshot(a.target);
    assert.deepEqual([...tree.keys()].sort(), ['', 'bin', 'init', 'kernel', 'kernel/x86', 'kernel/x86/microcode', 'kernel/x86/microcode/GenuineIntel.bin', 'usr', 'usr/lib', 'usr/lib/big', 'usr/lib/firmware', 'usr/lib/firmware/nic.bin']);
    assert.equal(tree.get('usr/lib/big')!.size, 500000);
    assert.equal(tree.get('bin')!.linkTarget, 'usr/bin');
    a.checkOutside();
  });
}

test('a compressed segment followed by more segments: gzip, zstd, xz and lz4 each end where their stream ends', async () => {
  const a = place();
  const image = join(a.inputs, 'chain.img');
  const parts = [
    compress(main, 'gzip'),
    compress(firmware, 'zstd'),
    Buffer.alloc(4),
    compress(microcode, 'xz'),
    Buffer.alloc(8),
    compress(encodeNewc([file('from-lz4', 'x')]), 'lz4'),
    extra, // plain cpio after lz4: its magic is no chunk length a legacy lz4 stream can have
  ];
  writeFileSync(image, Buffer.concat(parts));
  const l = await listing(image);
  assert.deepEqual(l.segments.map((s) => s.compression), ['gzip', 'zstd', 'xz', 'lz4-legacy', 'none']);
  let offset = 0;
  const sizes = parts.map((p) => p.length);
  const expectOffsets = [0, sizes[0]!, sizes[0]! + sizes[1]! + 4, sizes[0]! + sizes[1]! + 4 + sizes[3]! + 8, sizes[0]! + sizes[1]! + 4 + sizes[3]! + 8 + sizes[5]!];
  assert.deepEqual(l.segments.map((s) => s.offset), expectOffsets);
  for (const s of l.segments) offset = s.offset + s.compressedSize;
  assert.equal(offset, readFileSync(image).length);
  const result = await extractImage({ image, dir: a.target });
  assert.deepEqual(result.warnings, []);
  assert.equal(readFileSync(join(a.target, 'etc/extra.conf'), 'utf8'), 'late=1\n');
  assert.equal(readFileSync(join(a.target, 'from-lz4'), 'utf8'), 'x');
  assert.equal(result.entries, 5 + 4 + 4 + 1 + 1);
});

test('two gzip members and two zstd frames are four segments, as the kernel reads them', async () => {
  const a = place();
  const image = join(a.inputs, 'members.img');
  writeFileSync(image, Buffer.concat([compress(microcode, 'gzip'), compress(firmware, 'gzip'), compress(main, 'zstd'), compress(extra, 'zstd')]));
  const l = await listing(image);
  assert.deepEqual(l.segments.map((s) => [s.compression, s.entries]), [['gzip', 4], ['gzip', 4], ['zstd', 5], ['zstd', 1]]);
});

test('byte-at-a-time and random-chunk feeding give the same listing and the same tree', async () => {
  const a = place();
  const image = join(a.inputs, 'mixed.img');
  const small = encodeNewc([dir('d'), file('d/a', randomBytes(3000)), file('d/b', 'bee'), { path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 5, linkTarget: 'd/a' }]);
  writeFileSync(image, Buffer.concat([microcode, compress(small, 'gzip'), compress(small, 'zstd'), compress(small, 'xz'), compress(small, 'lz4'), Buffer.alloc(3), extra]));
  const whole = await listing(image);
  assert.equal(whole.segments.length, 6);
  const random = prng(42);
  for (const [what, sizer] of [['byte-at-a-time', () => 1], ['random chunks', () => 1 + Math.floor(random() * 700)]] as const) {
    assert.deepEqual(await listing(image, sizer), whole, what);
  }
  // The target itself and 'etc' (implied, not listed) keep the time of extraction.
  const tree = (d: string) => new Map([...snapshot(d)].map(([k, v]) => [k, k === '' || k === 'etc' ? { ...v, mtime: 0 } : v]));
  await extractImage({ image, dir: a.target });
  const want = tree(a.target);
  const other = join(a.inputs, 'bytewise');
  await extractImage({ image, dir: other, chunkSize: () => 1 });
  assert.deepEqual(tree(other), want);
  rmSync(other, { recursive: true });
});

test('a real zstd frame split in the middle: the frame walk says which segment is cut short', async () => {
  const a = place();
  const image = join(a.inputs, 'cut.img');
  const body = compress(main, 'zstd');
  writeFileSync(image, Buffer.concat([microcode, body.subarray(0, body.length - 100)]));
  await assert.rejects(extractImage({ image, dir: a.target }), {
    name: 'RambootError',
    message: `E-TRUNCATED: segment 1 (zstd at byte ${microcode.length}): the zstd frame ends early`,
  });
  a.checkOutside();
});

test('container variants the frame walk must handle: xz blocks with sizes, sha256 checks, gzip names, zstd without checksum', async () => {
  const a = place();
  const named = join(a.inputs, 'main.cpio');
  writeFileSync(named, main);
  const variants: Array<[string, Buffer]> = [
    ['xz, multithreaded blocks (sizes in block headers)', execFileSync('xz', ['-q', '-c', '-T2', '--block-size=65536', '--check=crc32'], { input: main })],
    ['xz, sha256 check', execFileSync('xz', ['-q', '-c', '--check=sha256'], { input: main })],
    ['xz, no check', execFileSync('xz', ['-q', '-c', '--check=none'], { input: main })],
    ['gzip, with a file name in its header', execFileSync('gzip', ['-c', '-N', named])],
    ['zstd, no checksum', execFileSync('zstd', ['-q', '-c', '--no-check'], { input: main })],
  ];
  for (const [what, body] of variants) {
    const image = join(a.inputs, 'variant.img');
    writeFileSync(image, Buffer.concat([body, extra]));
    const l = await listing(image);
    assert.deepEqual(l.segments.map((s) => [s.compressedSize, s.size, s.entries]), [[body.length, main.length, 5], [extra.length, extra.length, 1]], what);
  }
});

test('a segment after a bzip2 segment is found where the kernel finds it (issue 9 item 9)', async () => {
  const a = place();
  const big = encodeNewc([file('blob', randomBytes(250000)), file('text', Buffer.alloc(400000, 0x61))]);
  // bzip2 -1: 100k blocks, so the stream has several blocks and a bit-aligned end marker.
  const bz = execFileSync('bzip2', ['-q', '-c', '-1'], { input: big, maxBuffer: 1 << 30 });
  const cases: Array<[string, Buffer[], string[]]> = [
    ['bzip2 + gzip', [compress(main, 'bzip2'), compress(extra, 'gzip')], ['bzip2', 'gzip']],
    ['multi-block bzip2 + zstd + bzip2', [bz, compress(firmware, 'zstd'), compress(extra, 'bzip2')], ['bzip2', 'zstd', 'bzip2']],
  ];
  for (const [what, parts, formats] of cases) {
    const image = join(a.inputs, 'bz.img');
    writeFileSync(image, Buffer.concat(parts));
    const random = prng(9);
    for (const sizer of [undefined, () => 1 + Math.floor(random() * 5000)]) {
      const l = await listing(image, sizer);
      assert.deepEqual(l.segments.map((s) => s.compression), formats, what);
      assert.deepEqual(l.segments.map((s) => s.compressedSize), parts.map((p) => p.length), what);
    }
  }
  const result = await extractImage({ image: join(a.inputs, 'bz.img'), dir: a.target });
  assert.deepEqual(result.warnings, []);
  assert.equal(readFileSync(join(a.target, 'etc/extra.conf'), 'utf8'), 'late=1\n');
  assert.equal(readFileSync(join(a.target, 'usr/lib/firmware/nic.bin')).length, 777);
});
