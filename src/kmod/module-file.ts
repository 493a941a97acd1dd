// Module files on disk: plain `.ko` or compressed `.ko.xz` / `.ko.zst` / `.ko.gz` (kbuild's
// CONFIG_MODULE_COMPRESS_*). Busybox insmod/modprobe load plain ELF only, so the initrd gets
// every module decompressed. xz and zstd run as the system binaries; gzip is node:zlib.
// A module's path is resolved inside the index's root before anything opens it: a `.ko` that is
// a symlink to a host file names the root's file of that name, never the host's.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { inputError } from '../errors.js';
import { RootResolver } from '../rootfs/root-path.js';
import { decompressFile } from './batch-decompress.js';
import { bufferReader, type ReadAt } from './elf-section.js';
import { canonicalModuleName, readModinfo, type Modinfo } from './modinfo.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

export type ModuleCompression = 'xz' | 'zst' | 'gz';

const MODULE_FILE = /\.ko(?:\.(xz|zst|gz))?$/;
const gunzipAsync = promisify(gunzip);
const STALE_HINT = 'run depmod in the root if modules.dep is stale; a symlinked module is read inside the root';

export function isModuleFile(name: string): boolean {
  return MODULE_FILE.test(name);
}

export function moduleCompression(path: string): ModuleCompression | undefined {
  return MODULE_FILE.exec(path)?.[1] as ModuleCompression | undefined;
}

/** kernel/crypto/lzo-rle.ko.xz -> lzo_rle (depmod names modules after their file). */
export function moduleNameOfPath(path: string): string {
  return canonicalModuleName(basename(path).replace(MODULE_FILE, ''));
}

/** Path the module gets inside the initrd (relative to lib/modules/KVER/), compression suffix dropped. */
export function packedModulePath(info: Pick<ModuleInfo, 'path'>): string {
  return info.path.replace(/\.ko\.(?:xz|zst|gz)$/, '.ko');
}

export const DECOMPRESSOR = { xz: 'xz', zst: 'zstd' } as const;

/** The module at `relPath` (relative to the modules dir) as the root names it. Not normalised:
 * a `..` in a stale or hostile modules.dep is resolved, and refused above the root, by RootResolver. */
export function moduleRootPath(index: Pick<ModuleIndex, 'dirInRoot'>, relPath: string): string {
  return `${index.dirInRoot === '/' ? '' : index.dirInRoot}/${relPath}`;
}

/** Host path of a module file of the index, resolved inside its root: a regular file, or an
 * error naming the module as the root sees it. */
export async function moduleHostPath(index: Pick<ModuleIndex, 'root' | 'dirInRoot'>, relPath: string, paths = new RootResolver(index.root)): Promise<string> {
  const rootPath = moduleRootPath(index, relPath);
  const entry = await paths.lookup(rootPath);
  if (!entry) throw inputError(`cannot read module ${rootPath}: ENOENT, not in the root ${paths.root}`, STALE_HINT);
  if (!entry.stat.isFile()) throw inputError(`cannot read module ${rootPath}: ${entry.rootPath} is not a regular file`, STALE_HINT);
  return entry.hostPath;
}

async function readRaw(file: string): Promise<Buffer> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw inputError(`cannot read module ${file}: ${error.code ?? error.message}`, STALE_HINT);
  });
}

/** The plain ELF bytes of the module file at host path `file` (already resolved inside its
 * root), decompressed per `compression`, which comes from the module's name in the tree. */
export async function readModuleBytes(file: string, compression = moduleCompression(file)): Promise<Buffer> {
  if (compression === undefined) return readRaw(file);
  if (compression === 'gz') {
    return gunzipAsync(await readRaw(file)).catch((error: Error) => {
      throw inputError(`${file}: corrupt gzip data (${error.message})`);
    });
  }
  return decompressFile(DECOMPRESSOR[compression], file);
}

/** The module file's bytes, decompressed if .ko.xz/.ko.zst/.ko.gz (busybox modprobe/insmod load plain .ko). */
export async function readModuleFile(index: Pick<ModuleIndex, 'root' | 'dirInRoot'>, info: Pick<ModuleInfo, 'path'>): Promise<Buffer> {
  return readModuleBytes(await moduleHostPath(index, info.path), moduleCompression(info.path));
}

/** ReadAt over an open file: a module's .modinfo is found with a few small reads. */
function fileReader(handle: FileHandle): ReadAt {
  return async (offset, length) => {
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  };
}

/** The .modinfo of the module at host path `file` (resolved inside its root); errors name the file. */
export async function readModuleModinfo(file: string, compression = moduleCompression(file)): Promise<Modinfo> {
  if (compression !== undefined) return readModinfo(bufferReader(await readModuleBytes(file, compression)), file);
  const handle = await open(file).catch((error: NodeJS.ErrnoException) => {
    throw inputError(`cannot read module ${file}: ${error.code ?? error.message}`, STALE_HINT);
  });
  try {
    return await readModinfo(fileReader(handle), file);
  } finally {
    await handle.close();
  }
}
