// The plain ELF bytes of the modules a build packs, read once each. Compressed ones are
// decompressed in parallel: .ko.xz/.ko.zst in batches, one decompressor per core
// (batch-decompress.ts), .ko.gz through zlib. A module whose .modinfo an on-demand index has not
// read yet (read-index.ts) gets its firmware= and weakdep= from these same bytes, so nothing is
// read or decompressed twice.
import { availableParallelism } from 'node:os';
import { RootResolver } from '../rootfs/root-path.js';
import { decompressEach } from './batch-decompress.js';
import { bufferReader } from './elf-section.js';
import { readModinfo } from './modinfo.js';
import { DECOMPRESSOR, moduleCompression, moduleHostPath, readModuleBytes } from './module-file.js';
import { mapLimit } from './pool.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

/** Bytes of each of `infos` (modules of `index`), in order; fills in the .modinfo facts the index
 * has not read for them. Paths are resolved inside the index's root first. */
export async function readModuleFiles(index: ModuleIndex, infos: readonly ModuleInfo[]): Promise<Buffer[]> {
  const resolver = new RootResolver(index.root);
  const hostPaths: string[] = new Array(infos.length);
  await mapLimit([...infos.keys()], 32, async (i) => {
    hostPaths[i] = await moduleHostPath(index, infos[i]!.path, resolver);
  });
  const out: Buffer[] = new Array(infos.length);
  const use = async (i: number, bytes: Buffer) => {
    out[i] = bytes;
    const info = infos[i]!;
    if (!index.modinfoUnread?.has(info.name)) return;
    const modinfo = await readModinfo(bufferReader(bytes), hostPaths[i]!);
    info.firmware = modinfo.firmware;
    info.weakdeps = modinfo.weakdeps;
    index.modinfoUnread.delete(info.name);
  };
  const byKind = { plain: [] as number[], gz: [] as number[], xz: [] as number[], zst: [] as number[] };
  infos.forEach((info, i) => byKind[moduleCompression(info.path) ?? 'plain'].push(i));
  const direct = (indexes: number[], limit: number) =>
    mapLimit(indexes, limit, async (i) => use(i, await readModuleBytes(hostPaths[i]!, moduleCompression(infos[i]!.path))));
  const batched = (indexes: number[], kind: 'xz' | 'zst') =>
    decompressEach(DECOMPRESSOR[kind], indexes.map((i) => hostPaths[i]!), availableParallelism(), (k, bytes) => use(indexes[k]!, bytes));
  await Promise.all([direct(byKind.plain, 32), direct(byKind.gz, 8), batched(byKind.xz, 'xz'), batched(byKind.zst, 'zst')]);
  return out;
}
