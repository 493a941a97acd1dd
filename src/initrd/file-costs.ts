// What each file of a built initrd costs (`initrd --explain`): its size in the archive and an
// estimate of its share of the compressed image, that file compressed alone with the image's
// codec and level. Files compress a little better together (shared strings between modules),
// so the estimates add up to a bit more than the image; what they rank is what to drop first.
// Read back from the written image, so the numbers are of exactly what was packed.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { toolArgs, type Compression } from '../compress/codecs.js';
import { decodeNewc } from '../cpio/newc-reader.js';
import { mapLimit } from '../kmod/pool.js';
import { toolFailure } from '../util/run-tool.js';

export interface FileCost {
  path: string;
  /** Bytes of the file in the archive (decompressed). */
  bytes: number;
  /** The file compressed alone with the image's codec and level. */
  compressed: number;
}

async function runCodec(tool: string, args: string[], input: Buffer): Promise<Buffer> {
  const result = await execa(tool, args, { input, encoding: 'buffer', reject: false, stripFinalNewline: false, maxBuffer: 1 << 30 });
  if (result.failed) throw toolFailure(tool, args, { ...result, stderr: Buffer.from(result.stderr ?? []).toString('utf8') });
  return Buffer.from(result.stdout);
}

async function compressedSize(kind: Compression, level: number, data: Buffer): Promise<number> {
  if (kind === 'none') return data.length;
  if (kind === 'gzip') return gzipSync(data, { level }).length;
  return (await runCodec(kind, toolArgs(kind, level), data)).length;
}

async function decompress(kind: Compression, image: Buffer): Promise<Buffer> {
  if (kind === 'none') return image;
  if (kind === 'gzip') return gunzipSync(image);
  return runCodec(kind, ['-q', '-d', '-c'], image);
}

/** Every regular file of the single-segment initrd at `path` (as buildInitrd writes it), largest
 * estimate first. */
export async function measureFileCosts(path: string, kind: Compression, level: number): Promise<FileCost[]> {
  const files = decodeNewc(await decompress(kind, await readFile(path))).filter((e) => e.type === 'file');
  const costs: FileCost[] = new Array(files.length);
  await mapLimit([...files.keys()], availableParallelism(), async (i) => {
    const { path: name, data } = files[i]!;
    costs[i] = { path: name, bytes: data.length, compressed: data.length === 0 ? 0 : await compressedSize(kind, level, data) };
  });
  return costs.sort((a, b) => b.compressed - a.compressed || (a.path < b.path ? -1 : 1));
}

/** What a file is, for the totals: a module, firmware, busybox, the boot scripts, or other. */
export function costGroup(path: string): string {
  if (path.startsWith('lib/modules/')) return /\.ko$/.test(path) ? 'kernel modules' : 'module index files';
  if (path.startsWith('lib/firmware/')) return 'firmware';
  if (path === 'bin/busybox') return 'busybox';
  if (path === 'init' || path.startsWith('lib/ramboot/')) return 'boot scripts';
  return 'other files';
}

const kb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`);

/** The --explain size section: totals per group, then every file. */
export function renderFileCosts(costs: readonly FileCost[], kind: Compression, level: number, imageSize: number): string {
  const codec = kind === 'none' ? 'uncompressed' : `${kind} -${level}`;
  const groups = new Map<string, { files: number; bytes: number; compressed: number }>();
  for (const c of costs) {
    const g = groups.get(costGroup(c.path)) ?? { files: 0, bytes: 0, compressed: 0 };
    g.files++;
    g.bytes += c.bytes;
    g.compressed += c.compressed;
    groups.set(costGroup(c.path), g);
  }
  const lines = [`sizes: the image is ${kb(imageSize)}; each file below is ${codec} of that file alone (files share strings, so the sum runs a little over the image)`];
  for (const [name, g] of [...groups].sort((a, b) => b[1].compressed - a[1].compressed)) {
    lines.push(`    ${kb(g.compressed).padStart(9)}  ${name}: ${g.files} file${g.files === 1 ? '' : 's'}, ${kb(g.bytes)} unpacked`);
  }
  lines.push('', `       unpacked  ${codec.padStart(9)}  file`);
  for (const c of costs) lines.push(`    ${kb(c.bytes).padStart(11)}  ${kb(c.compressed).padStart(9)}  /${c.path}`);
  return lines.join('\n');
}
