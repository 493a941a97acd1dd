// One kernel's modules, read from the TARGET root's lib/modules/KVER — never the host's. depmod's
// index files are authoritative when present (they encode depmod.d overrides and which of two
// same-named files wins); a bare package unpack (a Debian .deb has no modules.dep) falls back to
// each module's .modinfo: modpost wrote its depends= from the same symbol resolution depmod
// does, and alias=/softdep= are what depmod copies into modules.alias/modules.softdep.
// Firmware names exist only in .modinfo, so every module's .modinfo is read either way.
import { availableParallelism } from 'node:os';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { inputError } from '../errors.js';
import {
  parseBuiltinModinfoAliases,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseModulesSoftdep,
} from './index-files.js';
import { decompressEach } from './batch-decompress.js';
import { bufferReader } from './elf-section.js';
import { readModinfo, type Modinfo } from './modinfo.js';
import { DECOMPRESSOR, isModuleFile, moduleCompression, moduleNameOfPath, readModuleModinfo } from './module-file.js';
import { mapLimit } from './pool.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

async function readOptional(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw inputError(`cannot read ${path}: ${error.code ?? error.message}`);
  });
}

/** DKMS and vendor drivers install into updates/ to override the kernel's own module; the
 * usual depmod.d configuration (`search updates built-in`) prefers them, so do we. */
function searchRank(path: string): number {
  return path.startsWith('updates/') ? 0 : path.startsWith('kernel/') ? 2 : 1;
}

/** Every module file under `dir` (build/ and source/ are symlinks into kernel headers). When
 * two files give the same module name, one wins by search rank, then path order. */
async function findModuleFiles(dir: string, warnings: string[]): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const byName = new Map<string, string[]>();
  for (const entry of entries.sort()) {
    if (!isModuleFile(entry) || entry.startsWith('build/') || entry.startsWith('source/')) continue;
    const name = moduleNameOfPath(entry);
    const list = byName.get(name);
    if (list) list.push(entry);
    else byName.set(name, [entry]);
  }
  const chosen: string[] = [];
  for (const [name, paths] of byName) {
    paths.sort((a, b) => searchRank(a) - searchRank(b) || (a < b ? -1 : 1));
    chosen.push(paths[0]!);
    if (paths.length > 1) warnings.push(`module ${name} exists as ${paths.join(', ')}; using ${paths[0]}`);
  }
  return chosen;
}

/** .modinfo of every path: plain files with many small reads in flight; .ko.gz through zlib;
 * .ko.xz/.ko.zst in batches, one decompressor process per core (batch-decompress.ts). */
async function readAllModinfo(dir: string, paths: readonly string[]): Promise<Modinfo[]> {
  const result: Modinfo[] = new Array(paths.length);
  const byKind = { plain: [] as number[], gz: [] as number[], xz: [] as number[], zst: [] as number[] };
  paths.forEach((path, i) => byKind[moduleCompression(path) ?? 'plain'].push(i));
  const direct = (indexes: number[], limit: number) =>
    mapLimit(indexes, limit, async (i) => {
      result[i] = await readModuleModinfo(dir, paths[i]!);
    });
  const batched = async (indexes: number[], kind: 'xz' | 'zst') => {
    const files = indexes.map((i) => join(dir, paths[i]!));
    // Each process holds a batch (up to BATCH_BYTES) in memory; a few cores' worth is plenty.
    await decompressEach(DECOMPRESSOR[kind], files, Math.min(availableParallelism(), 8), async (k, bytes) => {
      result[indexes[k]!] = await readModinfo(bufferReader(bytes), files[k]!);
    });
  };
  await Promise.all([direct(byKind.plain, 32), direct(byKind.gz, 8), batched(byKind.xz, 'xz'), batched(byKind.zst, 'zst')]);
  return result;
}

/** Reads modules.dep/modules.alias/modules.softdep/modules.builtin when present; when absent derives the same from each module's .modinfo ELF section (depends=, alias=, softdep=, firmware=). */
export async function readModuleIndex(modulesDir: string): Promise<ModuleIndex> {
  const dir = resolve(modulesDir);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw inputError(`kernel modules directory ${dir} does not exist`, 'install the kernel (and its modules package) into the root');
  }
  const file = (name: string) => readOptional(`${dir}/${name}`);
  const [depText, aliasText, softdepText, builtinText, builtinModinfo] = await Promise.all(
    ['modules.dep', 'modules.alias', 'modules.softdep', 'modules.builtin', 'modules.builtin.modinfo'].map(file),
  );
  const warnings: string[] = [];
  const depMap = depText && parseModulesDep(depText.toString('utf8'), dir);
  const paths = depMap ? [...depMap.keys()] : await findModuleFiles(dir, warnings);
  const modinfos = await readAllModinfo(dir, paths);
  const aliasMap = aliasText && parseModulesAlias(aliasText.toString('utf8'));
  const softdepMap = softdepText && parseModulesSoftdep(softdepText.toString('utf8'));

  const modules = new Map<string, ModuleInfo>();
  paths.forEach((path, i) => {
    const name = moduleNameOfPath(path);
    const modinfo = modinfos[i]!;
    if (modules.has(name)) {
      warnings.push(`modules.dep lists module ${name} twice; using ${modules.get(name)!.path}`);
      return;
    }
    const softdep = softdepMap ? (softdepMap.get(name) ?? { pre: [], post: [] }) : { pre: modinfo.softdepPre, post: modinfo.softdepPost };
    modules.set(name, {
      name,
      path,
      depends: depMap ? depMap.get(path)!.map(moduleNameOfPath) : modinfo.depends,
      softdepPre: softdep.pre,
      softdepPost: softdep.post,
      weakdeps: modinfo.weakdeps,
      aliases: aliasMap ? (aliasMap.get(name) ?? []) : modinfo.aliases,
      firmware: modinfo.firmware,
    });
  });
  if (modules.size === 0 && !builtinText) {
    throw inputError(`${dir} has no kernel modules and no modules.builtin`, 'point at lib/modules/KVER of an installed kernel');
  }

  const builtinPaths = builtinText ? parseModulesBuiltin(builtinText.toString('utf8')) : [];
  const builtin = new Set(builtinPaths.map(moduleNameOfPath));
  const builtinAliases = new Map<string, string[]>();
  for (const { name, alias } of builtinModinfo ? parseBuiltinModinfoAliases(builtinModinfo) : []) {
    builtin.add(name);
    const names = builtinAliases.get(alias);
    if (!names) builtinAliases.set(alias, [name]);
    else if (!names.includes(name)) names.push(name);
  }
  return {
    kver: basename(dir),
    dir,
    modules,
    builtin,
    builtinPaths,
    builtinAliases,
    source: depMap ? 'modules.dep' : 'modinfo',
    warnings,
  };
}
