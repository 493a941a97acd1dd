// The initrd's own modules.dep/alias/softdep/builtin for exactly the packed modules, in the
// text formats depmod writes (modules.dep(5)). They are written for busybox modprobe: kmod's
// modprobe reads only depmod's binary .bin indexes, which these are not.
//
// Busybox modprobe (1.35, modutils/modprobe.c) takes a modules.dep line as the complete list to
// load — last entry first, the module itself last — and never reads modules.softdep. So each
// line lists the whole closure with the modules to load first at the end, as depmod orders it,
// and pre-softdeps (btrfs' crypto-crc32c and blake2b-256, xt_LOG's nf_log_syslog) are folded
// into the line: in the initrd they are present by construction, and otherwise busybox would
// never load them. Post-softdeps cannot be expressed for busybox and are left out of the line.
import { inputError } from '../errors.js';
import { packedModulePath } from './module-file.js';
import { lookupSpec } from './lookup.js';
import { orderModules, type Edge } from './order.js';
import { hardDependencies } from './resolve.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

type IndexFiles = Record<'modules.dep' | 'modules.alias' | 'modules.softdep' | 'modules.builtin', string>;

const byPackedPath = (a: ModuleInfo, b: ModuleInfo) => (packedModulePath(a) < packedModulePath(b) ? -1 : 1);

/** modules.dep, modules.alias, modules.softdep, modules.builtin text for just the packed set, in the formats kmod/busybox modprobe read (paths relative, using packedModulePath). */
export function renderModuleIndexFiles(index: ModuleIndex, packed: readonly ModuleInfo[]): IndexFiles {
  const set = new Map(packed.map((m) => [m.name, m]));
  const sorted = [...set.values()].sort(byPackedPath);

  // What must be loaded right before each module: its dependencies (all of them must be packed)
  // and the packed modules its pre-softdeps name.
  const before = new Map<string, string[]>();
  const hard: Edge[] = [];
  const soft: Edge[] = [];
  for (const info of sorted) {
    const deps = hardDependencies(index, info);
    const absent = deps.find((dep) => !set.has(dep));
    if (absent) {
      throw inputError(`module ${info.name} is packed without ${absent}, which it depends on`, 'pack the whole closure that resolveModules returns');
    }
    const pre = info.softdepPre.flatMap((spec) => {
      const match = lookupSpec(index, spec, false);
      return match.kind === 'modules' ? match.names.filter((n) => set.has(n) && n !== info.name) : [];
    });
    before.set(info.name, [...deps, ...pre]);
    for (const dep of deps) hard.push([dep, info.name]);
    for (const dep of pre) soft.push([dep, info.name]);
  }
  const rank = new Map(orderModules(set.keys(), hard, soft).map((name, i) => [name, i]));

  const closure = (name: string): string[] => {
    const seen = new Set<string>([name]);
    const stack = [...before.get(name)!];
    while (stack.length > 0) {
      const dep = stack.pop()!;
      if (seen.has(dep)) continue;
      seen.add(dep);
      stack.push(...before.get(dep)!);
    }
    seen.delete(name);
    // Loaded last-listed first, so the list runs from the latest in load order to the earliest.
    return [...seen].sort((a, b) => rank.get(b)! - rank.get(a)!);
  };

  const dep = sorted.map((info) => {
    const deps = closure(info.name).map((name) => packedModulePath(set.get(name)!));
    return `${packedModulePath(info)}:${deps.map((d) => ` ${d}`).join('')}\n`;
  });
  const alias = sorted.flatMap((info) => info.aliases.map((pattern) => `alias ${pattern} ${info.name}\n`));
  const softdep = sorted
    .filter((info) => info.softdepPre.length + info.softdepPost.length > 0)
    .map((info) => {
      const pre = info.softdepPre.length > 0 ? ` pre: ${info.softdepPre.join(' ')}` : '';
      const post = info.softdepPost.length > 0 ? ` post: ${info.softdepPost.join(' ')}` : '';
      return `softdep ${info.name}${pre}${post}\n`;
    });
  return {
    'modules.dep': dep.join(''),
    'modules.alias': `# Aliases extracted from modules themselves.\n${alias.join('')}`,
    'modules.softdep': `# Soft dependencies extracted from modules themselves.\n${softdep.join('')}`,
    'modules.builtin': index.builtinPaths.map((path) => `${path}\n`).join(''),
  };
}
