import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressToFile, COMPRESSIONS, checkLevel, DEFAULT_LEVEL } from '../../src/compress/codecs.ts';
import { detectFormat } from '../../src/compress/magic.ts';

const dir = mkdtempSync(join(tmpdir(), 'ramboot-codec-'));
const payload = Buffer.concat([Buffer.from('070701'), Buffer.alloc(300_000, 'ramboot initrd payload ')]);
const decompressor: Record<string, string[]> = { zstd: ['zstd', '-dc'], gzip: ['gzip', '-dc'], xz: ['xz', '-dc'], lz4: ['lz4', '-dc'] };
const expectedFormat = { zstd: 'zstd', gzip: 'gzip', xz: 'xz', lz4: 'lz4-legacy', none: 'cpio' } as const;

for (const kind of COMPRESSIONS) {
  test(`${kind}: round trip through the system decompressor, magic detected`, async () => {
    const out = join(dir, `x.${kind}`);
    const sink = compressToFile(kind, DEFAULT_LEVEL[kind], out);
    sink.input.end(payload);
    await sink.done;
    const bytes = readFileSync(out);
    assert.equal(detectFormat(bytes.subarray(0, 16)), expectedFormat[kind]);
    const [tool, ...args] = decompressor[kind] ?? ['cat'];
    const back = execFileSync(tool!, [...args, out], { maxBuffer: 1 << 26 });
    assert.ok(back.equals(payload));
    if (kind !== 'none') assert.ok(bytes.length < payload.length / 10);
  });
}

test('xz uses CRC32, the only check the kernel accepts', () => {
  const info = execFileSync('xz', ['--robot', '--list', join(dir, 'x.xz')], { encoding: 'utf8' });
  assert.match(info, /\tCRC32\t/);
});

test('same input gives the same bytes (zstd with threads, xz)', async () => {
  for (const kind of ['zstd', 'xz'] as const) {
    const outs = [join(dir, `a.${kind}`), join(dir, `b.${kind}`)];
    for (const out of outs) {
      const sink = compressToFile(kind, 3, out);
      sink.input.end(payload);
      await sink.done;
    }
    assert.ok(readFileSync(outs[0]!).equals(readFileSync(outs[1]!)));
  }
});

test('levels out of range are usage errors with the range', () => {
  assert.throws(() => checkLevel('gzip', 12), /out of range for gzip \(hint: use 1..9\)|out of range for gzip/);
  assert.equal(checkLevel('zstd', 19), 19);
});
