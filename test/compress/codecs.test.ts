import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressToFile, COMPRESSIONS, checkLevel, DEFAULT_LEVEL, toolArgs } from '../../src/compress/codecs.ts';
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

test('zstd: the same bytes whatever the thread count, over input of several 2 MiB jobs, in one frame', () => {
  // 6 MiB that compresses like an initrd (repeats at a distance, not one repeated phrase), so the
  // multithreaded mode really cuts it into jobs: the output must not depend on the core count.
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  const input = Buffer.concat(Array.from({ length: 96 }, (_, k) => (k % 3 === 0 ? chunk.subarray(k % 7) : chunk)));
  const args = toolArgs('zstd', DEFAULT_LEVEL.zstd);
  assert.ok(args.includes('-T0'), 'the build compresses with every core');
  const outputs = ['-T1', '-T2', '-T4', '-T0'].map((threads) =>
    execFileSync('zstd', args.map((a) => (a === '-T0' ? threads : a)), { input, maxBuffer: 1 << 26 }),
  );
  for (const out of outputs.slice(1)) assert.ok(out.equals(outputs[0]!), 'zstd output changed with the thread count');
  const file = join(dir, 'jobs.zst');
  writeFileSync(file, outputs[0]!);
  const frames = execFileSync('zstd', ['-lv', file], { encoding: 'utf8' }).match(/# Zstandard Frames: (\d+)/)?.[1];
  assert.equal(frames, '1', 'the kernel unpacks one cpio from one zstd frame');
  assert.ok(execFileSync('zstd', ['-dc'], { input: outputs[0], maxBuffer: 1 << 26 }).equals(input));
});

test('levels out of range are usage errors with the range', () => {
  assert.throws(() => checkLevel('gzip', 12), /out of range for gzip \(hint: use 1..9\)|out of range for gzip/);
  assert.equal(checkLevel('zstd', 19), 19);
});
