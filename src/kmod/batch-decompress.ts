// Decompressing thousands of small .ko.xz/.ko.zst files one process each costs more in process
// start-up than in decompression (a generic kernel: ~4,000 modules, 15-20 s that way). Instead
// one `xz -dc f1 f2 …` / `zstd -dc …` handles a batch, and its output is cut at each file's
// decompressed size, which the containers record: the zstd frame header's Frame_Content_Size
// (RFC 8878 §3.1.1.1) and the xz index's Uncompressed Size fields (xz file format 1.0.4 §4).
// Any doubt — a size the header does not give, a multi-stream file, a total that does not add
// up, a failing batch — falls back to one process per file, whose errors name the file.
import { open } from 'node:fs/promises';
import { execa } from 'execa';
import { toolFailure } from '../util/run-tool.js';
import { mapLimit } from './pool.js';

const ELF_MAGIC = 0x7f454c46;

/** Frame_Content_Size of the first zstd frame, if the header records it. */
export function zstdContentSize(head: Buffer): number | undefined {
  if (head.length < 6 || head.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const fhd = head[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const at = 5 + (singleSegment ? 0 : 1) + dictBytes;
  if (fcsBytes === 0 || head.length < at + fcsBytes) return undefined;
  if (fcsBytes === 1) return head[at]!;
  if (fcsBytes === 2) return head.readUInt16LE(at) + 256;
  if (fcsBytes === 4) return head.readUInt32LE(at);
  const size = head.readBigUInt64LE(at);
  return size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : undefined;
}

/** Sum of the Uncompressed Size records of a single-stream .xz file, from its last bytes. */
export function xzUncompressedSize(tail: Buffer, fileSize: number): number | undefined {
  if (tail.length < 12 || tail.toString('latin1', tail.length - 2) !== 'YZ') return undefined;
  const indexSize = (tail.readUInt32LE(tail.length - 8) + 1) * 4;
  let p = tail.length - 12 - indexSize;
  if (p < 0 || tail[p] !== 0) return undefined;
  p++;
  const varint = (): number | undefined => {
    let value = 0;
    for (let i = 0, scale = 1; i < 9 && p < tail.length; i++, scale *= 128) {
      const byte = tail[p++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
    }
    return undefined;
  };
  const records = varint();
  if (records === undefined) return undefined;
  let uncompressed = 0;
  let blocks = 0;
  for (let i = 0; i < records; i++) {
    const unpadded = varint();
    const size = varint();
    if (unpadded === undefined || size === undefined) return undefined;
    blocks += Math.ceil(unpadded / 4) * 4;
    uncompressed += size;
  }
  // Header + blocks + index + footer must be the whole file; anything else (several streams,
  // stream padding) is left to the one-file path.
  return 12 + blocks + indexSize + 12 === fileSize ? uncompressed : undefined;
}

const XZ_TAIL = 4096;

async function decompressedSize(file: string, tool: 'xz' | 'zstd'): Promise<number | undefined> {
  const handle = await open(file).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (tool === 'zstd') {
      const head = Buffer.alloc(Math.min(18, size));
      await handle.read(head, 0, head.length, 0);
      return zstdContentSize(head);
    }
    const length = Math.min(XZ_TAIL, size);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    return xzUncompressedSize(tail, size);
  } finally {
    await handle.close();
  }
}

async function runDecompressor(tool: string, files: readonly string[]): Promise<Buffer> {
  const args = ['-dc', '--', ...files];
  let result;
  try {
    // stripFinalNewline would cut the last byte of every signed module: the appended signature
    // ends in "~Module signature appended~\n".
    result = await execa(tool, args, { encoding: 'buffer', reject: false, stdin: 'ignore', stripFinalNewline: false, maxBuffer: 1 << 30 });
  } catch (error) {
    throw toolFailure(tool, args, error);
  }
  if (result.failed) {
    // toolFailure reads stderr as text; with encoding: 'buffer' it arrives as bytes.
    throw toolFailure(tool, args, { ...result, stderr: Buffer.from(result.stderr ?? []).toString('utf8') });
  }
  const out = result.stdout;
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** One file, one process: the plain bytes of `file`. */
export function decompressFile(tool: 'xz' | 'zstd', file: string): Promise<Buffer> {
  return runDecompressor(tool, [file]);
}

const BATCH_FILES = 128;
const BATCH_BYTES = 32 << 20;

/** Calls `use(i, bytes)` with the decompressed bytes of every `files[i]`, `parallel` processes at a
 * time. `files` are host paths already resolved inside their root (moduleHostPath): the
 * decompressors open them as given. */
export async function decompressEach(
  tool: 'xz' | 'zstd',
  files: readonly string[],
  parallel: number,
  use: (i: number, bytes: Buffer) => Promise<void> | void,
): Promise<void> {
  const sizes: Array<number | undefined> = new Array(files.length);
  await mapLimit([...files.keys()], 32, async (i) => {
    sizes[i] = await decompressedSize(files[i]!, tool);
  });
  const batches: number[][] = [];
  let batch: number[] = [];
  let bytes = 0;
  files.forEach((_, i) => {
    const size = sizes[i];
    if (size === undefined) return batches.push([i]);
    if (batch.length === BATCH_FILES || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(i);
    bytes += size;
  });
  if (batch.length > 0) batches.push(batch);

  const one = async (i: number) => use(i, await decompressFile(tool, files[i]!));
  await mapLimit(batches, parallel, async (indexes) => {
    if (indexes.length === 1) return one(indexes[0]!);
    const out = await runDecompressor(tool, indexes.map((i) => files[i]!)).catch(() => undefined);
    const total = indexes.reduce((sum, i) => sum + sizes[i]!, 0);
    let offset = 0;
    const slices = indexes.map((i) => {
      const slice = out?.subarray(offset, offset + sizes[i]!);
      offset += sizes[i]!;
      return slice;
    });
    if (!out || out.length !== total || slices.some((s) => !s || s.length < 4 || s.readUInt32BE(0) !== ELF_MAGIC)) {
      for (const i of indexes) await one(i);
      return;
    }
    for (const [k, i] of indexes.entries()) await use(i, slices[k]!);
  });
}
