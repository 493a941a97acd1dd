// Initrd build: ramboot vs dracut vs mkinitramfs (MODULES=most and MODULES=dep), the same kernel
// and module tree, on this machine, alternating runs. dracut and mkinitramfs run in their
// chroots (a copy of the same base root plus their packages) with /proc /sys /dev bound, mounted
// once around all rounds so mounting is never timed.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LEVEL, toolArgs } from '../src/compress/codecs.js';
import { withChrootMounts } from './chroot.js';
import { readInitrdContents, type InitrdContents } from './initrd-contents.js';
import { runAlternating, stats, type Contestant, type Stats } from './measure.js';
import type { BenchSetup, Step } from './setup.js';

export interface InitrdBuildResult {
  name: string;
  /** The command as a user would type it (inside the chroot for the peers). */
  command: string;
  wallS: Stats;
  maxRssMiB: Stats;
  path: string;
  contents?: InitrdContents;
  error?: string;
  /** ramboot only: its summary line of the last run. */
  summary?: string;
  /** ramboot only: where its time goes, measured in the rounds (initrdBreakdown). */
  breakdown?: InitrdBreakdown;
}

/** Where ramboot's build time goes. Each round runs, right after ramboot's full build, the
 * binary's start-up alone, the same build uncompressed, a read of the uncompressed bytes and the
 * zstd CLI alone on them: differences are taken within a round (same load), then the median.
 * State files from before the interleaving have startupS and uncompressedS only. */
export interface InitrdBreakdown {
  /** `ramboot --version`, median. */
  startupS: number;
  /** The build with `--compress none`, median. */
  uncompressedS: number;
  /** Median of (uncompressed − start-up) per round: module index, resolution, reads, cpio. */
  modulesCpioS?: number;
  /** Median of (full − uncompressed) per round: what compression adds to the build. */
  compressS?: number;
  /** `cat` of the uncompressed cpio: reading the N bytes an initrd packs (page cache). */
  readS?: number;
  /** The zstd CLI alone on the N bytes, with the arguments ramboot gives it. */
  zstdCliS?: number;
  /** N: the uncompressed cpio's size. */
  bytes?: number;
  level?: number;
}

/** The breakdown's figures from the per-round samples (index i of each list is round i). */
export function initrdBreakdown(rounds: { full: number[]; startup: number[]; uncompressed: number[]; read: number[]; zstdCli: number[] }, bytes: number, level: number): InitrdBreakdown {
  const per = (f: (i: number) => number) => stats(rounds.full.map((_, i) => f(i))).median;
  return {
    startupS: stats(rounds.startup).median,
    uncompressedS: stats(rounds.uncompressed).median,
    modulesCpioS: per((i) => rounds.uncompressed[i]! - rounds.startup[i]!),
    compressS: per((i) => rounds.full[i]! - rounds.uncompressed[i]!),
    readS: stats(rounds.read).median,
    zstdCliS: stats(rounds.zstdCli).median,
    bytes,
    level,
  };
}

/** The breakdown's runs in the rounds (InitrdBreakdown). */
const PROBE = { startup: 'ramboot-startup', uncompressed: 'ramboot-uncompressed', read: 'read-uncompressed', zstdCli: 'zstd-cli' } as const;

const CHROOT_ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C.UTF-8', 'HOME=/root'];

/** Set MODULES= in the chroot's /etc/initramfs-tools/initramfs.conf (initramfs.conf(5)). */
async function setInitramfsModules(itoolsRoot: string, value: 'most' | 'dep'): Promise<void> {
  const path = join(itoolsRoot, 'etc/initramfs-tools/initramfs.conf');
  const text = await readFile(path, 'utf8');
  if (!/^MODULES=/m.test(text)) throw new Error(`${path} has no MODULES= line`);
  await writeFile(path, text.replace(/^MODULES=.*$/m, `MODULES=${value}`));
}

export async function benchInitrdBuild(setup: BenchSetup, ramboot: readonly string[], rounds: number, step: Step): Promise<InitrdBuildResult[]> {
  const kver = setup.base.stamp.kver;
  const outDir = join(setup.dir, 'out', 'initrd');
  await mkdir(outDir, { recursive: true });
  // Peers write inside their chroot; the host sees the same file under the chroot's path.
  const inChroot = '/var/tmp/ramboot-bench';
  for (const root of [setup.dracut.root, setup.itools.root]) await mkdir(join(root, inChroot), { recursive: true });
  const rambootOut = join(outDir, 'ramboot.img');
  const dracutOut = `${inChroot}/dracut.img`;
  const mostOut = `${inChroot}/mkinitramfs-most.img`;
  const depOut = `${inChroot}/mkinitramfs-dep.img`;

  const uncompressedOut = `${rambootOut}.none`;
  const level = DEFAULT_LEVEL.zstd;
  // Run right after ramboot in each round: its breakdown (InitrdBreakdown), never builders of
  // their own. The uncompressed build comes first: the read and the zstd CLI take its output.
  const probes: Contestant[] = [
    { name: PROBE.startup, command: [...ramboot, '--version'] },
    { name: PROBE.uncompressed, command: [...ramboot, 'initrd', '--root', setup.base.root, '-o', uncompressedOut, '--compress', 'none'], prepare: () => rm(uncompressedOut, { force: true }) },
    { name: PROBE.read, command: ['sh', '-c', 'exec cat "$0" > /dev/null', uncompressedOut] },
    { name: PROBE.zstdCli, command: ['sh', '-c', 'exec zstd "$@" < "$0" > /dev/null', uncompressedOut, ...toolArgs('zstd', level)] },
  ];
  const plan: Array<Contestant & { display: string; path: string }> = [
    {
      name: 'ramboot',
      command: [...ramboot, 'initrd', '--root', setup.base.root, '-o', rambootOut],
      display: `ramboot initrd --root ROOT -o initrd.img`,
      path: rambootOut,
      prepare: () => rm(rambootOut, { force: true }),
    },
    ...probes.map((p) => ({ ...p, display: p.command.join(' '), path: '' })),
    {
      name: 'dracut',
      command: ['chroot', setup.dracut.root, ...CHROOT_ENV, 'dracut', '-f', '--no-hostonly', '--add', 'dmsquash-live livenet', '--kver', kver, dracutOut],
      display: `dracut -f --no-hostonly --add "dmsquash-live livenet" --kver ${kver} initrd.img`,
      path: join(setup.dracut.root, dracutOut),
      prepare: () => rm(join(setup.dracut.root, dracutOut), { force: true }),
    },
    {
      name: 'mkinitramfs-most',
      command: ['chroot', setup.itools.root, ...CHROOT_ENV, 'mkinitramfs', '-o', mostOut, kver],
      display: `mkinitramfs -o initrd.img ${kver}   # MODULES=most`,
      path: join(setup.itools.root, mostOut),
      prepare: async () => {
        await rm(join(setup.itools.root, mostOut), { force: true });
        await setInitramfsModules(setup.itools.root, 'most');
      },
    },
    {
      name: 'mkinitramfs-dep',
      command: ['chroot', setup.itools.root, ...CHROOT_ENV, 'mkinitramfs', '-o', depOut, kver],
      display: `mkinitramfs -o initrd.img ${kver}   # MODULES=dep`,
      path: join(setup.itools.root, depOut),
      prepare: async () => {
        await rm(join(setup.itools.root, depOut), { force: true });
        await setInitramfsModules(setup.itools.root, 'dep');
      },
    },
  ];

  step(`initrd build: ${rounds} alternating rounds of ${plan.map((p) => p.name).join(', ')}`);
  const records = await withChrootMounts(setup.dracut.root, () =>
    withChrootMounts(setup.itools.root, async () => {
      try {
        return await runAlternating(plan, rounds, step);
      } finally {
        // Leave the chroot with the distribution default.
        await setInitramfsModules(setup.itools.root, 'most');
      }
    }),
  );

  const results: InitrdBuildResult[] = [];
  const isProbe = (name: string) => (Object.values(PROBE) as string[]).includes(name);
  for (const p of plan.filter((x) => !isProbe(x.name))) {
    const record = records[p.name]!;
    const result: InitrdBuildResult = {
      name: p.name,
      command: p.display,
      wallS: stats(record.runs.map((r) => r.wallS)),
      maxRssMiB: stats(record.runs.map((r) => r.maxRssKiB / 1024)),
      path: p.path,
    };
    if (record.error) result.error = record.error;
    if (record.runs.length > 0) {
      result.contents = await readInitrdContents(p.path).catch((error: Error) => {
        result.error = `${result.error ?? ''} contents: ${error.message}`.trim();
        return undefined;
      });
    }
    if (p.name === 'ramboot') {
      const last = record.runs.at(-1);
      result.summary = last ? `${last.stdout}${last.stderr}`.trim().split('\n').pop() : undefined;
      const wall = (name: string) => records[name]!.runs.map((run) => run.wallS);
      const full = wall('ramboot');
      const rounds = { full, startup: wall(PROBE.startup), uncompressed: wall(PROBE.uncompressed), read: wall(PROBE.read), zstdCli: wall(PROBE.zstdCli) };
      const complete = Object.values(rounds).every((list) => list.length === full.length && list.length > 0);
      const bytes = await stat(uncompressedOut).then((st) => st.size, () => NaN);
      if (complete) result.breakdown = initrdBreakdown(rounds, bytes, level);
      else result.error = `${result.error ?? ''} breakdown: ${plan.filter((x) => isProbe(x.name) && records[x.name]!.error).map((x) => `${x.name}: ${records[x.name]!.error!.split('\n')[0]}`).join('; ')}`.trim();
      await rm(uncompressedOut, { force: true });
    }
    results.push(result);
  }
  return results;
}
