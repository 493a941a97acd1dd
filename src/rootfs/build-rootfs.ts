// rootfs.squashfs from a root tree, as named steps:
//   planRootfs:  resolveRootfsSettings -> checkRoot -> readExcludeList -> planImageEdits
//   writeRootfs: renderMksquashfsArgs -> mksquashfs into a temp file -> sha256 -> atomicRename
// (split so `build` can check everything before it writes anything)
// The source tree is only read. Same tree + same settings (+ SOURCE_DATE_EPOCH) = same bytes:
// mksquashfs 4.5.1 is -reproducible by default (identical output with -processors 1 and 2,
// measured), orders inodes by name, and the only clock it reads is the superblock's creation time.
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { inputError, usageError } from '../errors.js';
import { writeAtomically } from '../util/atomic-file.js';
import { realpathOfNearest } from '../util/disk-space.js';
import { checkOutputPath } from '../util/output-path.js';
import { runTool } from '../util/run-tool.js';
import { sha256File } from '../util/sha256.js';
import { sourceDateEpoch } from '../util/source-date-epoch.js';
import { readExcludeList, renderExcludePatterns, type ExcludeRule } from './excludes.js';
import { planImageEdits } from './image-edits.js';
import { lookupInRoot } from './root-path.js';
import { createBarForwarder } from './progress.js';

export { parseExcludeList, readExcludeList, renderExcludePatterns, type ExcludeRule } from './excludes.js';

export const SQUASHFS_COMPRESSIONS = ['zstd', 'xz', 'gzip', 'lz4'] as const;
export type SquashfsCompression = (typeof SQUASHFS_COMPRESSIONS)[number];

export interface RootfsOptions {
  /** A root tree directory; never modified. */
  root: string;
  /** Output file, e.g. out/rootfs.squashfs. */
  out: string;
  compression?: SquashfsCompression;
  level?: number;
  /** Bytes; a power of two from 4 KiB to 1 MiB (the squashfs limits). */
  blockSize?: number;
  /** Extra exclude lists, same format as rootfs-excludes/*. */
  excludeFiles?: string[];
  /** Default: SOURCE_DATE_EPOCH from the environment. */
  sourceDateEpoch?: number;
  /** Pass mksquashfs' progress bar on to stderr (the CLI sets this only when stderr is a TTY). */
  progress?: boolean;
}

export interface RootfsResult {
  path: string;
  size: number;
  sha256: string;
  seconds: number;
  compression: SquashfsCompression;
  level: number | undefined;
  blockSize: number;
  /** Fixups applied inside the image, e.g. "/etc/machine-id emptied". */
  edits: string[];
  warnings: string[];
}

// Defaults chosen by measurement (mksquashfs 4.5.1, 2 cores, a 229 MB stand-in root made of
// this machine's /usr binaries, libraries, perl, python, zoneinfo, locales and /var/lib/dpkg):
// mksquashfs' own zstd default (level 15, 128K blocks) took 9.0-10.6 s for 54.0 MB; zstd 6 with
// 1M blocks took 1.0-1.2 s for 54.0 MB (8x faster, same size). Levels 1-3 were faster still but
// 7-22% larger; 1M blocks were 3-11% smaller than 128K at every level. The price of 1M blocks is
// at read time: reading a small file decompresses its whole fragment block (<= 1M), which zstd
// does at memory speed; --block-size 256K trades 6% of size for that. gzip 6 is 4.7x faster than
// gzip's default 9 for 1% more. xz (no level in 4.5.1) and lz4 keep mksquashfs' settings.
export const DEFAULT_BLOCK_SIZE = 1 << 20;
export const DEFAULT_SQUASHFS_LEVEL: Record<SquashfsCompression, number | undefined> = { zstd: 6, gzip: 6, xz: undefined, lz4: undefined };
const LEVEL_RANGE: Partial<Record<SquashfsCompression, [number, number]>> = { zstd: [1, 22], gzip: [1, 9] };

export interface SquashfsSettings {
  compression: SquashfsCompression;
  level: number | undefined;
  blockSize: number;
  sourceDateEpoch: number | undefined;
}

/** The squashfs settings with defaults applied, or a one-line usage error: also the CLI's check
 * of --squashfs-comp/--squashfs-level/--block-size before any work starts. */
export function resolveRootfsSettings(opts: Pick<RootfsOptions, 'compression' | 'level' | 'blockSize' | 'sourceDateEpoch'>): SquashfsSettings {
  const compression = opts.compression ?? 'zstd';
  if (!SQUASHFS_COMPRESSIONS.includes(compression)) {
    throw usageError(`squashfs compression "${compression}" is not one of ${SQUASHFS_COMPRESSIONS.join(', ')}`);
  }
  const range = LEVEL_RANGE[compression];
  if (opts.level !== undefined) {
    if (!range) throw usageError(`mksquashfs has no compression level for ${compression}`, 'leave out the squashfs level, or use zstd or gzip');
    if (!Number.isInteger(opts.level) || opts.level < range[0] || opts.level > range[1]) {
      throw usageError(`squashfs ${compression} level ${opts.level} is out of range`, `use ${range[0]}..${range[1]}`);
    }
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 4096 || blockSize > 1 << 20 || (blockSize & (blockSize - 1)) !== 0) {
    throw usageError(`squashfs block size ${blockSize} is not a power of two from 4K to 1M`, 'e.g. 128K, 256K or 1M');
  }
  let sde = opts.sourceDateEpoch;
  if (sde === undefined && (process.env.SOURCE_DATE_EPOCH ?? '') !== '') sde = sourceDateEpoch();
  if (sde !== undefined && (!Number.isInteger(sde) || sde < 0 || sde > 0xffffffff)) {
    throw usageError(`source date epoch ${sde} is not a Unix time that fits squashfs (0..4294967295)`);
  }
  return { compression, level: opts.level ?? DEFAULT_SQUASHFS_LEVEL[compression], blockSize, sourceDateEpoch: sde };
}

const INIT_PATHS = ['sbin/init', 'usr/sbin/init', 'lib/systemd/systemd', 'usr/lib/systemd/systemd'];

/** The root must be a directory; without any init it is probably not a root tree (a warning:
 * test roots are tiny). The output must not land inside the tree it is made from. */
async function checkRoot(root: string, out: string, warnings: string[]): Promise<void> {
  const st = await stat(root).catch(() => null);
  if (!st) throw inputError(`root tree ${root} does not exist`);
  if (!st.isDirectory()) throw inputError(`root tree ${root} is not a directory`);
  // Looked up inside the root: a symlinked /sbin or /usr must not send the check to the host's.
  const present = await Promise.all(INIT_PATHS.map((p) => lookupInRoot(root, p, { followFinal: false }).then((e) => e !== undefined, () => false)));
  if (!present.includes(true)) {
    warnings.push(`${root} has no /sbin/init, /usr/sbin/init or /lib/systemd/systemd; is it a root tree?`);
  }
  const rel = relative(await realpath(root), await realpathOfNearest(dirname(resolve(out))));
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
    throw usageError(`output ${out} is inside the root tree ${root}`, 'write the image outside the tree it is made from');
  }
}

export interface MksquashfsPlan extends SquashfsSettings {
  root: string;
  out: string;
  progress: boolean;
  excludes: string[];
  pseudo: string[];
}

/** The mksquashfs command line. -e must come last: every argument after it is a pattern. */
export function renderMksquashfsArgs(plan: MksquashfsPlan): string[] {
  const args = [plan.root, plan.out, '-noappend', '-reproducible', '-exit-on-error', '-comp', plan.compression];
  if (plan.level !== undefined) args.push('-Xcompression-level', String(plan.level));
  args.push('-b', String(plan.blockSize));
  // -quiet would also hide the progress bar, so with progress the summary is filtered out instead.
  if (!plan.progress) args.push('-quiet', '-no-progress');
  // mksquashfs reads SOURCE_DATE_EPOCH itself (creation time + clamping of newer file times) and
  // refuses it together with -mkfs-time; without it, the creation time is pinned to 0 so the tree
  // alone decides the bytes. See mksquashfsEnv.
  if (plan.sourceDateEpoch === undefined) args.push('-mkfs-time', '0');
  for (const definition of plan.pseudo) args.push('-p', definition);
  if (plan.excludes.length > 0) args.push('-wildcards', '-e', ...plan.excludes);
  return args;
}

function mksquashfsEnv(sde: number | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SOURCE_DATE_EPOCH;
  if (sde !== undefined) env.SOURCE_DATE_EPOCH = String(sde);
  return env;
}

/** A checked rootfs build: settings in range, the root a directory, exclude lists read, image
 * edits planned. Nothing is written until writeRootfs. */
export interface PlannedRootfs {
  root: string;
  settings: SquashfsSettings;
  excludes: string[];
  edits: Awaited<ReturnType<typeof planImageEdits>>;
  progress: boolean;
  warnings: string[];
}

/** `opts.out` is where the image will finally be (checked against the root); writeRootfs may
 * be given another path, e.g. a staging directory beside it. */
export async function planRootfs(opts: RootfsOptions): Promise<PlannedRootfs> {
  const settings = resolveRootfsSettings(opts);
  const warnings: string[] = [];
  await checkRoot(opts.root, opts.out, warnings);
  const rules: ExcludeRule[] = await readExcludeList(opts.excludeFiles ?? []);
  const edits = await planImageEdits(opts.root);
  return { root: opts.root, settings, excludes: [...renderExcludePatterns(rules), ...edits.excludes], edits, progress: opts.progress === true, warnings };
}

export async function writeRootfs(planned: PlannedRootfs, out: string, flag = '-o'): Promise<RootfsResult> {
  const started = performance.now();
  const { settings, progress } = planned;
  const warnings = [...planned.warnings];
  const { sha256, stderr } = await writeAtomically(
    out,
    async (tmp) => {
      const args = renderMksquashfsArgs({ ...settings, root: planned.root, out: tmp, progress, excludes: planned.excludes, pseudo: planned.edits.pseudo });
      const bar = createBarForwarder((text) => process.stderr.write(text));
      const stdout = progress
        ? {
            binary: true,
            transform: function* (chunk: unknown) {
              bar.push(chunk as Uint8Array);
            },
            final: function* () {
              bar.end();
            },
          }
        : ('pipe' as const);
      const result = await runTool('mksquashfs', args, { env: mksquashfsEnv(settings.sourceDateEpoch), extendEnv: false, stdout });
      return { sha256: await sha256File(tmp), stderr: result.stderr };
    },
    { flag },
  );
  // mksquashfs reports skipped xattrs and the like on stderr and still succeeds.
  warnings.push(...stderr.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => `mksquashfs: ${l}`));

  return {
    path: out,
    size: (await stat(out)).size,
    sha256,
    seconds: (performance.now() - started) / 1000,
    compression: settings.compression,
    level: settings.level,
    blockSize: settings.blockSize,
    edits: planned.edits.applied,
    warnings,
  };
}

/** Check the output and every input, then write. */
export async function buildRootfs(opts: RootfsOptions): Promise<RootfsResult> {
  await checkOutputPath(opts.out, 'file');
  return writeRootfs(await planRootfs(opts), opts.out);
}
