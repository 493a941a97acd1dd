// Kernel modules and their firmware into the plan. Requests come from hooks (required and
// optional) and from --modules; --omit-modules takes names back out. Dependencies are resolved
// from the TARGET root's modules tree (src/kmod/), never from the host's, and the initrd gets
// its own modules.dep/alias/softdep/builtin for exactly the packed set so busybox modprobe works.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../errors.js';
import type { Hook } from '../hooks/hook.js';
import {
  packedModulePath,
  readModuleFile,
  readModuleIndex,
  renderModuleIndexFiles,
  resolveModules,
  type ModuleIndex,
  type ModuleRequest,
  type Resolution,
} from '../kmod/index.js';
import type { InitrdPlan } from './plan.js';

export interface ModuleSelection {
  /** Extra names, aliases or directory prefixes (--modules). */
  add?: readonly string[];
  /** Names never packed (--omit-modules). */
  omit?: readonly string[];
}

const canonical = (name: string) => name.replaceAll('-', '_');

export function moduleRequests(hooks: readonly Hook[], selection: ModuleSelection): ModuleRequest[] {
  const omitted = new Set((selection.omit ?? []).map(canonical));
  const requests: ModuleRequest[] = [];
  for (const hook of hooks) {
    for (const spec of hook.modules) requests.push({ spec, reason: `hook ${hook.name}` });
    for (const spec of hook.optionalModules) requests.push({ spec, optional: true, reason: `hook ${hook.name}` });
  }
  for (const spec of selection.add ?? []) requests.push({ spec, reason: '--modules' });
  return requests.filter((r) => !omitted.has(canonical(r.spec)));
}

/** Resolve the closure; a required request that matched nothing, or an omitted module that a
 * packed one depends on, fails the build here rather than the boot. */
export function resolveModuleSelection(index: ModuleIndex, hooks: readonly Hook[], selection: ModuleSelection): Resolution {
  const resolution = resolveModules(index, moduleRequests(hooks, selection));
  const required = resolution.missing.filter((m) => !m.optional);
  if (required.length > 0) {
    const list = required.map((m) => `${m.spec} (${m.reason})`).join(', ');
    throw inputError(
      `kernel ${index.kver} has no module ${list}`,
      'install the matching kernel modules package into the root, or drop the request',
    );
  }
  const omitted = new Set((selection.omit ?? []).map(canonical));
  const needed = resolution.modules.filter((m) => omitted.has(m.info.name));
  if (needed.length > 0) {
    const first = needed[0]!;
    throw inputError(`--omit-modules ${first.info.name} conflicts with: ${first.reasons.join('; ')}`, 'omit the modules that need it too');
  }
  return resolution;
}

const FIRMWARE_DIRS = ['lib/firmware', 'usr/lib/firmware'];
const FIRMWARE_SUFFIXES = ['', '.zst', '.xz'];

async function findFirmware(root: string, name: string): Promise<{ rel: string; path: string; size: number } | undefined> {
  for (const dir of FIRMWARE_DIRS) {
    for (const suffix of FIRMWARE_SUFFIXES) {
      const rel = `${dir}/${name}${suffix}`;
      const st = await stat(join(root, rel)).catch(() => undefined);
      if (st?.isFile()) return { rel: `lib/firmware/${name}${suffix}`, path: join(root, rel), size: st.size };
    }
  }
  return undefined;
}

export interface PackedModules {
  resolution: Resolution;
  firmware: string[];
  warnings: string[];
}

export async function addModules(
  plan: InitrdPlan,
  root: string,
  modulesDir: string,
  hooks: readonly Hook[],
  selection: ModuleSelection,
): Promise<PackedModules> {
  const index = await readModuleIndex(modulesDir);
  const resolution = resolveModuleSelection(index, hooks, selection);
  const base = `lib/modules/${index.kver}`;
  const datas = await Promise.all(resolution.modules.map((m) => readModuleFile(index, m.info)));
  resolution.modules.forEach((m, i) => {
    plan.addFile(`${base}/${packedModulePath(m.info)}`, datas[i]!, `module ${m.info.name}: ${m.reasons.join('; ')}`);
  });
  const files = renderModuleIndexFiles(index, resolution.modules.map((m) => m.info));
  for (const [name, text] of Object.entries(files)) plan.addFile(`${base}/${name}`, Buffer.from(text), 'module index');

  // The kernel loader looks firmware up by the module's `firmware=` names under /lib/firmware;
  // a missing file is a warning, since many drivers list firmware for hardware variants a
  // fleet never has.
  const firmware: string[] = [];
  const warnings: string[] = [];
  for (const m of resolution.modules) {
    for (const name of m.info.firmware) {
      const found = await findFirmware(root, name);
      if (!found) {
        warnings.push(`firmware ${name} for module ${m.info.name} is not in the root's /lib/firmware`);
        continue;
      }
      plan.add({ path: found.rel, mode: 0o644, content: { kind: 'disk-file', path: found.path, size: found.size }, requestedBy: `firmware of ${m.info.name}` });
      firmware.push(found.rel);
    }
  }
  return { resolution, firmware, warnings };
}
