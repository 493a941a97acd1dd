// One kernel's modules, read from the TARGET root's lib/modules/KVER — never the host's. depmod's
// index files are authoritative when present (they encode depmod.d overrides and which of two
// same-named files wins); a bare package unpack (a Debian .deb has no modules.dep) falls back to
// each module's .modinfo: modpost wrote its depends= from the same symbol resolution depmod
// does, and alias=/softdep= are what depmod copies into modules.alias/modules.softdep.
// Firmware names (and weakdep=) exist only in .modinfo. A build needs them only for the modules
// it packs, so with depmod's index files present it reads the index in 'on-demand' mode and the
// .modinfo of just those modules later (read-modules.ts): ~40 of a cloud kernel's ~1,100, where
// reading all of them was half of a build's time. Every other reader gets every module's.
// An on-demand parse is kept between builds (index-cache.ts: bump its FORMAT when this changes).
// Every file is resolved inside the root first (src/rootfs/root-path.ts): a symlinked module,
// index file or modules dir names a file of the root, never one of the build host.
import { availableParallelism } from 'node:os';
import { readdir, readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { inputError } from '../errors.js';
import { RootResolver, type RootEntry } from '../rootfs/root-path.js';
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
import { DECOMPRESSOR, isModuleFile, moduleCompression, moduleHostPath, moduleNameOfPath, moduleRootPath, readModuleModinfo } from './module-file.js';
import { indexCacheKey, readCachedIndex, writeCachedIndex } from './index-cache.js';
import { mapLimit } from './pool.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

/** An index file of the modules dir (modules.dep, ...), as resolved inside the root; absent is undefined. */
async function readOptional(entry: RootEntry | undefined, name: string, root: string): Promise<Buffer | undefined> {
  if (!entry) return undefined;
  return readFile(entry.hostPath).catch((error: NodeJS.ErrnoException) => {
    throw inputError(`cannot read ${entry.rootPath} (${name}) of the root ${root}: ${error.code ?? error.message}`);
  });
}

/** DKMS and vendor drivers install into updates/ to override the kernel's own module; the
 * usual depmod.d configuration (`search updates built-in`) prefers them, so do we. */
function searchRank(path: string): number {
  return path.startsWith('updates/') ? 0 : path.startsWith('kernel/') ? 2 : 1;
}

/** Module files under the modules dir, relative to it. Symlinked directories are followed as
 * depmod follows them, but resolved inside the root (fs.readdir's `recursive` would follow them
 * on the host, even into the host's own modules), each real directory once, so a link loop ends.
 * A symlinked file with a module's name is listed with the host path it resolves to; a regular
 * file's host path is its directory's (already symlink-free) plus its name, with no more lstat.
 * build/ and source/ are links into the kernel headers: never walked. */
async function listModuleFiles(paths: RootResolver, tree: Pick<ModuleIndex, 'dir' | 'dirInRoot'>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const seen = new Set<string>([tree.dirInRoot]);
  const walk = async (hostDir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(hostDir, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (prefix === '' && (entry.name === 'build' || entry.name === 'source')) continue;
      if (entry.isDirectory()) await walk(join(hostDir, entry.name), rel);
      else if (entry.isFile() && isModuleFile(entry.name)) found.set(rel, join(hostDir, entry.name));
      else if (entry.isSymbolicLink()) {
        const target = await paths.lookup(moduleRootPath(tree, rel));
        if (target?.stat.isFile() && isModuleFile(entry.name)) found.set(rel, target.hostPath);
        else if (target?.stat.isDirectory() && !seen.has(target.rootPath)) {
          seen.add(target.rootPath);
          await walk(target.hostPath, rel);
        }
      }
    }
  };
  await walk(tree.dir, '');
  return found;
}

/** Every module file of the modules dir (relative path -> host path). When two files give the
 * same module name, one wins by search rank, then path order. */
async function findModuleFiles(paths: RootResolver, tree: Pick<ModuleIndex, 'dir' | 'dirInRoot'>, warnings: string[]): Promise<Map<string, string>> {
  const entries = await listModuleFiles(paths, tree);
  const byName = new Map<string, string[]>();
  for (const entry of [...entries.keys()].sort()) {
    const name = moduleNameOfPath(entry);
    const list = byName.get(name);
    if (list) list.push(entry);
    else byName.set(name, [entry]);
  }
  const chosen = new Map<string, string>();
  for (const [name, paths] of byName) {
    paths.sort((a, b) => searchRank(a) - searchRank(b) || (a < b ? -1 : 1));
    chosen.set(paths[0]!, entries.get(paths[0]!)!);
    if (paths.length > 1) warnings.push(`module ${name} exists as ${paths.join(', ')}; using ${paths[0]}`);
  }
  return chosen;
}

/** .modinfo of every path: plain files with many small reads in flight; .ko.gz through zlib;
 * .ko.xz/.ko.zst in batches, one decompressor process per core (batch-decompress.ts). Paths
 * whose host path the scan did not already give (modules.dep's) are resolved inside the root. */
async function readAllModinfo(tree: Pick<ModuleIndex, 'root' | 'dirInRoot'>, resolver: RootResolver, paths: readonly string[], known: ReadonlyMap<string, string>): Promise<Modinfo[]> {
  const hostPaths: string[] = new Array(paths.length);
  await mapLimit([...paths.keys()], 32, async (i) => {
    hostPaths[i] = known.get(paths[i]!) ?? (await moduleHostPath(tree, paths[i]!, resolver));
  });
  const result: Modinfo[] = new Array(paths.length);
  const byKind = { plain: [] as number[], gz: [] as number[], xz: [] as number[], zst: [] as number[] };
  paths.forEach((path, i) => byKind[moduleCompression(path) ?? 'plain'].push(i));
  const direct = (indexes: number[], limit: number) =>
    mapLimit(indexes, limit, async (i) => {
      result[i] = await readModuleModinfo(hostPaths[i]!, moduleCompression(paths[i]!));
    });
  const batched = async (indexes: number[], kind: 'xz' | 'zst') => {
    const files = indexes.map((i) => hostPaths[i]!);
    // Each process holds a batch (up to BATCH_BYTES) in memory; a few cores' worth is plenty.
    await decompressEach(DECOMPRESSOR[kind], files, Math.min(availableParallelism(), 8), async (k, bytes) => {
      result[indexes[k]!] = await readModinfo(bufferReader(bytes), files[k]!);
    });
  };
  await Promise.all([direct(byKind.plain, 32), direct(byKind.gz, 8), batched(byKind.xz, 'xz'), batched(byKind.zst, 'zst')]);
  return result;
}

/** Where `modulesDir` is inside `root` ('/lib/modules/KVER'); `root` defaults to the modules dir itself. */
function locate(modulesDir: string, root: string | undefined): { root: string; dirInRoot: string } {
  const dir = resolve(modulesDir);
  if (root === undefined) return { root: dir, dirInRoot: '/' };
  const rel = relative(resolve(root), dir);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw inputError(`kernel modules directory ${dir} is not inside the root ${root}`, 'modules come from the target root only');
  }
  return { root: resolve(root), dirInRoot: `/${rel.split(sep).join('/')}`.replace(/\/$/, '') || '/' };
}

export interface ReadIndexOptions {
  /** The target root every path is resolved inside; default: the modules dir itself. */
  root?: string;
  /** 'all' (default): every module's .modinfo now. 'on-demand': when modules.dep, modules.alias
   * and modules.softdep all exist, .modinfo waits until readModuleFiles reads the packed modules
   * (index.modinfoUnread lists the rest); without them it is read now either way. A stale
   * modules.dep line naming a missing file is then an error only if that module is packed. */
  modinfo?: 'all' | 'on-demand';
}

const NO_MODINFO: Modinfo = { name: undefined, depends: [], softdepPre: [], softdepPost: [], weakdeps: [], aliases: [], firmware: [] };

/** Reads modules.dep/modules.alias/modules.softdep/modules.builtin when present; when absent derives the same from each module's .modinfo ELF section (depends=, alias=, softdep=, firmware=). */
export async function readModuleIndex(modulesDir: string, options: ReadIndexOptions = {}): Promise<ModuleIndex> {
  const located = locate(modulesDir, options.root);
  const resolver = new RootResolver(located.root);
  const found = await resolver.lookup(located.dirInRoot);
  if (!found?.stat.isDirectory()) {
    throw inputError(`kernel modules directory ${resolve(modulesDir)} does not exist`, 'install the kernel (and its modules package) into the root');
  }
  const dir = found.hostPath;
  const tree = { root: located.root, dir, dirInRoot: found.rootPath };
  const names = ['modules.dep', 'modules.alias', 'modules.softdep', 'modules.builtin', 'modules.builtin.modinfo'];
  const entries = await Promise.all(names.map((name) => resolver.lookup(moduleRootPath(tree, name))));
  // An on-demand read of depmod's files is the same for the same files: kept between builds.
  const cacheable = options.modinfo === 'on-demand' && entries[0] !== undefined && entries[1] !== undefined && entries[2] !== undefined;
  const cacheKey = cacheable ? indexCacheKey(tree, entries.map((e, i) => [names[i]!, e?.stat] as const)) : undefined;
  const cached = cacheKey ? await readCachedIndex(cacheKey) : undefined;
  if (cached) return cached;
  const [depText, aliasText, softdepText, builtinText, builtinModinfo] = await Promise.all(entries.map((entry, i) => readOptional(entry, names[i]!, resolver.root)));
  const warnings: string[] = [];
  // Absolute paths in modules.dep are the root's (old depmod wrote /lib/modules/KVER/...).
  const depMap = depText && parseModulesDep(depText.toString('utf8'), tree.dirInRoot === '/' ? dir : tree.dirInRoot);
  const scanned = depMap ? new Map<string, string>() : await findModuleFiles(resolver, tree, warnings);
  const paths = depMap ? [...depMap.keys()] : [...scanned.keys()];
  const onDemand = options.modinfo === 'on-demand' && depMap !== undefined && aliasText !== undefined && softdepText !== undefined;
  const modinfos = onDemand ? [] : await readAllModinfo(tree, resolver, paths, scanned);
  const aliasMap = aliasText && parseModulesAlias(aliasText.toString('utf8'));
  const softdepMap = softdepText && parseModulesSoftdep(softdepText.toString('utf8'));

  const modules = new Map<string, ModuleInfo>();
  paths.forEach((path, i) => {
    const name = moduleNameOfPath(path);
    const modinfo = onDemand ? NO_MODINFO : modinfos[i]!;
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
      weakdeps: [...modinfo.weakdeps],
      aliases: aliasMap ? (aliasMap.get(name) ?? []) : modinfo.aliases,
      firmware: [...modinfo.firmware],
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
  const index: ModuleIndex = {
    kver: basename(resolve(modulesDir)),
    ...tree,
    modules,
    builtin,
    builtinPaths,
    builtinAliases,
    source: depMap ? 'modules.dep' : 'modinfo',
    warnings,
    ...(onDemand ? { modinfoUnread: new Set(modules.keys()) } : {}),
  };
  if (cacheKey && onDemand) await writeCachedIndex(cacheKey, index);
  return index;
}
