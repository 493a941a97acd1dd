// The system decompressors' two ways in (src/compress/tool-decode.ts): a stream that runs to the
// end of its file is read by the tool itself, its output through a FIFO; anything else is fed
// through stdin. Both must give the same bytes and leave the source just after the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressStream, type ChunkSource, type CompressedFormat } from '../../src/compress/decompress-stream.ts';
import { FrameDriver, measureStream, walkLz4Legacy, walkXzStream, walkZstdFrame, type Walker } from '../../src/compress/frame-walk.ts';
import { ByteSource } from '../../src/extract/byte-source.ts';
import { ExtractError, Warnings } from '../../src/unpack/problems.ts';
import { prng } from '../extract/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'ramboot-tool-decode-'));
const random = prng(18);
/** Half compressible text, half noise: several zstd blocks, several xz/lz4 chunks. */
const payload = Buffer.concat(Array.from({ length: 24 }, (_, i) => (i % 2 ? Buffer.from(Array.from({ length: 40_000 }, () => Math.floor(random() * 256))) : Buffer.alloc(60_000, `line ${i} `))));
const tools: Array<[CompressedFormat, string[], () => Walker]> = [
  ['zstd', ['zstd', '-q', '-c', '-3'], () => walkZstdFrame(fail)],
  ['xz', ['xz', '-q', '-c', '--check=crc32', '-T2', '--block-size=200000'], () => walkXzStream(fail)],
  ['lz4-legacy', ['lz4', '-q', '-c', '-l'], () => walkLz4Legacy(fail)],
];

function fail(message: string): ExtractError {
  return new ExtractError('E-CORRUPT', message);
}
const truncated = () => new ExtractError('E-TRUNCATED', 'cut short');

function compress(argv: string[], input: Buffer): Buffer {
  return execFileSync(argv[0]!, argv.slice(1), { input, maxBuffer: 1 << 26 });
}

/** A ByteSource that counts the bytes its read() hands out: the fast path hands out none. */
function counting(source: ByteSource): ChunkSource & { readBytes: number } {
  const wrapper = {
    readBytes: 0,
    read: async () => {
      const chunk = await source.read();
      wrapper.readBytes += chunk?.length ?? 0;
      return chunk;
    },
    unread: (buf: Buffer | undefined) => {
      source.unread(buf);
      wrapper.readBytes -= buf?.length ?? 0;
    },
    peek: (n: number) => source.peek(n),
    seekable: source.seekable,
  };
  return wrapper;
}

async function decode(source: ChunkSource, format: CompressedFormat, onChunk: (chunk: Buffer) => void = () => {}): Promise<Buffer> {
  const out: Buffer[] = [];
  await decompressStream({
    source,
    format,
    label: 'test',
    warnings: new Warnings(),
    onOutput: async (chunk) => {
      out.push(Buffer.from(chunk));
      onChunk(chunk);
    },
  });
  return Buffer.concat(out);
}

for (const [format, argv, walker] of tools) {
  test(`${format}: measureStream ends where FrameDriver ends, and a cut-short stream is truncated in both`, () => {
    const stream = compress(argv, payload);
    const file = Buffer.concat([stream, Buffer.from('after the stream')]);
    const readAt = (from: Buffer) => (at: number, n: number) => from.subarray(at, at + n);
    const driver = new FrameDriver(walker(), truncated);
    const { rest } = driver.push(file);
    assert.equal(rest?.toString(), 'after the stream');
    assert.equal(measureStream(walker(), readAt(file), 0, file.length, truncated), stream.length);
    assert.equal(measureStream(walker(), readAt(file), 0, stream.length, truncated), stream.length);
    // lz4 legacy has no end marker: cut at a chunk boundary it is simply shorter, so cut inside one.
    for (const cut of [3, Math.floor(stream.length / 2), stream.length - 1]) {
      const short = stream.subarray(0, cut);
      const driverCut = new FrameDriver(walker(), truncated);
      let pushed: unknown;
      try {
        driverCut.push(short);
        driverCut.end();
      } catch (err) {
        pushed = err;
      }
      let measured: unknown;
      try {
        measureStream(walker(), readAt(short), 0, short.length, truncated);
      } catch (err) {
        measured = err;
      }
      assert.equal((measured as ExtractError | undefined)?.id, (pushed as ExtractError | undefined)?.id, `cut at ${cut}`);
    }
  });

  test(`${format}: at the end of the file the tool reads the file itself; before other bytes it is fed through stdin`, async () => {
    const stream = compress(argv, payload);
    const lead = Buffer.from('070701 not read here');
    const atEnd = join(dir, `${format}-at-end`);
    writeFileSync(atEnd, Buffer.concat([lead, stream]));
    const source = await ByteSource.open(atEnd, () => 65536);
    await source.peek(lead.length);
    source.seek(lead.length);
    const fast = counting(source);
    assert.ok((await decode(fast, format)).equals(payload));
    assert.equal(fast.readBytes, 0, 'no compressed byte passed through this process');
    assert.equal(source.offset, lead.length + stream.length);
    assert.equal(await source.read(), null);
    await source.close();

    const middle = join(dir, `${format}-middle`);
    writeFileSync(middle, Buffer.concat([stream, Buffer.from('next segment')]));
    const source2 = await ByteSource.open(middle, () => 65536);
    const fed = counting(source2);
    assert.ok((await decode(fed, format)).equals(payload));
    assert.equal(fed.readBytes, stream.length, 'exactly the stream was fed to the tool');
    assert.equal((await source2.read())?.toString(), 'next segment');
    await source2.close();
  });
}

test('a consumer that fails stops the tool and leaves no FIFO behind', async () => {
  const stream = compress(['zstd', '-q', '-c'], payload);
  const image = join(dir, 'consumer-fails');
  writeFileSync(image, stream);
  const fifoDir = mkdtempSync(join(dir, 'tmp-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = fifoDir;
  try {
    const source = await ByteSource.open(image);
    let seen = 0;
    await assert.rejects(
      decode(source, 'zstd', (chunk) => {
        seen += chunk.length;
        if (seen > 300_000) throw new ExtractError('E-MAX-SIZE', 'enough');
      }),
      /E-MAX-SIZE: enough/,
    );
    await source.close();
  } finally {
    process.env.TMPDIR = saved;
  }
  assert.deepEqual(readdirSync(fifoDir), []);
});

test('corrupt data in a well-framed zstd stream at the end of the file: the tool\'s failure, named', async () => {
  const stream = Buffer.from(compress(['zstd', '-q', '-c'], payload));
  // Inside the first block's data: the frame walk still passes, zstd's checks do not.
  for (let i = 40; i < 80; i++) stream[i] = stream[i]! ^ 0x55;
  const image = join(dir, 'corrupt-zstd');
  writeFileSync(image, stream);
  const source = await ByteSource.open(image);
  await assert.rejects(decode(source, 'zstd'), (err: ExtractError) => err.id === 'E-CORRUPT' && /test: zstd -d -c -q failed/.test(err.message));
  await source.close();
});

test('a range that ends before the file does (a UKI section) is never handed to a tool whole', async () => {
  const stream = compress(['zstd', '-q', '-c'], payload);
  const image = join(dir, 'range');
  const head = Buffer.from('PE header bytes');
  writeFileSync(image, Buffer.concat([head, stream, Buffer.from('.linux section')]));
  const inner = await ByteSource.open(image, undefined, { offset: head.length, length: stream.length });
  assert.equal(inner.seekable, undefined);
  assert.ok((await decode(inner, 'zstd')).equals(payload));
  await inner.close();
  const toEnd = await ByteSource.open(image, undefined, { offset: head.length, length: stream.length + 14 });
  assert.ok(toEnd.seekable);
  assert.ok(toEnd.readAt(0, 4).equals(stream.subarray(0, 4)));
  await toEnd.close();
});

test('where the file cannot be reopened (no /proc), the stream is fed through stdin instead', async () => {
  const stream = compress(['zstd', '-q', '-c'], payload);
  const image = join(dir, 'no-proc');
  writeFileSync(image, stream);
  const source = await ByteSource.open(image, () => 65536);
  const file = source.seekable!;
  const wrapper = counting(source);
  const noProc = Object.assign(wrapper, {
    seekable: {
      get offset() {
        return file.offset;
      },
      size: file.size,
      readAt: (at: number, n: number) => file.readAt(at, n),
      seek: (at: number) => file.seek(at),
      reopenAt: () => {
        throw new Error('ENOENT: /proc/self/fd');
      },
    },
  });
  assert.ok((await decode(noProc, 'zstd')).equals(payload));
  assert.equal(noProc.readBytes, stream.length);
  await source.close();
});
