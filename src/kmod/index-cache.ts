// The parsed module index of an on-demand read (read-index.ts), kept between builds. Parsing a
// cloud kernel's modules.dep/alias/softdep/builtin is ~30 ms of CPU in a ~0.5 s initrd build,
// and a rebuild loop parses the same files every time. The key is what the parse read: the
// modules dir and root, and each index file's device, inode, size and mtime (depmod writes its
// files under a temporary name and renames them, so a new depmod run is a new inode). A miss,
// an unreadable or foreign entry, or a cache directory that cannot be written is a fresh parse,
// never an error. RAMBOOT_KMOD_CACHE=DIR puts it elsewhere, RAMBOOT_KMOD_CACHE=off turns it off.
import { createHash } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModuleIndex, ModuleInfo } from './types.js';

/** Bump when ModuleIndex or its parse changes: older entries are then never read. */
const FORMAT = 1;

/** $RAMBOOT_KMOD_CACHE, else /var/cache/ramboot/kmod-index for root (where ramboot's other
 * caches live) and ${XDG_CACHE_HOME:-~/.cache}/ramboot/kmod-index for anyone else, who cannot
 * write there; undefined when RAMBOOT_KMOD_CACHE=off. */
export function indexCacheDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string | undefined {
  if (env.RAMBOOT_KMOD_CACHE === 'off') return undefined;
  if (env.RAMBOOT_KMOD_CACHE) return env.RAMBOOT_KMOD_CACHE;
  if (uid === 0) return '/var/cache/ramboot/kmod-index';
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ramboot', 'kmod-index');
}

/** The program doing the parse: a rebuilt dist/ramboot (a new single binary) never reads an
 * older binary's entries. Under node + tsx this is node itself, so a change to the parse in
 * src/kmod/ must bump FORMAT. */
function programIdentity(): [number, number] | null {
  try {
    const st = statSync(process.execPath);
    return [st.size, st.mtimeMs];
  } catch {
    return null;
  }
}

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** The key of one parse: `<where>-<which files>`, where is the tree (so a newer parse of the
 * same tree replaces the older entry) and which is each index file's version (null = absent). */
export function indexCacheKey(tree: Pick<ModuleIndex, 'root' | 'dir' | 'dirInRoot'>, files: ReadonlyArray<readonly [string, Stats | undefined]>): string {
  const parts = files.map(([name, st]) => (st ? [name, st.dev, st.ino, st.size, st.mtimeMs] : [name, null]));
  return `${sha256([tree.root, tree.dir, tree.dirInRoot]).slice(0, 16)}-${sha256([FORMAT, programIdentity(), parts])}`;
}

interface Stored {
  format: number;
  key: string;
  index: Omit<ModuleIndex, 'modules' | 'builtin' | 'builtinAliases' | 'modinfoUnread'> & {
    modules: ModuleInfo[];
    builtin: string[];
    builtinAliases: Array<[string, string[]]>;
  };
}

/** The JSON form: Maps and Sets as arrays. modinfoUnread is every module (an on-demand read
 * has read no .modinfo yet), so it is not stored. */
export function renderStoredIndex(key: string, index: ModuleIndex): string {
  const { modules, builtin, builtinAliases, modinfoUnread: _unread, ...rest } = index;
  const stored: Stored = { format: FORMAT, key, index: { ...rest, modules: [...modules.values()], builtin: [...builtin], builtinAliases: [...builtinAliases] } };
  return JSON.stringify(stored);
}

/** The index back from its JSON form, or undefined when the text is not an entry for `key`. */
export function parseStoredIndex(key: string, text: string): ModuleIndex | undefined {
  let stored: Stored;
  try {
    stored = JSON.parse(text) as Stored;
  } catch {
    return undefined;
  }
  if (stored?.format !== FORMAT || stored.key !== key || !Array.isArray(stored.index?.modules)) return undefined;
  const { modules, builtin, builtinAliases, ...rest } = stored.index;
  const byName = new Map(modules.map((m) => [m.name, m]));
  return { ...rest, modules: byName, builtin: new Set(builtin), builtinAliases: new Map(builtinAliases), modinfoUnread: new Set(byName.keys()) };
}

/** Entries kept: a few kernels of a few roots. Temporary roots (tests, scratch builds) would
 * otherwise add one each forever. */
const MAX_ENTRIES = 16;

/** Drops the same tree's older entries (an earlier depmod run: never read again), then the
 * least recently written ones past MAX_ENTRIES. */
async function prune(dir: string, key: string): Promise<void> {
  const where = key.slice(0, key.indexOf('-') + 1);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && n !== `${key}.json`);
  const others: Array<{ name: string; mtimeMs: number }> = [];
  for (const name of names) {
    if (name.startsWith(where)) await rm(join(dir, name), { force: true });
    else others.push({ name, mtimeMs: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 });
  }
  others.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of others.slice(MAX_ENTRIES - 1)) await rm(join(dir, old.name), { force: true });
}

export async function readCachedIndex(key: string, dir = indexCacheDir()): Promise<ModuleIndex | undefined> {
  if (!dir) return undefined;
  const text = await readFile(join(dir, `${key}.json`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseStoredIndex(key, text);
}

/** Stores `index` (before anything fills in its .modinfo facts); written under a temporary name
 * and renamed, so a concurrent build reads a whole entry or none. */
export async function writeCachedIndex(key: string, index: ModuleIndex, dir = indexCacheDir()): Promise<void> {
  if (!dir) return;
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, renderStoredIndex(key, index));
    await rename(tmp, join(dir, `${key}.json`));
    await prune(dir, key);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
}
