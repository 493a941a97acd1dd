// Initrd build: ramboot vs dracut vs mkinitramfs (MODULES=most and MODULES=dep), the same kernel
// and module tree, on this machine, alternating runs. dracut and mkinitramfs run in their
// chroots (a copy of the same base root plus their packages) with /proc /sys /dev bound, mounted
// once around all rounds so mounting is never timed.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withChrootMounts } from './chroot.js';
import { readInitrdContents, type InitrdContents } from './initrd-contents.js';
import { measure, runAlternating, stats, type Contestant, type Stats } from './measure.js';
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
  /** ramboot only: where its time goes, medians of 5 runs each, measured after the rounds. */
  breakdown?: { startupS: number; uncompressedS: number };
}

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

  const plan: Array<Contestant & { display: string; path: string }> = [
    {
      name: 'ramboot',
      command: [...ramboot, 'initrd', '--root', setup.base.root, '-o', rambootOut],
      display: `ramboot initrd --root ROOT -o initrd.img`,
      path: rambootOut,
      prepare: () => rm(rambootOut, { force: true }),
    },
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
  for (const p of plan) {
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
      // Start-up alone (--help) and the build without compression (--compress none): the rest of
      // a default build is zstd.
      const startup: number[] = [];
      const uncompressed: number[] = [];
      for (let i = 0; i < 5; i++) {
        startup.push((await measure([...ramboot, '--help'])).wallS);
        uncompressed.push((await measure([...ramboot, 'initrd', '--root', setup.base.root, '-o', `${rambootOut}.none`, '--compress', 'none'])).wallS);
      }
      await rm(`${rambootOut}.none`, { force: true });
      result.breakdown = { startupS: stats(startup).median, uncompressedS: stats(uncompressed).median };
    }
    results.push(result);
  }
  return results;
}
