// Module files on disk: plain `.ko` or compressed `.ko.xz` / `.ko.zst` / `.ko.gz` (kbuild's
// CONFIG_MODULE_COMPRESS_*). Busybox insmod/modprobe load plain ELF only, so the initrd gets
// every module decompressed. xz and zstd run as the system binaries; gzip is node:zlib.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { inputError } from '../errors.js';
import { decompressFile } from './batch-decompress.js';
import { bufferReader, type ReadAt } from './elf-section.js';
import { canonicalModuleName, readModinfo, type Modinfo } from './modinfo.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

export type ModuleCompression = 'xz' | 'zst' | 'gz';

const MODULE_FILE = /\.ko(?:\.(xz|zst|gz))?$/;
const gunzipAsync = promisify(gunzip);

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

async function readRaw(file: string): Promise<Buffer> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw inputError(`cannot read module ${file}: ${error.code ?? error.message}`, 'run depmod in the root if modules.dep is stale');
  });
}

/** The plain ELF bytes of a module file at an absolute path. */
export async function readModuleBytes(file: string): Promise<Buffer> {
  const compression = moduleCompression(file);
  if (compression === undefined) return readRaw(file);
  if (compression === 'gz') {
    return gunzipAsync(await readRaw(file)).catch((error: Error) => {
      throw inputError(`${file}: corrupt gzip data (${error.message})`);
    });
  }
  return decompressFile(DECOMPRESSOR[compression], file);
}

/** The module file's bytes, decompressed if .ko.xz/.ko.zst/.ko.gz (busybox modprobe/insmod load plain .ko). */
export async function readModuleFile(index: Pick<ModuleIndex, 'dir'>, info: Pick<ModuleInfo, 'path'>): Promise<Buffer> {
  return readModuleBytes(join(index.dir, info.path));
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

/** The .modinfo of the module at `relPath` under `dir`; errors name the file. */
export async function readModuleModinfo(dir: string, relPath: string): Promise<Modinfo> {
  const file = join(dir, relPath);
  if (moduleCompression(relPath) !== undefined) return readModinfo(bufferReader(await readModuleBytes(file)), file);
  const handle = await open(file).catch((error: NodeJS.ErrnoException) => {
    throw inputError(`cannot read module ${file}: ${error.code ?? error.message}`, 'run depmod in the root if modules.dep is stale');
  });
  try {
    return await readModinfo(fileReader(handle), file);
  } finally {
    await handle.close();
  }
}
