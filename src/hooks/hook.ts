// Build-time hooks: `hooks/<name>/hook.json` says what a feature needs in the initrd. Hooks are
// data, not code that writes into a staging directory: the builder turns each field into plan
// requests, so a conflict or a missing module names the hook that asked for it. Ordering is by
// explicit `after:` names, never by a numeric file name prefix.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { listAssets } from '../assets.js';
import { inputError } from '../errors.js';
import { checkHookJson, STAGE_HOOK_POINTS, type HookProblem } from './hook-schema.js';

/** A script the boot runs before or after one of the `ram` script's stages. */
export interface StageScript {
  /** `before-<stage>` or `after-<stage>`: the directory under /lib/ramboot/hooks/. */
  when: string;
  /** The file's name in hooks/<name>/. */
  file: string;
  data: Buffer;
}

export { STAGE_HOOK_POINTS };

export interface Hook {
  name: string;
  description: string;
  /** Where it came from: 'shipped' or the --hooks / RAMBOOT_HOOKS directory. */
  source: string;
  /** Hooks that must be applied before this one. */
  after: string[];
  /** The shipped hook this one takes the place of. */
  replaces: string | undefined;
  /** Off unless turned on by --hook NAME. */
  optional: boolean;
  /** Modules (names, aliases or directory prefixes ending in '/') that must be packed or built
   * in. After parsing this also holds every `forceLoad` entry: a force-load is a requirement. */
  modules: string[];
  /** Modules packed when the kernel has them (NIC drivers most kernels lack). */
  optionalModules: string[];
  /** Modules the boot loads whatever the hardware, before coldplug (/etc/ram.conf RAM_FORCE_LOAD):
   * only things no device stands for, such as the filesystems and block layers the boot mounts
   * through (squashfs, overlay, loop), zram and its compressor. Every other packed module — a
   * NIC or storage driver — is loaded by the boot's coldplug when its device is found (its
   * modalias matches), or by the kernel on demand (request_module: `fs-ext4` at mount time). */
  forceLoad: string[];
  /** Busybox applets the boot side calls: checked at build time, not discovered at boot. */
  applets: string[];
  /** Executables of the target root, packed with their libraries (src/initrd/add-binaries.ts). */
  binaries: string[];
  /** Files copied from the target root to the same path in the initrd. */
  files: { path: string; optional: boolean }[];
  /** `stageScripts`: sh scripts from hooks/<name>/ that /init runs at a stage, in listed order. */
  stageScripts: StageScript[];
}

/** `hooks/<name>/hook.json` as errors name it. */
export const hookJsonPath = (name: string) => `hooks/${name}/hook.json`;

/** JSON.parse, or the one problem that it is not JSON. */
export function parseHookJson(text: string): { raw?: unknown; problem?: HookProblem } {
  try {
    return { raw: JSON.parse(text) };
  } catch (error) {
    return { problem: { path: '$', message: `is not valid JSON: ${(error as Error).message}` } };
  }
}

/** `readFile` gives a file next to hook.json (for stageScripts), or undefined when there is none.
 * The first problem the schema (hook-schema.ts) finds is the error; `ramboot hooks check` lists all. */
export function parseHook(name: string, text: string, readFile: (file: string) => Buffer | undefined = () => undefined, source = 'shipped'): Hook {
  const where = hookJsonPath(name);
  const { raw, problem } = parseHookJson(text);
  if (problem) throw inputError(`${where} ${problem.message}`);
  const [first, ...more] = checkHookJson(raw, (file) => readFile(file) !== undefined);
  if (first) {
    const others = more.length > 0 ? `; ${more.length} more: ramboot hooks check DIR lists them` : '';
    throw inputError(`${where}: ${first.message}`, `at ${first.path}${others}`);
  }
  const obj = raw as Record<string, unknown>;
  const list = (key: string) => (obj[key] as string[] | undefined) ?? [];
  const forceLoad = list('forceLoad');
  const stageScripts = Object.entries((obj.stageScripts as Record<string, string[]> | undefined) ?? {}).flatMap(([when, files]) =>
    files.map((file) => ({ when, file, data: readFile(file)! })),
  );
  return {
    name,
    description: obj.description as string,
    source,
    after: list('after'),
    replaces: obj.replaces as string | undefined,
    optional: obj.optional === true,
    modules: [...new Set([...list('modules'), ...forceLoad])],
    optionalModules: list('optionalModules'),
    forceLoad,
    applets: list('applets'),
    binaries: list('binaries'),
    files: ((obj.files as unknown[] | undefined) ?? []).map((f) =>
      typeof f === 'string' ? { path: f, optional: false } : { path: (f as { path: string }).path, optional: (f as { optional?: unknown }).optional === true },
    ),
    stageScripts,
  };
}

/** Order hooks so each comes after the ones it names; ties by name, so the order is stable.
 * A name in `inactive` (an optional hook that is off) is no error in `after`: it is skipped. */
export function orderHooks(hooks: readonly Hook[], inactive: ReadonlySet<string> = new Set()): Hook[] {
  const byName = new Map(hooks.map((h) => [h.name, h]));
  for (const hook of hooks) {
    for (const dep of hook.after) {
      if (!byName.has(dep) && !inactive.has(dep)) throw inputError(`hook ${hook.name} wants to run after unknown hook ${dep}`);
    }
  }
  const ordered: Hook[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (hook: Hook, chain: string[]): void => {
    const seen = state.get(hook.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw inputError(`hooks order themselves in a cycle: ${[...chain, hook.name].join(' -> ')}`);
    state.set(hook.name, 'visiting');
    for (const dep of [...hook.after].sort()) {
      const next = byName.get(dep);
      if (next) visit(next, [...chain, hook.name]);
    }
    state.set(hook.name, 'done');
    ordered.push(hook);
  };
  // Code-point order, not localeCompare: its first call builds an ICU collator, ~8 ms of every
  // build's CPU (issue 16); shipped names are [a-z0-9-], where the two orders agree.
  for (const hook of [...hooks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) visit(hook, []);
  return ordered;
}

/** The hooks that ship with ramboot (hooks/<name>/hook.json, packed as assets). */
export function readBuiltinHooks(): Hook[] {
  const assets = listAssets('hooks');
  const byPath = new Map(assets.map((a) => [a.path, a.data]));
  return assets
    .filter((asset) => posix.basename(asset.path) === 'hook.json')
    .map((asset) => {
      const dir = posix.dirname(asset.path);
      return parseHook(posix.basename(dir), asset.data.toString('utf8'), (file) => byPath.get(`${dir}/${file}`));
    });
}

/** `RAMBOOT_HOOKS=/a:/b`: hook directories for pipelines, applied before any --hooks DIR. */
export function hookDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.RAMBOOT_HOOKS ?? '').split(':').filter((d) => d !== '');
}

/** Shipped hooks and those of `dirs`, optional ones included. A hook from a directory named like
 * a shipped one is an error naming both, unless it says `"replaces": "<that name>"`; a hook may
 * also replace a shipped hook of another name. */
export function readAllHooks(dirs: readonly string[] = []): Hook[] {
  const hooks = readBuiltinHooks();
  const shipped = new Set(hooks.map((h) => h.name));
  const extras = dirs.flatMap((dir) => readHookDir(dir));
  for (const hook of extras) {
    const twin = extras.find((o) => o !== hook && o.name === hook.name);
    if (twin) throw inputError(`two hooks are named ${hook.name}: ${join(hook.source, hook.name)} and ${join(twin.source, hook.name)}`, 'rename one of the two hook directories');
    if (shipped.has(hook.name) && hook.replaces !== hook.name) {
      throw inputError(
        `hook ${hook.name} from ${join(hook.source, hook.name)} has the name of the shipped hook ${hook.name} (hooks/${hook.name})`,
        `add "replaces": "${hook.name}" to its hook.json to take the shipped one's place, or rename its directory`,
      );
    }
    if (hook.replaces !== undefined && !shipped.has(hook.replaces)) {
      throw inputError(`hook ${hook.name} from ${join(hook.source, hook.name)} replaces ${hook.replaces}, which is no shipped hook`, `shipped hooks: ${[...shipped].join(', ')}`);
    }
  }
  const replaced = new Set(extras.flatMap((h) => (h.replaces === undefined ? [] : [h.replaces])));
  return [...hooks.filter((h) => !replaced.has(h.name)), ...extras];
}

/** The hooks a build applies, in order: every hook but the optional ones not in `enable`
 * (--hook NAME). A name in `enable` that is no hook is an error. */
export function selectHooks(all: readonly Hook[], enable: readonly string[] = []): Hook[] {
  for (const name of enable) {
    if (!all.some((h) => h.name === name)) {
      const optional = all.filter((h) => h.optional).map((h) => h.name);
      throw inputError(`--hook ${name}: there is no hook of that name`, optional.length > 0 ? `optional hooks: ${optional.join(', ')}` : 'ramboot hooks ls lists the hooks');
    }
  }
  const active = all.filter((h) => !h.optional || enable.includes(h.name));
  const inactive = new Set(all.filter((h) => !active.includes(h)).map((h) => h.name));
  return orderHooks(active, inactive);
}

/** The hooks a build applies: shipped ones and those of `extraDirs`, optional ones as `enable` says. */
export function readShippedHooks(extraDirs: readonly string[] = [], enable: readonly string[] = []): Hook[] {
  return selectHooks(readAllHooks(extraDirs), enable);
}

/** --hooks DIR preflight: DIR must be a directory (of <name>/hook.json). */
export function checkHookDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw inputError(`hook directory ${dir} does not exist`, 'give --hooks (or RAMBOOT_HOOKS) a directory holding <name>/hook.json');
}

/** The hooks in directory `dir`: every <name>/hook.json there. */
export function readHookDir(dir: string): Hook[] {
  checkHookDir(dir);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'hook.json')))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((e) => {
      const hookDir = join(dir, e.name);
      const read = (file: string) => (existsSync(join(hookDir, file)) ? readFileSync(join(hookDir, file)) : undefined);
      return parseHook(e.name, readFileSync(join(hookDir, 'hook.json'), 'utf8'), read, dir);
    });
}
