// What a request string names, in modprobe's order (kmod's kmod_module_new_from_lookup): a
// module name, then the aliases of loadable modules, then built-in modules (by alias or name).
// ramboot adds module paths and directory prefixes ('kernel/drivers/net/') for hooks.
import { AliasTable } from './alias.js';
import { canonicalModuleName } from './modinfo.js';
import { moduleNameOfPath, packedModulePath } from './module-file.js';
import type { ModuleIndex } from './types.js';

export type SpecMatch = { kind: 'modules'; names: string[] } | { kind: 'builtin'; names: string[] } | { kind: 'none' };

interface LookupTables {
  aliases: AliasTable;
  builtinAliases: AliasTable;
  byPath: Map<string, string>;
}

// Building the alias table of a generic kernel (~30,000 patterns) takes a few ms; do it once
// per index, not per request. Nothing these tables use changes after readModuleIndex returns
// (readModuleFiles fills in only firmware and weakdeps).
const cache = new WeakMap<ModuleIndex, LookupTables>();

function tablesOf(index: ModuleIndex): LookupTables {
  let tables = cache.get(index);
  if (!tables) {
    const aliases = new AliasTable();
    const byPath = new Map<string, string>();
    for (const info of index.modules.values()) {
      for (const alias of info.aliases) aliases.add(alias, info.name);
      byPath.set(info.path, info.name);
      byPath.set(packedModulePath(info), info.name);
    }
    const builtinAliases = new AliasTable();
    for (const [alias, names] of index.builtinAliases) for (const name of names) builtinAliases.add(alias, name);
    tables = { aliases, builtinAliases, byPath };
    cache.set(index, tables);
  }
  return tables;
}

/** Modules a spec names. Only names and aliases are tried for softdeps (`prefixes` false). */
export function lookupSpec(index: ModuleIndex, spec: string, prefixes = true): SpecMatch {
  const tables = tablesOf(index);
  if (prefixes && spec.endsWith('/')) {
    const names = [...index.modules.values()].filter((m) => m.path.startsWith(spec)).map((m) => m.name);
    if (names.length > 0) return { kind: 'modules', names: names.sort() };
    const builtins = index.builtinPaths.filter((p) => p.startsWith(spec)).map(moduleNameOfPath);
    return builtins.length > 0 ? { kind: 'builtin', names: builtins.sort() } : { kind: 'none' };
  }
  const name = canonicalModuleName(spec);
  if (index.modules.has(name)) return { kind: 'modules', names: [name] };
  const byPath = prefixes ? tables.byPath.get(spec) : undefined;
  if (byPath) return { kind: 'modules', names: [byPath] };
  const aliased = tables.aliases.lookup(spec);
  if (aliased.length > 0) return { kind: 'modules', names: aliased };
  const builtinAliased = tables.builtinAliases.lookup(spec);
  if (builtinAliased.length > 0) return { kind: 'builtin', names: builtinAliased };
  if (index.builtin.has(name)) return { kind: 'builtin', names: [name] };
  return { kind: 'none' };
}
