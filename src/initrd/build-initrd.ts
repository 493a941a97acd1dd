// Building initrd.img, as a list of named steps:
//   resolveConfig -> collectHooks -> resolveModules -> addBusybox -> addBootScripts ->
//   writeContract -> emitCpio + compress -> atomicRename
// Features live in hooks (hooks/*/hook.json), not in `if`s here.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listAssets } from '../assets.js';
import { renderRamConf } from '../cmdline/ram-conf.js';
import { compressToFile, checkLevel, DEFAULT_LEVEL, type Compression } from '../compress/codecs.js';
import { writeNewc } from '../cpio/newc-writer.js';
import { inputError } from '../errors.js';
import { readShippedHooks, type Hook } from '../hooks/hook.js';
import { findKernel } from '../kernel/find-kernel.js';
import type { ResolvedModule } from '../kmod/index.js';
import { writeAtomically } from '../util/atomic-file.js';
import { sha256File } from '../util/sha256.js';
import { sourceDateEpoch } from '../util/source-date-epoch.js';
import { VERSION } from '../version.js';
import { addModules, type ModuleSelection } from './add-modules.js';
import { addBusybox, findBusybox, missingApplets } from './busybox.js';
import { InitrdPlan } from './plan.js';

export interface InitrdOptions extends ModuleSelection {
  root: string;
  out: string;
  kver?: string;
  compression?: Compression;
  level?: number;
  /** A static busybox to use instead of the root's or the host's. */
  busybox?: string;
  /** Baked into /etc/ram.conf so this initrd only mounts its matching rootfs image. */
  rootfsSha256?: string;
  rootfsSize?: number;
  /** A rootfs.squashfs to carry inside the initrd as /rootfs.squashfs (--embed): the boot script
   * uses it when no rooturl= is given, so one kernel + initrd boot with no image server. */
  embedRootfs?: string;
  /** Seconds for every archive timestamp; default SOURCE_DATE_EPOCH or 0. */
  mtime?: number;
  /** Directories of more hooks (<name>/hook.json) to apply with the shipped ones. */
  extraHookDirs?: string[];
}

export interface InitrdResult {
  path: string;
  size: number;
  sha256: string;
  kver: string;
  compression: Compression;
  entries: number;
  modules: ResolvedModule[];
  builtin: string[];
  firmware: string[];
  hooks: string[];
  busybox: { path: string; origin: 'root' | 'host' };
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

function addHookFiles(plan: InitrdPlan, root: string, hooks: readonly Hook[]): Promise<void[]> {
  return Promise.all(
    hooks.flatMap((hook) =>
      hook.files.map(async (file) => {
        const st = await stat(join(root, file.path)).catch(() => undefined);
        if (!st?.isFile()) {
          if (file.optional) return;
          throw inputError(`hook ${hook.name} needs ${file.path}, which the root does not have`);
        }
        plan.add({ path: file.path, mode: st.mode & 0o7777, content: { kind: 'disk-file', path: join(root, file.path), size: st.size }, requestedBy: `hook ${hook.name}` });
      }),
    ),
  );
}

export async function buildInitrd(opts: InitrdOptions): Promise<InitrdResult> {
  // resolveConfig
  const kernel = await findKernel(opts.root, { kver: opts.kver });
  const compression = opts.compression ?? 'zstd';
  const level = checkLevel(compression, opts.level ?? DEFAULT_LEVEL[compression]);
  const mtime = opts.mtime ?? sourceDateEpoch();
  if (opts.rootfsSha256 !== undefined && !/^[0-9a-f]{64}$/.test(opts.rootfsSha256)) {
    throw inputError(`"${opts.rootfsSha256}" is not a sha256`, 'give 64 lowercase hex digits');
  }
  const plan = new InitrdPlan();
  addSkeleton(plan);

  // collectHooks
  const hooks = readShippedHooks(opts.extraHookDirs);

  // resolveModules (+ firmware)
  const packed = await addModules(plan, opts.root, kernel.modulesDir, hooks, opts);

  // addBusybox: fail at build time when an applet the boot side calls is missing
  const busybox = await findBusybox(opts.root, opts.busybox);
  const lacking = missingApplets(busybox, hooks.flatMap((h) => h.applets));
  if (lacking.length > 0) {
    throw inputError(`busybox ${busybox.path} lacks applets the boot script needs: ${lacking.join(', ')}`, 'use Debian busybox-static 1.35 or newer (--busybox FILE)');
  }
  addBusybox(plan, busybox);
  await addHookFiles(plan, opts.root, hooks);

  // addBootScripts
  addBootScripts(plan);
  addStageScripts(plan, hooks);
  if (opts.embedRootfs) {
    const size = (await stat(opts.embedRootfs)).size;
    plan.add({ path: 'rootfs.squashfs', mode: 0o644, content: { kind: 'disk-file', path: opts.embedRootfs, size }, requestedBy: '--embed' });
  }

  // writeContract
  const conf = renderRamConf({
    baked: opts.rootfsSha256 ? { rootsha256: opts.rootfsSha256 } : {},
    facts: {
      KVER: kernel.kver,
      FORCE_LOAD: packed.forceLoad.join(' '),
      ROOTSIZE: opts.rootfsSize === undefined ? '' : String(opts.rootfsSize),
      EMBEDDED: opts.embedRootfs ? '/rootfs.squashfs' : '',
      VERSION,
    },
  });
  plan.addFile('etc/ram.conf', Buffer.from(conf), 'builder contract');

  // emitCpio + compress, atomicRename
  const entries = await writeAtomically(opts.out, async (tmp) => {
    const sink = compressToFile(compression, level, tmp);
    const [written] = await Promise.all([writeNewc(plan.toCpioEntries(mtime), sink.input), sink.done]);
    return written.entries;
  });
  const size = (await stat(opts.out)).size;
  return {
    path: opts.out,
    size,
    sha256: await sha256File(opts.out),
    kver: kernel.kver,
    compression,
    entries,
    modules: packed.resolution.modules,
    builtin: packed.resolution.builtin,
    firmware: packed.firmware,
    hooks: hooks.map((h) => h.name),
    busybox: { path: busybox.path, origin: busybox.origin },
    warnings: packed.warnings,
  };
}
