// Building initrd.img, as a list of named steps:
//   resolveConfig -> collectHooks -> resolveModules -> addBusybox -> addBootScripts ->
//   writeContract -> emitCpio + compress -> atomicRename
// Features live in hooks (hooks/*/hook.json), not in `if`s here.
import { stat } from 'node:fs/promises';
import { listAssets } from '../assets.js';
import { renderRamConf } from '../cmdline/ram-conf.js';
import { compressToFile, checkLevel, DEFAULT_LEVEL, type Compression } from '../compress/codecs.js';
import { writeNewc } from '../cpio/newc-writer.js';
import { inputError } from '../errors.js';
import type { Arch } from '../elf/machine.js';
import { resolveArch } from '../elf/root-arch.js';
import { readShippedHooks, type Hook } from '../hooks/hook.js';
import { RootResolver } from '../rootfs/root-path.js';
import { VERITY_HOOK, verityFacts, type VerityTree } from '../rootfs/verity.js';
import { findKernel, type KernelChoice } from '../kernel/find-kernel.js';
import type { ResolvedModule } from '../kmod/index.js';
import { writeAtomically } from '../util/atomic-file.js';
import { checkOutputPath } from '../util/output-path.js';
import { sha256File } from '../util/sha256.js';
import { sourceDateEpoch } from '../util/source-date-epoch.js';
import { VERSION } from '../version.js';
import { addBinaries } from './add-binaries.js';
import { checkPlanArch } from './arch-guard.js';
import { addModules, type ModuleReport, type ModuleSelection, type PackedModules } from './add-modules.js';
import { addBusybox, findBusybox, missingApplets, type BusyboxChoice } from './busybox.js';
import { InitrdPlan } from './plan.js';
import { addAuthorizedKeys, withSshDebug } from './ssh-key.js';

export interface InitrdOptions extends ModuleSelection {
  root: string;
  out: string;
  kver?: string;
  compression?: Compression;
  level?: number;
  /** A static busybox to pack instead of this machine's /bin/busybox (never the root's: it would have to run). */
  busybox?: string;
  /** The CPU the initrd is for (--arch); default: read from the root's ELF files (src/elf/root-arch.ts). */
  arch?: Arch;
  /** Baked into /etc/ram.conf so this initrd only mounts its matching rootfs image. */
  rootfsSha256?: string;
  rootfsSize?: number;
  /** A rootfs.squashfs to carry inside the initrd as /rootfs.squashfs (--embed): the boot script
   * uses it when no rooturl= is given, so one kernel + initrd boot with no image server. */
  embedRootfs?: string;
  /** The hash tree appended to the rootfs (--hook verity, `ramboot build` only): its root hash
   * and layout go into /etc/ram.conf for lib/verity.sh. */
  verity?: VerityTree;
  /** Seconds for every archive timestamp; default SOURCE_DATE_EPOCH or 0. */
  mtime?: number;
  /** Directories of more hooks (<name>/hook.json) to apply with the shipped ones (--hooks). */
  extraHookDirs?: string[];
  /** Optional hooks to turn on (--hook NAME). */
  enableHooks?: string[];
  /** Public keys for the ssh-debug hook's /root/.ssh/authorized_keys (--ssh-key; turns it on). */
  sshKey?: string;
}

export interface InitrdResult {
  path: string;
  size: number;
  sha256: string;
  kver: string;
  compression: Compression;
  level: number;
  entries: number;
  modules: ResolvedModule[];
  builtin: string[];
  firmware: string[];
  hooks: string[];
  busybox: { path: string; origin: BusyboxChoice['origin'] };
  arch: Arch;
  warnings: string[];
}

/** Mount points and the console node the kernel needs before /init can mount devtmpfs: without
 * /dev/console in the archive, init starts with no stdin/stdout. */
function addSkeleton(plan: InitrdPlan): void {
  for (const dir of ['dev', 'proc', 'sys', 'run', 'tmp', 'newroot', 'etc', 'root']) plan.addDir(dir, 'skeleton');
  plan.add({ path: 'dev/console', mode: 0o600, content: { kind: 'chardev', major: 5, minor: 1 }, requestedBy: 'skeleton' });
  plan.add({ path: 'dev/null', mode: 0o666, content: { kind: 'chardev', major: 1, minor: 3 }, requestedBy: 'skeleton' });
}

/** initrd-scripts/ram is /init; everything else under initrd-scripts/ goes to /lib/ramboot/. */
function addBootScripts(plan: InitrdPlan): void {
  for (const asset of listAssets('initrd-scripts')) {
    const rel = asset.path.slice('initrd-scripts/'.length);
    const exec = asset.mode & 0o111 ? 0o755 : 0o644;
    if (rel === 'ram') plan.addFile('init', asset.data, 'boot script', 0o755);
    else plan.addFile(`lib/ramboot/${rel}`, asset.data, 'boot script', exec);
  }
}

/** Stage scripts go to /lib/ramboot/hooks/<when>/NN-<hook>-<file>: NN keeps hook order (then
 * the order listed) when /init runs the directory in name order. */
function addStageScripts(plan: InitrdPlan, hooks: readonly Hook[]): void {
  const counts = new Map<string, number>();
  for (const hook of hooks) {
    for (const script of hook.stageScripts) {
      const n = (counts.get(script.when) ?? 0) + 1;
      counts.set(script.when, n);
      plan.addFile(`lib/ramboot/hooks/${script.when}/${String(n).padStart(2, '0')}-${hook.name}-${script.file}`, script.data, `hook ${hook.name}`, 0o755);
    }
  }
}

/** A hook's `files` come from the root, each path resolved inside it (src/rootfs/root-path.ts):
 * a link to a host file is a file the root does not have. */
function addHookFiles(plan: InitrdPlan, root: string, hooks: readonly Hook[]): Promise<void[]> {
  const paths = new RootResolver(root);
  return Promise.all(
    hooks.flatMap((hook) =>
      hook.files.map(async (file) => {
        const found = await paths.lookup(file.path);
        if (!found?.stat.isFile()) {
          if (file.optional) return;
          throw inputError(`hook ${hook.name} needs /${file.path.replace(/^\/+/, '')}, which the root does not have`, 'install it into the root, or mark it "optional" in the hook');
        }
        const mode = found.stat.mode & 0o7777;
        plan.add({ path: file.path, mode, content: { kind: 'disk-file', path: found.hostPath, size: found.stat.size }, requestedBy: `hook ${hook.name}` });
      }),
    ),
  );
}

/** Everything an initrd holds except what depends on the rootfs (its sha256 and size, an
 * embedded image): resolved and checked without writing a byte, so `build` can refuse a missing
 * module before it touches the previous image set. One plan is written once (writeInitrd adds
 * the contract to it). */
export interface PlannedInitrd {
  plan: InitrdPlan;
  kernel: KernelChoice;
  compression: Compression;
  level: number;
  mtime: number;
  packed: PackedModules;
  hooks: Hook[];
  busybox: BusyboxChoice;
  arch: Arch;
}

export type InitrdPlanOptions = Omit<InitrdOptions, 'out' | 'rootfsSha256' | 'rootfsSize' | 'embedRootfs' | 'verity'>;

/** What ties an initrd to its rootfs, and where it goes. */
export type InitrdOutput = Pick<InitrdOptions, 'out' | 'rootfsSha256' | 'rootfsSize' | 'embedRootfs' | 'verity'>;

/** The verity hook needs the tree of the image this initrd boots, which only a build that writes
 * that image can make: `ramboot initrd --hook verity` alone has none. */
function checkVerityTree(hooks: readonly Hook[], tree: VerityTree | undefined): void {
  if (hooks.some((h) => h.name === VERITY_HOOK) && !tree) {
    throw inputError('the verity hook needs the root hash of its image, and ramboot initrd does not write one', 'build the set with ramboot build --hook verity, which appends the hash tree to rootfs.squashfs');
  }
}

export function checkRootfsSha256(value: string | undefined): void {
  if (value !== undefined && !/^[0-9a-f]{64}$/.test(value)) {
    throw inputError(`"${value}" is not a sha256`, 'give 64 lowercase hex digits');
  }
}

/** `kernel`: the root's kernel when the caller has already found it (ramboot build does). */
export async function planInitrd(opts: InitrdPlanOptions, kernel?: KernelChoice): Promise<PlannedInitrd> {
  // resolveConfig
  kernel ??= await findKernel(opts.root, { kver: opts.kver });
  const arch = await resolveArch(opts.root, opts.arch, kernel.modulesDir);
  const compression = opts.compression ?? 'zstd';
  const level = checkLevel(compression, opts.level ?? DEFAULT_LEVEL[compression]);
  const mtime = opts.mtime ?? sourceDateEpoch();
  const plan = new InitrdPlan();
  addSkeleton(plan);

  // collectHooks
  const hooks = readShippedHooks(opts.extraHookDirs, withSshDebug(opts.enableHooks, opts.sshKey));

  // resolveModules (+ firmware); the --explain report waits for the binaries below
  let report: ModuleReport | undefined;
  // Listing busybox's applets runs it: let that process run while the modules are read.
  const findingBusybox = findBusybox(opts.busybox, arch);
  findingBusybox.catch(() => {}); // awaited below; a module error may come first
  const packed = await addModules(plan, opts.root, kernel.modulesDir, hooks, { ...opts, onModuleReport: (r) => (report = r) });

  // addBusybox: fail at build time when an applet the boot side calls is missing
  const busybox = await findingBusybox;
  const lacking = missingApplets(busybox, hooks.flatMap((h) => h.applets));
  if (lacking.length > 0) {
    throw inputError(`busybox ${busybox.path} lacks applets the boot script needs: ${lacking.join(', ')}`, 'use Debian busybox-static 1.35 or newer (--busybox FILE)');
  }
  addBusybox(plan, busybox);
  await addHookFiles(plan, opts.root, hooks);
  addAuthorizedKeys(plan, hooks.map((h) => h.name), opts.sshKey);
  const binaries = await addBinaries(plan, opts.root, hooks);
  if (report) opts.onModuleReport?.({ ...report, binaries });
  // Nothing of another architecture (this host's busybox, a stray module) goes in.
  await checkPlanArch(plan, arch);

  // addBootScripts
  addBootScripts(plan);
  addStageScripts(plan, hooks);
  return { plan, kernel, compression, level, mtime, packed, hooks, busybox, arch };
}

export async function writeInitrd(planned: PlannedInitrd, output: InitrdOutput): Promise<InitrdResult> {
  const { plan, kernel, packed, compression, level } = planned;
  checkRootfsSha256(output.rootfsSha256);
  checkVerityTree(planned.hooks, output.verity);
  if (output.embedRootfs) {
    const size = (await stat(output.embedRootfs)).size;
    plan.add({ path: 'rootfs.squashfs', mode: 0o644, content: { kind: 'disk-file', path: output.embedRootfs, size }, requestedBy: '--embed' });
  }

  // writeContract
  const conf = renderRamConf({
    baked: output.rootfsSha256 ? { rootsha256: output.rootfsSha256 } : {},
    facts: {
      KVER: kernel.kver,
      FORCE_LOAD: packed.forceLoad.join(' '),
      ROOTSIZE: output.rootfsSize === undefined ? '' : String(output.rootfsSize),
      EMBEDDED: output.embedRootfs ? '/rootfs.squashfs' : '',
      VERSION,
      ...(output.verity ? verityFacts(output.verity) : {}),
    },
  });
  plan.addFile('etc/ram.conf', Buffer.from(conf), 'builder contract');

  // emitCpio + compress, atomicRename
  const entries = await writeAtomically(output.out, async (tmp) => {
    const sink = compressToFile(compression, level, tmp);
    const [written] = await Promise.all([writeNewc(plan.toCpioEntries(planned.mtime), sink.input), sink.done]);
    return written.entries;
  });
  const size = (await stat(output.out)).size;
  return {
    path: output.out,
    size,
    sha256: await sha256File(output.out),
    kver: kernel.kver,
    compression,
    level,
    entries,
    modules: packed.resolution.modules,
    builtin: packed.resolution.builtin,
    firmware: packed.firmware,
    hooks: planned.hooks.map((h) => h.name),
    busybox: { path: planned.busybox.path, origin: planned.busybox.origin },
    arch: planned.arch,
    warnings: packed.warnings,
  };
}

/** Check the output and every input, then write: a bad module request never replaces `out`. */
export async function buildInitrd(opts: InitrdOptions): Promise<InitrdResult> {
  checkRootfsSha256(opts.rootfsSha256);
  await checkOutputPath(opts.out, 'file');
  return writeInitrd(await planInitrd(opts), opts);
}
