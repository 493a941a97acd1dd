// Kernel modules and their firmware into the plan. Requests come from hooks (force-loaded,
// required and optional) and from --modules; --omit-modules takes names back out; --host-only
// keeps only the hardware drivers this machine's devices match. Dependencies are resolved from
// the TARGET root's modules tree (src/kmod/), never from the host's, and the initrd gets its own
// modules.dep/alias/softdep/builtin for exactly the packed set, so busybox modprobe can load a
// device's driver by its modalias at boot (coldplug, initrd-scripts/lib/modules.sh).
// Modules, index files and firmware are all paths of the root, resolved inside it
// (src/rootfs/root-path.ts): a firmware file linking to a host file is a file the root lacks.
import { inputError } from '../errors.js';
import type { Hook } from '../hooks/hook.js';
import { decompressFile } from '../kmod/batch-decompress.js';
import { isDeviceDriver, matchModaliases, sysfsModaliasProbe, type ModaliasProbe } from '../kmod/host-probe.js';
import {
  canonicalModuleName,
  packedModulePath,
  readModuleFiles,
  readModuleIndex,
  renderModuleIndexFiles,
  resolveModules,
  type ModuleIndex,
  type ModuleRequest,
  type Resolution,
} from '../kmod/index.js';
import { lookupSpec } from '../kmod/lookup.js';
import { RootResolver } from '../rootfs/root-path.js';
import { renderBinaryReport, type BinaryFile } from './add-binaries.js';
import type { FileCost } from './file-costs.js';
import type { InitrdPlan } from './plan.js';

export interface ModuleSelection {
  /** Extra names, aliases or directory prefixes (--modules). */
  add?: readonly string[];
  /** Names never packed (--omit-modules). */
  omit?: readonly string[];
  /** --host-only: of the device drivers the hooks ask for, keep those a device of this machine
   * matches. Force-loads, --modules and modules that drive no device are kept. */
  hostOnly?: boolean;
  /** Where --host-only reads the machine's device modaliases; default this machine's /sys. */
  hostProbe?: ModaliasProbe;
  /** Receives what was packed and why (--explain), once modules and firmware are in the plan. */
  onModuleReport?: (report: ModuleReport) => void;
}

/** Where a request came from; decides what --host-only may drop. */
export type RequestOrigin = 'force-load' | 'hook' | 'optional' | 'cli';

export interface SelectedRequest extends ModuleRequest {
  origin: RequestOrigin;
}


export function moduleRequests(hooks: readonly Hook[], selection: ModuleSelection): SelectedRequest[] {
  const omitted = new Set((selection.omit ?? []).map(canonicalModuleName));
  const requests: SelectedRequest[] = [];
  for (const hook of hooks) {
    for (const spec of hook.modules) {
      const forced = hook.forceLoad.includes(spec);
      requests.push({ spec, reason: forced ? `hook ${hook.name} (force-load)` : `hook ${hook.name}`, origin: forced ? 'force-load' : 'hook' });
    }
    for (const spec of hook.optionalModules) requests.push({ spec, optional: true, reason: `hook ${hook.name} (if present)`, origin: 'optional' });
  }
  for (const spec of selection.add ?? []) requests.push({ spec, reason: '--modules', origin: 'cli' });
  return requests.filter((r) => !omitted.has(canonicalModuleName(r.spec)));
}

export interface NotOnHost {
  name: string;
  reason: string;
}

/** --host-only: hook requests for device drivers become requests for just the drivers a
 * modalias of this machine matches; a request naming several modules (a directory prefix) is
 * split per module. The reason of a kept driver names the device that matched it. */
export function narrowToHost(
  index: ModuleIndex,
  requests: readonly SelectedRequest[],
  modaliases: readonly string[],
): { requests: SelectedRequest[]; notOnHost: NotOnHost[] } {
  const onHost = matchModaliases(index, modaliases);
  const kept: SelectedRequest[] = [];
  const notOnHost: NotOnHost[] = [];
  for (const request of requests) {
    const match = request.origin === 'force-load' || request.origin === 'cli' ? undefined : lookupSpec(index, request.spec);
    if (match?.kind !== 'modules') {
      kept.push(request);
      continue;
    }
    // One module: the request stays as written (an alias keeps naming its module); several
    // (a directory): one request per module, the directory named in its reason.
    const split = match.names.length > 1;
    for (const name of match.names) {
      const one = split ? { ...request, spec: name, reason: `${request.reason}: ${request.spec}` } : request;
      const device = onHost.get(name);
      if (!isDeviceDriver(index.modules.get(name)!)) kept.push(one);
      else if (device) kept.push({ ...one, reason: `${one.reason}, device ${device}` });
      else notOnHost.push({ name, reason: one.reason });
    }
  }
  return { requests: kept, notOnHost };
}

export interface ModuleSelectionResult {
  resolution: Resolution;
  /** Packed modules the boot loads whatever the hardware, in load order (RAM_FORCE_LOAD). */
  forceLoad: string[];
  /** Requested modules the kernel has built in, with the requests they satisfy. */
  builtin: { name: string; reasons: string[] }[];
  /** --host-only: requested drivers left out, no device of this machine matching them. */
  notOnHost: NotOnHost[];
}

/** Resolve the closure; a required request that matched nothing, or an omitted module that a
 * packed one depends on, fails the build here rather than the boot. `hostModaliases` narrows
 * the hooks' device drivers to those (--host-only). */
export function resolveModuleSelection(
  index: ModuleIndex,
  hooks: readonly Hook[],
  selection: ModuleSelection,
  hostModaliases?: readonly string[],
): ModuleSelectionResult {
  let requests = moduleRequests(hooks, selection);
  let notOnHost: NotOnHost[] = [];
  if (hostModaliases) ({ requests, notOnHost } = narrowToHost(index, requests, hostModaliases));
  const resolution = resolveModules(index, requests);
  const required = resolution.missing.filter((m) => !m.optional);
  if (required.length > 0) {
    const list = required.map((m) => `${m.spec} (${m.reason})`).join(', ');
    throw inputError(
      `kernel ${index.kver} has no module ${list}`,
      'install the matching kernel modules package into the root, or drop the request',
    );
  }
  const omitted = new Set((selection.omit ?? []).map(canonicalModuleName));
  const needed = resolution.modules.filter((m) => omitted.has(m.info.name));
  if (needed.length > 0) {
    const first = needed[0]!;
    throw inputError(`--omit-modules ${first.info.name} conflicts with: ${first.reasons.join('; ')}`, 'omit the modules that need it too');
  }

  const rank = new Map(resolution.modules.map((m, i) => [m.info.name, i]));
  const forced = new Set<string>();
  const builtin = new Map<string, string[]>();
  for (const request of requests) {
    const match = lookupSpec(index, request.spec);
    if (match.kind === 'builtin') {
      for (const name of match.names) builtin.set(name, [...(builtin.get(name) ?? []), `${request.reason}: ${request.spec}`]);
    } else if (match.kind === 'modules' && request.origin === 'force-load') {
      for (const name of match.names) if (rank.has(name)) forced.add(name);
    }
  }
  return {
    resolution,
    forceLoad: [...forced].sort((a, b) => rank.get(a)! - rank.get(b)!),
    builtin: [...builtin].map(([name, reasons]) => ({ name, reasons })),
    notOnHost,
  };
}

const FIRMWARE_DIRS = ['lib/firmware', 'usr/lib/firmware'];
const FIRMWARE_SUFFIXES = ['', '.zst', '.xz'] as const;
const DECOMPRESS = { '.zst': 'zstd', '.xz': 'xz' } as const;

/** A firmware file of the root, plain or compressed, by its `firmware=` name (which comes from
 * the module, so it may hold `..`: the resolver refuses one that climbs out of the root). */
async function findFirmware(paths: RootResolver, name: string): Promise<{ path: string; suffix: (typeof FIRMWARE_SUFFIXES)[number]; size: number } | undefined> {
  for (const dir of FIRMWARE_DIRS) {
    for (const suffix of FIRMWARE_SUFFIXES) {
      const found = await paths.lookup(`${dir}/${name}${suffix}`);
      if (found?.stat.isFile()) return { path: found.hostPath, suffix, size: found.stat.size };
    }
  }
  return undefined;
}

export interface ModuleReport {
  kver: string;
  /** Where dependencies came from: depmod's modules.dep, or each module's .modinfo. */
  source: ModuleIndex['source'];
  /** Every packed module in load order, with why it is in and its firmware (`file` is the
   * path in the initrd, absent when the root lacks it). */
  modules: { name: string; path: string; forceLoad: boolean; reasons: string[]; firmware: { name: string; file?: string }[] }[];
  builtin: { name: string; reasons: string[] }[];
  /** Optional requests this kernel has no module for. */
  absent: { spec: string; reason: string }[];
  notOnHost: NotOnHost[];
  forceLoad: string[];
  /** --host-only: how many device modaliases the machine has. */
  hostModaliases?: number;
  /** Files the hooks' `binaries` brought and who pulled each in (added after the modules). */
  binaries?: BinaryFile[];
}

export interface PackedModules extends ModuleSelectionResult {
  firmware: string[];
  warnings: string[];
  report: ModuleReport;
}

export async function addModules(
  plan: InitrdPlan,
  root: string,
  modulesDir: string,
  hooks: readonly Hook[],
  selection: ModuleSelection,
): Promise<PackedModules> {
  // With depmod's index files, .modinfo (firmware=, weakdep=) is read only for what is packed.
  const index = await readModuleIndex(modulesDir, { root, modinfo: 'on-demand' });
  const paths = new RootResolver(root);
  const host = selection.hostOnly ? await (selection.hostProbe ?? sysfsModaliasProbe())() : undefined;
  let selected = resolveModuleSelection(index, hooks, selection, host);
  // Reading a module also reads its weakdeps, which may pull in more modules: resolve again
  // until nothing new comes in (no kernel before 6.10 has weakdeps, so usually once).
  const datas = new Map<string, Buffer>();
  for (let fresh = selected.resolution.modules; fresh.length > 0; ) {
    const bytes = await readModuleFiles(index, fresh.map((m) => m.info));
    fresh.forEach((m, i) => datas.set(m.info.name, bytes[i]!));
    if (!fresh.some((m) => m.info.weakdeps.length > 0)) break;
    selected = resolveModuleSelection(index, hooks, selection, host);
    fresh = selected.resolution.modules.filter((m) => !datas.has(m.info.name));
  }
  const { resolution } = selected;
  const base = `lib/modules/${index.kver}`;
  for (const m of resolution.modules) {
    plan.addFile(`${base}/${packedModulePath(m.info)}`, datas.get(m.info.name)!, `module ${m.info.name}: ${m.reasons.join('; ')}`);
  }
  const files = renderModuleIndexFiles(index, resolution.modules.map((m) => m.info));
  for (const [name, text] of Object.entries(files)) plan.addFile(`${base}/${name}`, Buffer.from(text), 'module index');

  // The kernel's loader looks firmware up by the module's `firmware=` names under /lib/firmware.
  // Compressed firmware goes in decompressed: Debian's 6.1 kernels read .xz but not .zst
  // (CONFIG_FW_LOADER_COMPRESS_ZSTD is not set), and the initrd is compressed as a whole anyway.
  // Missing files are a warning, one line per module: many drivers list firmware for hardware
  // variants a fleet never has.
  const firmware: string[] = [];
  const warnings: string[] = [];
  const moduleFirmware = new Map<string, { name: string; file?: string }[]>();
  for (const m of resolution.modules) {
    const list: { name: string; file?: string }[] = [];
    moduleFirmware.set(m.info.name, list);
    for (const name of m.info.firmware) {
      const found = await findFirmware(paths, name);
      if (!found) {
        list.push({ name });
        continue;
      }
      const rel = `lib/firmware/${name}`;
      const requestedBy = `firmware of ${m.info.name}`;
      if (found.suffix === '') plan.add({ path: rel, mode: 0o644, content: { kind: 'disk-file', path: found.path, size: found.size }, requestedBy });
      else plan.addFile(rel, await decompressFile(DECOMPRESS[found.suffix], found.path), requestedBy);
      if (!firmware.includes(rel)) firmware.push(rel);
      list.push({ name, file: rel });
    }
    const missing = list.filter((fw) => !fw.file).map((fw) => fw.name);
    if (missing.length > 0) warnings.push(`firmware for module ${m.info.name} is not in the root's /lib/firmware: ${missing.join(', ')}`);
  }

  const forced = new Set(selected.forceLoad);
  const report: ModuleReport = {
    kver: index.kver,
    source: index.source,
    modules: resolution.modules.map((m) => ({
      name: m.info.name,
      path: packedModulePath(m.info),
      forceLoad: forced.has(m.info.name),
      reasons: m.reasons,
      firmware: moduleFirmware.get(m.info.name)!,
    })),
    builtin: selected.builtin,
    absent: resolution.missing.map((m) => ({ spec: m.spec, reason: m.reason })),
    notOnHost: selected.notOnHost,
    forceLoad: selected.forceLoad,
    ...(host ? { hostModaliases: host.length } : {}),
  };
  selection.onModuleReport?.(report);
  return { ...selected, firmware, warnings, report };
}

/** --explain: each packed module with why it is in and its firmware, then what the kernel has
 * built in, what it lacks and what --host-only left out, then the files hooks' binaries brought. */
export function renderModuleReport(report: ModuleReport, costs?: ReadonlyMap<string, FileCost>): string {
  const lines = [
    `kernel ${report.kver}: ${report.modules.length} modules packed (dependencies from ${report.source})`,
    `force-loaded at boot: ${report.forceLoad.join(' ') || '(none)'}; the rest load when coldplug finds their device, or when the kernel asks for them`,
  ];
  if (report.hostModaliases !== undefined) lines.push(`--host-only: ${report.hostModaliases} device modaliases on this machine`);
  lines.push('');
  for (const m of report.modules) {
    lines.push(`${m.name}${m.forceLoad ? ' [force-load]' : ''}  ${m.path}`);
    for (const reason of m.reasons) lines.push(`    ${reason}`);
    const cost = costs?.get(`lib/modules/${report.kver}/${m.path}`);
    if (cost) lines.push(`    size ${(cost.bytes / 1e3).toFixed(1)} kB, ~${(cost.compressed / 1e3).toFixed(1)} kB compressed`);
    for (const fw of m.firmware) lines.push(`    firmware ${fw.file ? `/${fw.file}` : `${fw.name} (not in the root)`}`);
  }
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push('', title, ...items.map((item) => `    ${item}`));
  };
  section('built into the kernel (nothing to pack):', report.builtin.map((b) => `${b.name}: ${b.reasons.join('; ')}`));
  section('not in this kernel (optional):', report.absent.map((a) => `${a.spec}: ${a.reason}`));
  section('not on this machine (--host-only):', report.notOnHost.map((n) => `${n.name}: ${n.reason}`));
  const binaries = renderBinaryReport(report.binaries ?? []);
  return `${lines.join('\n')}\n${binaries ? `\n${binaries}` : ''}`;
}
