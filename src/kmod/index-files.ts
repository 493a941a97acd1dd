// depmod's text index files (depmod(8), modules.dep(5)) and the two built-in lists the kernel
// build installs (modules.builtin, modules.builtin.modinfo). Parsing only; no I/O.
import { canonicalModuleName, parseModinfoPairs, parseSoftdep } from './modinfo.js';

function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** Paths in modules.dep may be absolute (old depmod, or -b); make them relative to `dir`. */
function relativeTo(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

/** `kernel/a.ko: kernel/b.ko kernel/c.ko` -> Map(path -> dependency paths), in file order. */
export function parseModulesDep(text: string, dir: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of lines(text)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = relativeTo(dir, line.slice(0, colon));
    const list = line.slice(colon + 1).split(/\s+/).filter(Boolean).map((p) => relativeTo(dir, p));
    deps.set(path, list);
  }
  return deps;
}

/** `alias PATTERN modname` lines -> canonical modname -> patterns, in file order. */
export function parseModulesAlias(text: string): Map<string, string[]> {
  const aliases = new Map<string, string[]>();
  for (const line of lines(text)) {
    const [word, pattern, name] = line.split(/\s+/);
    if (word !== 'alias' || !pattern || !name) continue;
    const key = canonicalModuleName(name);
    const list = aliases.get(key);
    if (list) list.push(pattern);
    else aliases.set(key, [pattern]);
  }
  return aliases;
}

/** `softdep modname pre: a b post: c` lines -> canonical modname -> pre/post. */
export function parseModulesSoftdep(text: string): Map<string, { pre: string[]; post: string[] }> {
  const softdeps = new Map<string, { pre: string[]; post: string[] }>();
  for (const line of lines(text)) {
    const match = /^softdep\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const key = canonicalModuleName(match[1]!);
    const entry = softdeps.get(key) ?? { pre: [], post: [] };
    parseSoftdep(match[2]!, entry);
    softdeps.set(key, entry);
  }
  return softdeps;
}

/** modules.builtin: one path per line (kernel/net/packet/af_packet.ko). */
export function parseModulesBuiltin(text: string): string[] {
  return lines(text);
}

/** modules.builtin.modinfo: NUL-separated `modname.key=value`; the aliases of built-in modules,
 * so that modprobe of an alias of built-in code counts as satisfied. */
export function parseBuiltinModinfoAliases(data: Buffer): Array<{ name: string; alias: string }> {
  const out: Array<{ name: string; alias: string }> = [];
  for (const [key, value] of parseModinfoPairs(data)) {
    const dot = key.lastIndexOf('.');
    if (dot > 0 && key.slice(dot + 1) === 'alias') out.push({ name: canonicalModuleName(key.slice(0, dot)), alias: value });
  }
  return out;
}
