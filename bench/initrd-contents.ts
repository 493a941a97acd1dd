// What is inside an initrd, segment by segment (early uncompressed cpio(s), then a compressed
// main cpio), counted the same way for every builder: entries, regular files, kernel modules.
// Uncompressed segments are walked with ramboot's newc reader (it stops at the first non-cpio
// byte after a trailer, like the kernel's unpacker); a compressed segment is decompressed by the
// system tool and is taken to run to the end of the file, as unmkinitramfs assumes too.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { detectFormat, type SegmentFormat } from '../src/compress/magic.js';
import { NewcReader } from '../src/cpio/newc-reader.js';

export interface SegmentInfo {
  offset: number;
  format: SegmentFormat;
  /** Bytes of the segment in the file (a compressed one: to the end of the file). */
  bytes: number;
  entries: number;
  files: number;
  modules: number;
  /** Uncompressed cpio bytes. */
  cpioBytes: number;
}

export interface InitrdContents {
  size: number;
  segments: SegmentInfo[];
  entries: number;
  files: number;
  modules: number;
}

const MODULE_NAME = /\.ko(\.(xz|zst|gz))?$/;

const DECOMPRESSORS: Partial<Record<SegmentFormat, string[]>> = {
  zstd: ['zstd', '-dc'],
  gzip: ['gzip', '-dc'],
  xz: ['xz', '-dc'],
  'lz4-legacy': ['lz4', '-dc'],
  bzip2: ['bzip2', '-dc'],
  lzma: ['xz', '--format=lzma', '-dc'],
};

function countCpio(buf: Buffer, offset: number): { counts: Omit<SegmentInfo, 'offset' | 'format' | 'bytes' | 'cpioBytes'>; stoppedAt: number | undefined; end: number } {
  const counts = { entries: 0, files: 0, modules: 0 };
  const reader = new NewcReader(
    {
      onEntry: (header) => {
        counts.entries++;
        if (header.type === 'file') {
          counts.files++;
          if (MODULE_NAME.test(header.path)) counts.modules++;
        }
      },
    },
    { offset },
  );
  reader.push(buf.subarray(offset));
  reader.end();
  return { counts, stoppedAt: reader.stoppedAt, end: reader.offset };
}

export async function readInitrdContents(path: string): Promise<InitrdContents> {
  const buf = await readFile(path);
  const segments: SegmentInfo[] = [];
  let offset = 0;
  while (offset < buf.length) {
    while (offset < buf.length && buf[offset] === 0) offset++;
    if (offset >= buf.length) break;
    const format = detectFormat(buf.subarray(offset, offset + 8));
    if (format === 'cpio') {
      const { counts, stoppedAt, end } = countCpio(buf, offset);
      const next = stoppedAt ?? end;
      segments.push({ offset, format, bytes: next - offset, cpioBytes: next - offset, ...counts });
      if (stoppedAt === undefined) break;
      offset = stoppedAt;
      continue;
    }
    const tool = DECOMPRESSORS[format];
    if (!tool) throw new Error(`${path}: cannot read a ${format} segment at byte ${offset}`);
    // Trailing padding after the stream makes some decompressors warn (gzip: "trailing garbage
    // ignored", exit 2); what they decoded is still complete, so only the output is checked.
    const result = await execa(tool[0]!, tool.slice(1), { input: buf.subarray(offset), encoding: 'buffer', reject: false, maxBuffer: 2 ** 31 });
    const out = Buffer.from(result.stdout as Uint8Array);
    if (out.length === 0) throw new Error(`${path}: ${tool.join(' ')} decoded nothing at byte ${offset}: ${String(result.stderr)}`);
    const { counts } = countCpio(out, 0);
    segments.push({ offset, format, bytes: buf.length - offset, cpioBytes: out.length, ...counts });
    break;
  }
  const sum = (key: 'entries' | 'files' | 'modules') => segments.reduce((n, s) => n + s[key], 0);
  return { size: buf.length, segments, entries: sum('entries'), files: sum('files'), modules: sum('modules') };
}
