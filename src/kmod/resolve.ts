// The closure of a set of module requests, the way modprobe would load them: every dependency,
// plus the softdeps that name an existing module (kmod loads those too, recursively, and looks
// them up as names or aliases). Weakdeps are packed but put no constraint on order.
import { inputError } from '../errors.js';
import { lookupSpec } from './lookup.js';
import { orderModules, type Edge } from './order.js';
import type { ModuleIndex, ModuleInfo, ModuleRequest, Resolution } from './types.js';

/** Loadable modules a softdep/weakdep entry names; built-in or unknown ones need nothing. */
function softTargets(index: ModuleIndex, spec: string, self: string): string[] {
  const match = lookupSpec(index, spec, false);
  return match.kind === 'modules' ? match.names.filter((n) => n !== self) : [];
}

/** Hard and soft load-order edges among modules of `index`, restricted to `names`. */
export function loadEdges(index: ModuleIndex, names: Iterable<string>): { hard: Edge[]; soft: Edge[] } {
  const hard: Edge[] = [];
  const soft: Edge[] = [];
  for (const name of names) {
    const info = index.modules.get(name)!;
    for (const dep of info.depends) hard.push([dep, name]);
    for (const spec of info.softdepPre) for (const dep of softTargets(index, spec, name)) soft.push([dep, name]);
    for (const spec of info.softdepPost) for (const dep of softTargets(index, spec, name)) soft.push([name, dep]);
  }
  return { hard, soft };
}

/** Canonical names `info` depends on; a name that is neither loadable nor built in means a broken tree. */
export function hardDependencies(index: ModuleIndex, info: ModuleInfo): string[] {
  return info.depends.filter((dep) => {
    if (index.modules.has(dep)) return true;
    if (index.builtin.has(dep)) return false;
    throw inputError(
      `module ${info.name} (${info.path}) depends on ${dep}, which kernel ${index.kver} does not have`,
      'the modules tree is incomplete or stale: reinstall the kernel modules package, or run depmod in the root',
    );
  });
}

export interface ResolveOptions {
  /** Follow softdeps and weakdeps (default true). false gives depmod's modules.dep closure. */
  softdeps?: boolean;
}

export function resolveModules(index: ModuleIndex, requests: readonly ModuleRequest[], options: ResolveOptions = {}): Resolution {
  const followSoft = options.softdeps ?? true;
  const reasons = new Map<string, string[]>();
  const queue: string[] = [];
  const want = (name: string, reason: string) => {
    const list = reasons.get(name);
    if (!list) {
      reasons.set(name, [reason]);
      queue.push(name);
    } else if (!list.includes(reason)) list.push(reason);
  };

  const builtin: string[] = [];
  const missing: ModuleRequest[] = [];
  for (const request of requests) {
    const match = lookupSpec(index, request.spec);
    if (match.kind === 'none') missing.push(request);
    for (const name of match.kind === 'modules' ? match.names : []) want(name, `${request.reason}: ${request.spec}`);
    for (const name of match.kind === 'builtin' ? match.names : []) if (!builtin.includes(name)) builtin.push(name);
  }

  for (let i = 0; i < queue.length; i++) {
    const name = queue[i]!;
    const info = index.modules.get(name)!;
    for (const dep of hardDependencies(index, info)) want(dep, `dependency of ${name}`);
    if (!followSoft) continue;
    for (const spec of [...info.softdepPre, ...info.softdepPost]) {
      for (const dep of softTargets(index, spec, name)) want(dep, `softdep of ${name}`);
    }
    for (const spec of info.weakdeps) for (const dep of softTargets(index, spec, name)) want(dep, `weakdep of ${name}`);
  }

  const { hard, soft } = loadEdges(index, queue);
  const order = orderModules(queue, hard, soft);
  return {
    modules: order.map((name) => ({ info: index.modules.get(name)!, reasons: reasons.get(name)! })),
    builtin,
    missing,
  };
}
