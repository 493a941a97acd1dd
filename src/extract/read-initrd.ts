// An initrd as the kernel reads it (init/initramfs.c unpack_to_rootfs): segments one after the
// other, NULs allowed between them, each an uncompressed newc archive or a compressed stream
// whose content is newc. Every segment is found by its magic, never by a file name. A visitor
// gets each segment and each entry with its data, in order, and is awaited, so extraction can
// write to disk at its own pace while memory stays at one chunk.
//
// Each uncompressed archive (up to its TRAILER!!!) is its own segment, so an early microcode
// cpio followed by an uncompressed firmware cpio lists as two. Inside a compressed segment,
// several archives are one segment, as the kernel sees one decompressed stream.
import { decompressStream, isCompressed } from '../compress/decompress-stream.js';
import { detectFormat, type SegmentFormat } from '../compress/magic.js';
import { NewcReader, type NewcHeader } from '../cpio/newc-reader.js';
import { HEADER_SIZE, TRAILER_NAME, pad4 } from '../cpio/newc-format.js';
import { RambootError } from '../errors.js';
import { ByteSource, type ChunkSizer, type FileRange } from './byte-source.js';
import { ExtractError, type Warnings } from '../unpack/problems.js';

export type SegmentCompression = Exclude<SegmentFormat, 'cpio' | 'unknown'> | 'none';

export interface SegmentInfo {
  index: number;
  /** File offset of the segment's first byte. */
  offset: number;
  compression: SegmentCompression;
  /** Bytes of the file the segment takes (its compressed size). */
  compressedSize: number;
  /** Bytes of cpio data in it (decompressed). */
  size: number;
  entries: number;
  /** TRAILER!!!s seen. */
  archives: number;
}

type Awaitable = void | Promise<void>;

export interface InitrdVisitor {
  /** Before the first segment: the file's size. */
  start?(fileSize: number): Awaitable;
  segment?(segment: SegmentInfo): Awaitable;
  entry?(header: NewcHeader, segment: SegmentInfo): Awaitable;
  /** A view into a buffer that is valid until this call settles (the decompressor reuses it):
   * copy what must outlive it. Symlink targets come as data too. */
  data?(chunk: Buffer, header: NewcHeader): Awaitable;
  entryEnd?(header: NewcHeader): Awaitable;
  /** A TRAILER!!!: hard links are paired within one archive only. */
  archiveEnd?(segment: SegmentInfo): Awaitable;
  segmentEnd?(segment: SegmentInfo): Awaitable;
}

export interface ReadInitrdOptions {
  warnings: Warnings;
  /** Cap on the cpio bytes of all segments together, decompressed. */
  maxSize?: number;
  /** Read sizes, for tests (byte-at-a-time, random). Decompressed output is cut the same way. */
  chunkSize?: ChunkSizer;
  /** Read only this part of the file as the initrd (a UKI's .initrd section); offsets are from its start. */
  range?: FileRange;
}

export const DEFAULT_MAX_SIZE = 4 * 1024 ** 3;
/** A trailer's header and name with padding: 110 + 11 = 121, padded to 124. */
const TRAILER_SIZE = HEADER_SIZE + TRAILER_NAME.length + 1 + pad4(HEADER_SIZE + TRAILER_NAME.length + 1);

export interface InitrdSummary {
  segments: SegmentInfo[];
  /** File size in bytes. */
  fileSize: number;
}

export function segmentLabel(segment: SegmentInfo): string {
  const what = segment.compression === 'none' ? 'uncompressed cpio' : segment.compression;
  return `segment ${segment.index} (${what} at byte ${segment.offset})`;
}

export async function readInitrd(path: string, visitor: InitrdVisitor, options: ReadInitrdOptions): Promise<InitrdSummary> {
  const source = await ByteSource.open(path, options.chunkSize, options.range);
  const budget = { left: options.maxSize ?? DEFAULT_MAX_SIZE, max: options.maxSize ?? DEFAULT_MAX_SIZE };
  const segments: SegmentInfo[] = [];
  try {
    await visitor.start?.(source.size);
    while (await source.skipZeros()) {
      const offset = source.offset;
      const head = await source.peek(8);
      let format = detectFormat(head);
      // A file that ends inside a cpio magic is a truncated cpio, not an unknown format.
      const start = head.toString('latin1');
      if (format === 'unknown' && head.length < 6 && ['070701', '070702'].some((m) => m.startsWith(start))) format = 'cpio';
      if (format === 'unknown') {
        if (segments.length === 0) {
          throw new ExtractError('E-NOT-IMAGE', `${path}: not an initrd or squashfs image (first bytes ${head.toString('hex')} at byte ${offset})`, 'an initrd starts with a cpio magic (070701) or a compression magic');
        }
        options.warnings.warn(
          'W-TRAILING-DATA',
          `${source.size - offset} bytes at byte ${offset} after the last segment are not an archive (they begin ${head.toString('hex')}); the kernel stops unpacking there`,
        );
        break;
      }
      if (format === 'lzo') throw new ExtractError('E-UNSUPPORTED', `segment ${segments.length} at byte ${offset} is lzo-compressed, which ramboot cannot decompress`, 'unpack it with lzop and cpio');
      const segment: SegmentInfo = {
        index: segments.length,
        offset,
        compression: format === 'cpio' ? 'none' : format,
        compressedSize: 0,
        size: 0,
        entries: 0,
        archives: 0,
      };
      await visitor.segment?.(segment);
      if (format === 'cpio') await readPlainSegment(source, segment, visitor, budget);
      else if (isCompressed(format)) await readCompressedSegment(source, segment, format, visitor, budget, options);
      segment.compressedSize = source.offset - offset;
      segments.push(segment);
      await visitor.segmentEnd?.(segment);
    }
    if (segments.length === 0) {
      throw new ExtractError('E-NOT-IMAGE', `${path}: not an initrd: ${source.size === 0 ? 'the file is empty' : 'it holds only NUL bytes'}`);
    }
    return { segments, fileSize: source.size };
  } finally {
    await source.close();
  }
}

interface Budget {
  left: number;
  max: number;
}

function spend(budget: Budget, n: number, segment: SegmentInfo): void {
  budget.left -= n;
  if (budget.left < 0) {
    throw new ExtractError(
      'E-MAX-SIZE',
      `${segmentLabel(segment)}: the cpio data exceeds the ${budget.max}-byte limit`,
      'raise --max-size if this image is really that large',
    );
  }
}

/** Uncompressed cpio in the file itself, up to its trailer; offsets are file offsets. */
async function readPlainSegment(source: ByteSource, segment: SegmentInfo, visitor: InitrdVisitor, budget: Budget): Promise<void> {
  const feed = new CpioFeed(visitor, segment, source.offset, budget, true);
  for (;;) {
    const chunkOffset = source.offset;
    const chunk = await source.read();
    if (!chunk) {
      feed.end();
      return;
    }
    spend(budget, chunk.length, segment);
    const trailerEnd = await feed.push(chunk);
    const used = trailerEnd === undefined ? chunk.length : trailerEnd - chunkOffset;
    budget.left += chunk.length - used;
    segment.size += used;
    if (trailerEnd !== undefined) {
      source.unread(chunk.subarray(used));
      return;
    }
  }
}

async function readCompressedSegment(
  source: ByteSource,
  segment: SegmentInfo,
  format: Parameters<typeof decompressStream>[0]['format'],
  visitor: InitrdVisitor,
  budget: Budget,
  options: ReadInitrdOptions,
): Promise<void> {
  const label = segmentLabel(segment);
  const feed = new CpioFeed(visitor, segment, 0, budget, false);
  const sizer = options.chunkSize;
  await decompressStream({
    source,
    format,
    label,
    warnings: options.warnings,
    transientOutput: true,
    onOutput: async (chunk) => {
      spend(budget, chunk.length, segment);
      segment.size += chunk.length;
      if (!sizer) {
        await feed.push(chunk);
        return;
      }
      for (let i = 0; i < chunk.length; ) {
        const n = Math.max(1, Math.floor(sizer()));
        await feed.push(chunk.subarray(i, i + n));
        i += n;
      }
    },
  });
  feed.end();
  if (feed.stoppedAt !== undefined) {
    options.warnings.warn(
      'W-TRAILING-DATA',
      `${label}: ${segment.size - feed.stoppedAt} bytes of its decompressed data, from byte ${feed.stoppedAt}, follow the last ${TRAILER_NAME} and are not cpio; the kernel stops with "no cpio magic" there`,
    );
  }
}

type CpioEvent =
  | { kind: 'entry'; header: NewcHeader }
  | { kind: 'data'; chunk: Buffer; header: NewcHeader }
  | { kind: 'end'; header: NewcHeader }
  | { kind: 'trailer'; offset: number };

/**
 * NewcReader calls back synchronously; the visitor is async. Events of one chunk are queued,
 * then delivered in order with awaits. In `splitAtTrailer` mode the segment ends at the first
 * trailer: later events of the chunk are dropped and its bytes re-read as the next segment.
 */
class CpioFeed {
  private events: CpioEvent[] = [];
  private readonly reader: NewcReader;

  constructor(
    private readonly visitor: InitrdVisitor,
    private readonly segment: SegmentInfo,
    offset: number,
    private readonly budget: Budget,
    private readonly splitAtTrailer: boolean,
  ) {
    this.reader = new NewcReader(
      {
        onEntry: (header) => this.events.push({ kind: 'entry', header }),
        onData: (chunk, header) => this.events.push({ kind: 'data', chunk, header }),
        onEntryEnd: (header) => this.events.push({ kind: 'end', header }),
        onTrailer: (at) => this.events.push({ kind: 'trailer', offset: at }),
      },
      { offset },
    );
  }

  get stoppedAt(): number | undefined {
    return this.reader.stoppedAt;
  }

  /** Returns the offset just past the trailer when the segment ended in this chunk. */
  async push(chunk: Buffer): Promise<number | undefined> {
    let failure: unknown;
    try {
      this.reader.push(chunk);
    } catch (err) {
      failure = err;
    }
    // Entries before a corrupt spot are delivered first, so the outcome does not depend on
    // how the input was cut into chunks.
    const events = this.events;
    this.events = [];
    for (const event of events) {
      switch (event.kind) {
        case 'entry': {
          const h = event.header;
          this.segment.entries++;
          // The whole chunk was counted before parsing, so the data in it is not owed twice.
          if (h.type === 'file' && h.size > this.budget.left + chunk.length) {
            throw new ExtractError(
              'E-MAX-SIZE',
              `${segmentLabel(this.segment)}: cpio entry '${h.path}' at byte ${h.offset} declares ${h.size} bytes, over what is left of the ${this.budget.max}-byte limit`,
              'raise --max-size if this image is really that large',
            );
          }
          await this.visitor.entry?.(h, this.segment);
          break;
        }
        case 'data':
          await this.visitor.data?.(event.chunk, event.header);
          break;
        case 'end':
          await this.visitor.entryEnd?.(event.header);
          break;
        case 'trailer':
          this.segment.archives++;
          await this.visitor.archiveEnd?.(this.segment);
          if (this.splitAtTrailer) return event.offset + TRAILER_SIZE;
      }
    }
    if (failure !== undefined) throw this.wrap(failure);
    return undefined;
  }

  end(): void {
    try {
      this.reader.end();
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private wrap(err: unknown): unknown {
    if (!(err instanceof RambootError) || err instanceof ExtractError) return err;
    const id = /truncated|is empty/.test(err.message) ? 'E-TRUNCATED' : 'E-CORRUPT';
    const where = this.segment.compression === 'none' ? segmentLabel(this.segment) : `${segmentLabel(this.segment)}, offsets in its decompressed data`;
    return new ExtractError(id, `${where}: ${err.message}`, err.hint, { cause: err });
  }
}
