// Time to a usable system: the stock Debian 12 root (src/lab/stock-root.ts, the one the
// distribution boot tests use) booted to multi-user.target by ramboot, live-boot and dracut.
// One image, rootfs.squashfs of `ramboot build` (src/lab/distro-boot.ts, with the reporter unit
// of src/lab/distro-probe.ts), served by one HTTP server on 127.0.0.1 to all three:
//   ramboot   its own initrd and cmdline.txt, rooturl=
//   dracut    root=live:URL rd.live.ram=1 rd.neednet=1 ip=dhcp rd.live.overlay.overlayfs=1
//   live-boot boot=live fetch=URL ip=dhcp                        (initramfs-tools, MODULES=most)
// The number is the reporter's: the guest's /proc/uptime when `systemctl is-system-running
// --wait` returns. Then it prints systemd-analyze time/blame/critical-chain and ramboot's
// /run/ramboot/report.json (where the time went) and powers off.
//
// Kernel: all three boot the stock root's own kernel (6.1.0-N-cloud, whatever the root was
// debootstrapped with), because the image's /lib/modules must match the running kernel and the
// image is the thing being compared. The peers' chroots (bench/setup.ts) carry the bench's
// pinned kernel instead, so their initrds are built here once for the root's kernel: in a
// hard-linked copy of each chroot with the root's /usr/lib/modules/KVER and /boot/config-KVER
// added (the cached chroots stay untouched), cached under <bench>/multiuser keyed by kver.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDistroSet, type DistroSet } from '../src/lab/distro-boot.js';
import { parseProbe, probeSerialArgs, type ProbeReport } from '../src/lab/distro-probe.js';
import { startQemu } from '../src/lab/qemu.js';
import { BOOKWORM, ensureStockRoot, type StockRoot } from '../src/lab/stock-root.js';
import { parseAnalyzeTime, parseBlame, parseCriticalChain, type AnalyzeTime, type BlameEntry, type ChainLink } from '../src/lab/systemd-analyze.js';
import { runTool } from '../src/util/run-tool.js';
import { withChrootMounts } from './chroot.js';
import { stats, type Stats } from './measure.js';
import { chrootRun, type BenchSetup, type Step } from './setup.js';

/** A boot that visibly failed: no point waiting out the timeout. */
const FAILED = /Kernel panic - not syncing|Entering emergency mode|rdsosreport|\(initramfs\) |ramboot: error:/;
/** systemd to multi-user under TCG on a shared 2-core machine, then the analysis and poweroff. */
const TIMEOUT_MS = 900_000;

export interface MultiUserResult {
  name: string;
  cmdline: string;
  initrd: string;
  initrdSize: number;
  /** Guest uptime when `systemctl is-system-running --wait` returned. */
  guestUptimeS: Stats;
  hostWallS: Stats;
  /** What is-system-running said, per boot (running, degraded). */
  states: string[];
  /** Units `systemctl --failed` listed in any boot. */
  failed: string[];
  /** Kernel timestamp of "Run /init as init process". */
  rdinitS: Stats;
  /** systemd's own part of each boot: `systemd-analyze time`'s userspace (the multi-user floor). */
  userspaceS?: Stats;
  /** systemd-analyze of the last boot that reached multi-user. */
  analyze?: { time: AnalyzeTime; blame: BlameEntry[]; chain: ChainLink[] };
  /** ramboot: median seconds of each stage in /run/ramboot/report.json. */
  stages?: Record<string, number>;
  /** Per boot, when the boot settled: sshd's listening sockets on port 22 and the host keys
   * there were. The peers boot the same image, which has no host keys, so their sshd fails. */
  sshd?: { listening: number; hostKeys: string[] }[];
  error?: string;
}

export interface MultiUserBench {
  root: { suite: string; kver: string; key: string };
  squashfsSize: number;
  results: MultiUserResult[];
}

/** The peers' initrds for the stock root's kernel, built once per kver (and peer chroot). */
async function peerInitrds(setup: BenchSetup, stock: StockRoot, step: Step): Promise<{ dracut: string; liveBoot: string }> {
  const kver = stock.stamp.kver;
  const dir = join(setup.dir, 'multiuser');
  await mkdir(dir, { recursive: true });
  const out = { dracut: join(dir, `dracut-${kver}.img`), liveBoot: join(dir, `mkinitramfs-most-${kver}.img`) };
  const build = async (name: string, root: string, target: string, command: (img: string) => string[]) => {
    if (existsSync(target)) return;
    const scratch = join(dir, `${name}-root.tmp`);
    await rm(scratch, { recursive: true, force: true });
    step(`multiuser: ${name} initrd for ${kver} (hard-linked copy of roots/${name} + the stock root's modules)`);
    await runTool('cp', ['-al', root, scratch]);
    try {
      await runTool('tar', ['-I', 'zstd', '--keep-directory-symlink', '-xf', stock.tarball, '-C', scratch, `./usr/lib/modules/${kver}`, `./boot/config-${kver}`]);
      await withChrootMounts(scratch, () => chrootRun(scratch, command('/var/tmp/multiuser.img')));
      await runTool('mv', [join(scratch, 'var/tmp/multiuser.img'), target]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
  await build('dracut', setup.dracut.root, out.dracut, (img) => ['dracut', '-f', '--no-hostonly', '--add', 'dmsquash-live livenet', '--kver', kver, img]);
  await build('itools', setup.itools.root, out.liveBoot, (img) => ['mkinitramfs', '-o', img, kver]);
  return out;
}

interface Plan {
  name: string;
  initrd: string;
  cmdline: (url: string) => string;
}

interface Samples {
  uptime: number[];
  wall: number[];
  rdinit: number[];
  userspace: number[];
  states: string[];
  failed: Set<string>;
  stages: Map<string, number[]>;
  sshd: { listening: number; hostKeys: string[] }[];
  last?: ProbeReport;
  error?: string;
}

/** The stages object of report.json (seconds per stage), or nothing when it is absent or bad. */
export function reportStages(json: string | undefined): Record<string, number> | undefined {
  if (!json) return undefined;
  try {
    const report = JSON.parse(json) as { stages?: Record<string, unknown> };
    const stages = Object.entries(report.stages ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number');
    return stages.length > 0 ? Object.fromEntries(stages) : undefined;
  } catch {
    return undefined;
  }
}

export async function benchMultiUser(setup: BenchSetup, rounds: number, step: Step): Promise<MultiUserBench> {
  const stock = await ensureStockRoot(BOOKWORM, step);
  const peers = await peerInitrds(setup, stock, step);
  step(`multiuser: ramboot build of the ${stock.stamp.suite} root (${stock.stamp.kver}) with the reporter unit`);
  const set: DistroSet = await buildDistroSet(stock, 'bench', { analyze: true });
  const logs = join(setup.dir, 'out', 'multiuser');
  await mkdir(logs, { recursive: true });
  const tail = 'console=ttyS0';
  const plans: Plan[] = [
    { name: 'ramboot', initrd: join(set.out, 'initrd.img'), cmdline: (url) => `${set.cmdline} rooturl=${url} ${tail}` },
    { name: 'dracut', initrd: peers.dracut, cmdline: (url) => `root=live:${url} rd.live.ram=1 rd.neednet=1 ip=dhcp rd.live.overlay.overlayfs=1 ${tail}` },
    { name: 'live-boot', initrd: peers.liveBoot, cmdline: (url) => `boot=live fetch=${url} ip=dhcp ${tail}` },
  ];
  const url = set.http.url('/rootfs.squashfs');
  const squashfsSize = (await stat(join(set.out, 'rootfs.squashfs'))).size;
  // Taken now: ramboot's initrd goes with the set's cleanup.
  const initrdSizes = new Map(await Promise.all(plans.map(async (p) => [p.name, (await stat(p.initrd)).size] as const)));
  const samples = new Map<string, Samples>(plans.map((p) => [p.name, { uptime: [], wall: [], rdinit: [], userspace: [], states: [], failed: new Set(), stages: new Map(), sshd: [] }]));
  step(`multiuser: ${rounds} alternating rounds of ${plans.map((p) => p.name).join(', ')} to multi-user.target (QEMU TCG, -m 2048)`);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const p of plans) {
        const s = samples.get(p.name)!;
        if (s.error) continue;
        const probeFile = join(set.work, `mu-${p.name}-${round}.probe`);
        await writeFile(probeFile, '');
        const boot = await startQemu({
          kernel: join(set.out, 'vmlinuz'),
          initrd: p.initrd,
          append: p.cmdline(url),
          memoryMiB: 2048,
          timeoutMs: TIMEOUT_MS,
          until: FAILED,
          extraArgs: probeSerialArgs(probeFile),
        }).done;
        const probeText = await readFile(probeFile, 'utf8');
        await writeFile(join(logs, `${p.name}-${round}.log`), `${boot.output}\n--- ttyS1 ---\n${probeText}`);
        const report = parseProbe(probeText);
        if (report.uptime === undefined || !report.done) {
          const last = boot.output.trim().split('\n').slice(-3).join(' | ');
          s.error = boot.timedOut ? `timed out after ${TIMEOUT_MS / 1000} s (console: ${last})` : `no report from the reporter unit (console: ${last})`;
          step(`  round ${round}/${rounds} ${p.name}: FAILED ${s.error.slice(0, 300)}`);
          continue;
        }
        s.uptime.push(report.uptime);
        s.wall.push(boot.wallMs / 1000);
        s.states.push(report.state ?? '?');
        for (const unit of report.failed) s.failed.add(unit);
        const rdinit = /\[\s*([\d.]+)\] Run \/init as init process/.exec(boot.output);
        if (rdinit) s.rdinit.push(Number(rdinit[1]));
        const userspace = parseAnalyzeTime(report.analyzeTime).parts.userspace;
        if (userspace !== undefined) s.userspace.push(userspace);
        for (const [stage, seconds] of Object.entries(reportStages(report.rambootReport) ?? {})) s.stages.set(stage, [...(s.stages.get(stage) ?? []), seconds]);
        s.sshd.push({ listening: report.sshdListening ?? 0, hostKeys: Object.keys(report.hostKeys).sort() });
        s.last = report;
        step(`  round ${round}/${rounds} ${p.name}: ${report.state} at ${report.uptime.toFixed(2)} s guest uptime (${(boot.wallMs / 1000).toFixed(1)} s host wall with analysis and poweroff)`);
      }
    }
  } finally {
    await set.cleanup();
  }
  const results: MultiUserResult[] = [];
  for (const p of plans) {
    const s = samples.get(p.name)!;
    const result: MultiUserResult = {
      name: p.name,
      cmdline: p.cmdline('http://10.0.2.2:PORT/rootfs.squashfs'),
      initrd: p.initrd,
      initrdSize: initrdSizes.get(p.name) ?? 0,
      guestUptimeS: stats(s.uptime),
      hostWallS: stats(s.wall),
      states: s.states,
      failed: [...s.failed],
      rdinitS: stats(s.rdinit),
      userspaceS: stats(s.userspace),
    };
    if (s.last) result.analyze = { time: parseAnalyzeTime(s.last.analyzeTime), blame: parseBlame(s.last.blame).slice(0, 12), chain: parseCriticalChain(s.last.chain) };
    if (s.sshd.length > 0) result.sshd = s.sshd;
    if (s.stages.size > 0) result.stages = Object.fromEntries([...s.stages].map(([k, v]) => [k, stats(v).median]));
    if (s.error) result.error = s.error;
    results.push(result);
  }
  return { root: { suite: stock.stamp.suite, kver: stock.stamp.kver, key: stock.stamp.key }, squashfsSize, results };
}
