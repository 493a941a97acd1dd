// Build-time hooks: `hooks/<name>/hook.json` says what a feature needs in the initrd. Hooks are
// data, not code that writes into a staging directory: the builder turns each field into plan
// requests, so a conflict or a missing module names the hook that asked for it. Ordering is by
// explicit `after:` names, never by a numeric file name prefix.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { listAssets } from '../assets.js';
import { BOOT_STAGES } from '../cmdline/params.js';
import { inputError } from '../errors.js';

/** A script the boot runs before or after one of the `ram` script's stages. */
export interface StageScript {
  /** `before-<stage>` or `after-<stage>`: the directory under /lib/ramboot/hooks/. */
  when: string;
  /** The file's name in hooks/<name>/. */
  file: string;
  data: Buffer;
}

/** Every `before-<stage>`, and `after-<stage>` but for switch, which never returns. */
export const STAGE_HOOK_POINTS: readonly string[] = BOOT_STAGES.flatMap((s) => (s === 'switch' ? [`before-${s}`] : [`before-${s}`, `after-${s}`]));

export interface Hook {
  name: string;
  description: string;
  /** Hooks that must be applied before this one. */
  after: string[];
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
  /** Files copied from the target root to the same path in the initrd. */
  files: { path: string; optional: boolean }[];
  /** `stageScripts`: sh scripts from hooks/<name>/ that /init runs at a stage, in listed order. */
  stageScripts: StageScript[];
}

const KNOWN_KEYS = new Set(['description', 'after', 'modules', 'optionalModules', 'forceLoad', 'applets', 'files', 'stageScripts']);

/** `"stageScripts": { "before-mount": ["x.sh"] }`: the point must be one of STAGE_HOOK_POINTS and
 * each file a plain name that `readFile` finds next to hook.json. */
function parseStageScripts(value: unknown, where: string, readFile: (file: string) => Buffer | undefined): StageScript[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw inputError(`${where}: "stageScripts" must be an object of stage point -> list of files`);
  }
  return Object.entries(value).flatMap(([when, files]) => {
    if (!STAGE_HOOK_POINTS.includes(when)) {
      throw inputError(`${where}: "stageScripts" names unknown stage point "${when}"`, `known: ${STAGE_HOOK_POINTS.join(', ')}`);
    }
    return stringList(files, `${where}: "stageScripts"."${when}"`).map((file) => {
      if (file.includes('/') || file.startsWith('.')) throw inputError(`${where}: stage script "${file}" must be a plain file name in the hook's directory`);
      const data = readFile(file);
      if (!data) throw inputError(`${where}: stage script "${file}" (${when}) is not in the hook's directory`);
      return { when, file, data };
    });
  });
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw inputError(`${where} must be a list of non-empty strings`);
  }
  return value as string[];
}

/** `readFile` gives a file next to hook.json (for stageScripts), or undefined when there is none. */
export function parseHook(name: string, text: string, readFile: (file: string) => Buffer | undefined = () => undefined): Hook {
  const where = `hooks/${name}/hook.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw inputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw inputError(`${where} must hold a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.has(key)) throw inputError(`${where}: unknown key "${key}"`, `known keys: ${[...KNOWN_KEYS].join(', ')}`);
  }
  if (typeof obj.description !== 'string') throw inputError(`${where}: "description" must be a string`);
  const files = (Array.isArray(obj.files) ? obj.files : obj.files === undefined ? [] : null)?.map((f: unknown) => {
    if (typeof f === 'string') return { path: f, optional: false };
    const entry = f as { path?: unknown; optional?: unknown };
    if (typeof entry?.path !== 'string') throw inputError(`${where}: each of "files" is a path or { "path", "optional" }`);
    return { path: entry.path, optional: entry.optional === true };
  });
  if (!files) throw inputError(`${where}: "files" must be a list`);
  const forceLoad = stringList(obj.forceLoad, `${where}: "forceLoad"`);
  const modules = stringList(obj.modules, `${where}: "modules"`);
  const optionalModules = stringList(obj.optionalModules, `${where}: "optionalModules"`);
  const optionalForced = forceLoad.filter((spec) => optionalModules.includes(spec));
  if (optionalForced.length > 0) {
    throw inputError(`${where}: ${optionalForced.join(', ')} is both optional and force-loaded`, 'a force-load is required: list it in "forceLoad" only');
  }
  return {
    name,
    description: obj.description,
    after: stringList(obj.after, `${where}: "after"`),
    modules: [...new Set([...modules, ...forceLoad])],
    optionalModules,
    forceLoad,
    applets: stringList(obj.applets, `${where}: "applets"`),
    files,
    stageScripts: parseStageScripts(obj.stageScripts, where, readFile),
  };
}

/** Order hooks so each comes after the ones it names; ties by name, so the order is stable. */
export function orderHooks(hooks: readonly Hook[]): Hook[] {
  const byName = new Map(hooks.map((h) => [h.name, h]));
  for (const hook of hooks) {
    for (const dep of hook.after) {
      if (!byName.has(dep)) throw inputError(`hook ${hook.name} wants to run after unknown hook ${dep}`);
    }
  }
  const ordered: Hook[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (hook: Hook, chain: string[]): void => {
    const seen = state.get(hook.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw inputError(`hooks order themselves in a cycle: ${[...chain, hook.name].join(' -> ')}`);
    state.set(hook.name, 'visiting');
    for (const dep of [...hook.after].sort()) visit(byName.get(dep)!, [...chain, hook.name]);
    state.set(hook.name, 'done');
    ordered.push(hook);
  };
  for (const hook of [...hooks].sort((a, b) => a.name.localeCompare(b.name))) visit(hook, []);
  return ordered;
}

/** The hooks that ship with ramboot (hooks/<name>/hook.json), plus those of `extraDirs` (each
 * holding <name>/hook.json, e.g. a site's or a test's own), in application order. */
export function readShippedHooks(extraDirs: readonly string[] = []): Hook[] {
  const assets = listAssets('hooks');
  const byPath = new Map(assets.map((a) => [a.path, a.data]));
  const hooks = assets
    .filter((asset) => posix.basename(asset.path) === 'hook.json')
    .map((asset) => {
      const dir = posix.dirname(asset.path);
      return parseHook(posix.basename(dir), asset.data.toString('utf8'), (file) => byPath.get(`${dir}/${file}`));
    });
  for (const extra of extraDirs) hooks.push(...readHookDir(extra));
  const clash = hooks.find((h, i) => hooks.findIndex((o) => o.name === h.name) !== i);
  if (clash) throw inputError(`two hooks are named ${clash.name}`, 'rename the hook directory under the extra hook dir');
  return orderHooks(hooks);
}

/** The hooks in directory `dir`: every <name>/hook.json there. */
export function readHookDir(dir: string): Hook[] {
  if (!existsSync(dir)) throw inputError(`hook directory ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'hook.json')))
    .map((e) => {
      const hookDir = join(dir, e.name);
      return parseHook(e.name, readFileSync(join(hookDir, 'hook.json'), 'utf8'), (file) => (existsSync(join(hookDir, file)) ? readFileSync(join(hookDir, file)) : undefined));
    });
}
