// Results -> bench/results/latest.json, latest.md and README-section.md (the lead pastes the
// latter into README.md). Targets are ratios measured on one machine in one run.
import type { BootResult } from './boot-bench.js';
import type { ExtractBench, ExtractResult, ImageBench } from './extract-bench.js';
import type { InitrdBuildResult } from './initrd-bench.js';
import type { MultiUserBench } from './multiuser-bench.js';
import { multiUserCell, renderMultiUser } from './multiuser-report.js';
import type { Stats } from './measure.js';
import { DEFAULT_LEVEL } from '../src/compress/codecs.js';
import { initrdFloorS, initrdTimeParts, performanceTargets, shortBy } from './performance-targets.js';
import type { RootfsBuildResult } from './rootfs-bench.js';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  memGiB: number;
  hostKernel: string;
  os: string;
  node: string;
  tools: Record<string, string>;
  ramboot: { command: string; commit: string };
}

export interface BenchResults {
  machine: MachineInfo;
  kernel: { package: string; kver: string; deb: string; mirror: string };
  versions: { dracut: Record<string, string>; initramfsTools: Record<string, string>; base: Record<string, string> };
  /** When each section was measured (a section can come from an earlier, cached run). */
  measured: Partial<Record<'initrd' | 'rootfs' | 'boot' | 'extract' | 'multiuser', string>>;
  initrd?: InitrdBuildResult[];
  rootfs?: RootfsBuildResult[];
  boot?: { squashfsSize: number; squashfsSha256: string; results: BootResult[] };
  extract?: ExtractBench;
  /** Boot to multi-user.target of the Debian 12 root (ramboot, live-boot, dracut), when measured. */
  multiUser?: MultiUserBench;
  targets?: Target[];
}

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
  note?: string;
}

const s = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const mb = (bytes: number | undefined) => (bytes === undefined ? '—' : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`);
const range = (st: Stats | undefined, digits = 2) => (!st || st.n === 0 ? '—' : `${s(st.median, digits)} (${s(st.min, digits)}–${s(st.max, digits)})`);
const mark = (t: Target) => (t.met === undefined ? '?' : t.met ? '✓' : '✗');

function find<T extends { name: string }>(list: readonly T[] | undefined, name: string): T | undefined {
  return list?.find((x) => x.name === name);
}

export function computeTargets(r: BenchResults): Target[] {
  const targets: Target[] = [];
  const ratioTarget = (what: string, goal: number, peer: Stats | undefined, ours: Stats | undefined, peerName: string) => {
    const ratio = peer && ours && peer.n > 0 && ours.n > 0 ? peer.median / ours.median : NaN;
    const t: Target = { what, goal: `≥ ${goal}×`, measured: Number.isFinite(ratio) ? `${s(ratio, 1)}×` : 'not measured', met: Number.isFinite(ratio) ? ratio >= goal : undefined };
    if (t.met === false && ours && peer) t.note = `${shortBy(goal, ratio)} short: ramboot ${s(ours.median)} s vs ${peerName} ${s(peer.median)} s; ${goal}× would need ≤ ${s(peer.median / goal, 3)} s`;
    targets.push(t);
  };
  // Issue 16's targets (initrd build time and size, boot, time to multi-user): performance-targets.ts.
  targets.push(...performanceTargets(r));

  const ramRoot = find(r.rootfs, 'ramboot');
  const mz = find(r.rootfs, 'mksquashfs-zstd');
  ratioTarget('rootfs build vs mksquashfs -comp zstd defaults', 5, mz?.wallS, ramRoot?.wallS, 'mksquashfs');
  // Size: against mksquashfs' zstd defaults packing the SAME files (ramboot's excludes), so the
  // ratio measures the compression settings, not what was left out; the whole-tree one is noted.
  const mze = find(r.rootfs, 'mksquashfs-zstd-excludes');
  const sizeRef = mze?.size ? mze : mz;
  if (ramRoot?.size && sizeRef?.size) {
    const ratio = ramRoot.size / sizeRef.size;
    const t: Target = {
      what: `rootfs image size vs mksquashfs -comp zstd defaults${sizeRef === mze ? ', same files' : ''}`,
      goal: '≤ 1.15×',
      measured: `${s(ratio)}× (${mb(ramRoot.size)} vs ${mb(sizeRef.size)})`,
      met: ratio <= 1.15,
    };
    if (sizeRef === mze && mz?.size) t.note = `whole tree without excludes: ${mb(mz.size)}`;
    targets.push(t);
  } else {
    targets.push({ what: 'rootfs image size vs mksquashfs defaults', goal: '≤ 1.15×', measured: 'not measured', met: undefined });
  }
  targets.push(...extractTargets(r));
  return targets;
}

function initrdTable(r: BenchResults): string[] {
  if (!r.initrd) return ['(not measured)'];
  const lines = ['| builder | wall s, median (min–max) | peak RSS MiB | size | segments | entries | files | modules |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const x of r.initrd) {
    const c = x.contents;
    const segs = c ? c.segments.map((g) => g.format).join(' + ') : '—';
    lines.push(`| ${x.name}${x.error ? ' ⚠' : ''} | ${range(x.wallS)} | ${range(x.maxRssMiB, 0)} | ${mb(c?.size)} | ${segs} | ${c?.entries ?? '—'} | ${c?.files ?? '—'} | ${c?.modules ?? '—'} |`);
  }
  return lines;
}

function rootfsTable(r: BenchResults): string[] {
  if (!r.rootfs) return ['(not measured)'];
  const lines = ['| builder | wall s, median (min–max) | peak RSS MiB | size |', '| --- | --- | --- | --- |'];
  for (const x of r.rootfs) lines.push(`| ${x.name}${x.error ? ' ⚠' : ''} | ${range(x.wallS)} | ${range(x.maxRssMiB, 0)} | ${mb(x.size)} |`);
  return lines;
}

function bootTable(r: BenchResults): string[] {
  if (!r.boot) return ['(not measured)'];
  const lines = ['| initrd | initrd size | kernel runs /init at, s | guest uptime at the real init, s | host wall to init, s | result |', '| --- | --- | --- | --- | --- | --- |'];
  for (const x of r.boot.results) {
    lines.push(`| ${x.name} | ${mb(x.initrdSize)} | ${range(x.rdinitS)} | ${range(x.guestUptimeS)} | ${range(x.hostWallS)} | ${x.error ? `failed: ${x.error.replaceAll('|', '/').slice(0, 160)}` : `${x.guestUptimeS.n} boots`} |`);
  }
  return lines;
}

/** Extraction images; a state file from before the per-image layout has none. */
const extractImages = (r: BenchResults): ImageBench[] => r.extract?.images ?? [];

function extractTable(image: ImageBench): string[] {
  const lines = ['| what | tool | wall s, median (min–max) | CPU s (user + system) | peak RSS MiB | note |', '| --- | --- | --- | --- | --- | --- |'];
  for (const [what, list] of [['extract', image.extract], ['list', image.list]] as const) {
    for (const x of list) lines.push(`| ${what} | ${x.name} | ${range(x.wallS)} | ${range(x.cpuS)} | ${range(x.maxRssMiB, 0)} | ${x.error ? x.error.split('\n')[0]!.slice(0, 120) : ''} |`);
  }
  return lines;
}

/** ramboot's extract and ls against the peer's own tool: time (≤ 1×) and peak memory (≤ 2×). */
function extractTargets(r: BenchResults): Target[] {
  const targets: Target[] = [];
  for (const image of extractImages(r)) {
    for (const [what, list] of [['extract', image.extract], ['ls', image.list]] as const) {
      const ours = list[0];
      for (const peer of list.slice(1).filter((x) => !x.name.startsWith('ramboot'))) {
        if (!ours?.wallS?.n || !peer.wallS?.n) {
          targets.push({ what: `${what}, ${image.name} initrd: ramboot vs ${peer.name}`, goal: '≤ 1×', measured: 'not measured', met: undefined });
          continue;
        }
        const ratio = ours.wallS.median / peer.wallS.median;
        const cpu = ours.cpuS?.n && peer.cpuS?.n ? `; CPU ${s(ours.cpuS.median)} s vs ${s(peer.cpuS.median)} s` : '';
        const t: Target = { what: `${what}, ${image.name} initrd: ramboot vs ${peer.name}`, goal: '≤ 1× the time', measured: `${s(ratio)}× (${s(ours.wallS.median)} s vs ${s(peer.wallS.median)} s${cpu})`, met: ratio <= 1 };
        if (!t.met) t.note = `${s(ours.wallS.median - peer.wallS.median)} s slower`;
        targets.push(t);
      }
      const tool = list[1];
      if (ours?.maxRssMiB?.n && tool?.maxRssMiB?.n) {
        const ratio = ours.maxRssMiB.median / tool.maxRssMiB.median;
        const t: Target = { what: `${what}, ${image.name} initrd: peak memory vs ${tool.name}`, goal: '≤ 2×', measured: `${s(ratio, 1)}× (${s(ours.maxRssMiB.median, 0)} MiB vs ${s(tool.maxRssMiB.median, 0)} MiB)`, met: ratio <= 2 };
        // The single binary doing nothing (--version) is the floor a Node program cannot go under.
        const floor = image.list.find((x) => x.name === 'ramboot start-up')?.maxRssMiB;
        if (!t.met) t.note = `needs ≤ ${s(tool.maxRssMiB.median * 2, 0)} MiB${floor?.n ? `; the floor, \`ramboot --version\` alone, is ${s(floor.median, 0)} MiB` : ''}`;
        targets.push(t);
      }
    }
    if (image.tree) {
      const tr = image.tree;
      const t: Target = { what: `extract, ${image.name} initrd: same tree as ${tr.peer}`, goal: 'same', measured: tr.same ? `same, ${tr.entries} entries${tr.devicesSkipped ? ` (${tr.devicesSkipped} device nodes skipped)` : ''}` : `${tr.differences.length} differences`, met: tr.same };
      if (!tr.same) t.note = tr.differences.slice(0, 2).join('; ');
      targets.push(t);
    }
  }
  return targets;
}

function targetTable(targets: readonly Target[]): string[] {
  return ['| target | goal | measured | met |', '| --- | --- | --- | --- |', ...targets.map((t) => `| ${t.what} | ${t.goal} | ${t.measured}${t.note ? ` — ${t.note}` : ''} | ${mark(t)} |`)];
}

function versionsLine(v: Record<string, string>, names: readonly string[]): string {
  return names.filter((n) => v[n]).map((n) => `${n} ${v[n]}`).join(', ');
}

const DRACUT_SHOWN = ['dracut', 'dracut-core', 'dracut-live', 'dracut-network', 'curl', 'isc-dhcp-client', 'udev', 'kmod', 'zstd'];
const ITOOLS_SHOWN = ['initramfs-tools', 'initramfs-tools-core', 'live-boot', 'live-boot-initramfs-tools', 'busybox', 'klibc-utils', 'udev', 'kmod', 'zstd'];

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('# ramboot benchmarks', '');
  out.push(`Generated by \`npm run bench\` (bench/run.ts). Date: ${m.date}.`, '');
  out.push('## Machine', '');
  out.push(`- ${m.nproc} CPUs, ${m.cpuModel}, ${m.memGiB} GiB RAM; ${m.os}, host kernel ${m.hostKernel}; Node ${m.node}`);
  out.push(`- tools: ${Object.entries(m.tools).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`- ramboot: \`${m.ramboot.command}\` at ${m.ramboot.commit}`);
  out.push(`- kernel under test: ${r.kernel.package} (${r.kernel.deb}), from ${r.kernel.mirror}`);
  out.push(`- dracut chroot: ${versionsLine(r.versions.dracut, DRACUT_SHOWN)}`);
  out.push(`- initramfs-tools chroot: ${versionsLine(r.versions.initramfsTools, ITOOLS_SHOWN)}`);
  out.push(`- sections measured: ${Object.entries(r.measured).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  out.push('## Targets', '', ...targetTable(r.targets ?? []), '', ...renderWhereTimeGoes(r), '');
  out.push('## Initrd build', '');
  out.push('Same kernel and module tree (debootstrap minbase bookworm + the cloud kernel, depmod run), alternating runs A B C D A B C D ...; peers run in a chroot (a copy of the same root plus their packages, `--no-install-recommends`). Peak RSS is GNU time `%M`: the largest single process of the tree.', '');
  out.push(...initrdTable(r), '');
  out.push('Commands:', '');
  for (const x of r.initrd ?? []) out.push(`- ${x.name}: \`${x.command}\``);
  const ram = find(r.initrd, 'ramboot');
  if (ram?.summary) out.push(`- ramboot's own summary line: \`${ram.summary}\``);
  const parts = ram && initrdTimeParts(ram);
  if (ram && parts) {
    const floor = initrdFloorS(ram);
    out.push(
      `- where ramboot's time goes (${parts.sameLoad ? 'run in each round right after the full build, differences taken within the round' : 'medians measured after the rounds'}): start-up of the single binary (\`--version\`) ${s(parts.startupS)} s; the whole build with \`--compress none\` ${s(ram.breakdown!.uncompressedS)} s, so modules + cpio ${s(parts.modulesCpioS)} s and zstd (level ${ram.breakdown!.level ?? DEFAULT_LEVEL.zstd}) ${s(parts.compressS)} s of the ${s(ram.wallS.median)} s` +
        (floor !== undefined ? `; the floor (start-up + \`cat\` of the ${mb(ram.breakdown!.bytes)} cpio ${s(ram.breakdown!.readS!)} s + the zstd CLI alone on it ${s(ram.breakdown!.zstdCliS!)} s) is ${s(floor)} s` : ''),
    );
  }
  for (const x of r.initrd ?? []) if (x.error) out.push(`- ${x.name} failed: ${x.error.split('\n').slice(0, 3).join(' / ')}`);
  out.push('');
  out.push('## Rootfs build', '');
  out.push('The same minbase tree. ramboot rootfs is mksquashfs with zstd level 6, 1 MiB blocks and ramboot\'s excludes (/boot, docs, man pages, logs, apt lists); plain mksquashfs packs the whole tree with its own defaults (zstd: level 15, 128 KiB blocks); mksquashfs-zstd-excludes is the same with ramboot\'s exclude list, so its size compares compression settings alone.', '');
  out.push(...rootfsTable(r), '');
  for (const x of r.rootfs ?? []) out.push(`- ${x.name}: \`${x.command}\``);
  out.push('');
  out.push('## Boot to the real init (QEMU TCG, -m 2048, -smp 2, user networking)', '');
  if (r.boot) {
    out.push(`One squashfs (${mb(r.boot.squashfsSize)}, sha256 ${r.boot.squashfsSha256.slice(0, 16)}…, built once by ramboot rootfs from the minbase root plus \`/sbin/ramboot-bench-init\`) served over HTTP on 127.0.0.1 to every initrd. The marker init prints \`/proc/uptime\` as PID 1 and powers off. "floor" is the same kernel with a 3-file busybox initrd that prints its uptime at once; "floor-fetch" is that initrd plus virtio_net, udhcpc and a busybox wget of the same image from the same server into tmpfs (bench/floor-fetch.ts): the least any initrd that fetches this image can take, so floor-fetch − floor is what moving it over QEMU's user network costs. Host wall: QEMU start to the marker line.`, '');
  }
  out.push(...bootTable(r), '');
  for (const x of r.boot?.results ?? []) out.push(`- ${x.name}: \`${x.cmdline}\``);
  const rb = find(r.boot?.results, 'ramboot');
  if (rb?.stages) out.push('', `ramboot stage medians (its own \`ramboot: stage X done in Ns\` lines): ${Object.entries(rb.stages).map(([k, v]) => `${k} ${s(v)} s`).join(', ')}`);
  out.push('');
  out.push('## Boot to multi-user.target of a stock Debian 12 root (QEMU TCG, -m 2048, -smp 2)', '', ...renderMultiUser(r.multiUser), '');
  out.push('## Reading the peers\' initrds: extract and ls', '');
  out.push('Each peer\'s own image read by its own tool (in its chroot) and by ramboot, alternating runs A B C A B C ...; each extract starts from an empty directory on the same filesystem. "cpio by hand" is the decompressor piped into GNU cpio, segment by segment.', '');
  if (!r.extract) out.push('(not measured)', '');
  if (r.extract?.load) out.push(`1-minute load average while measuring: ${r.extract.load.map((l) => s(l, 1)).join(' → ')} on ${r.machine.nproc} CPUs.`, '');
  for (const image of extractImages(r)) {
    out.push(`### ${image.name} initrd (${mb(image.inputSize)}, ${image.segments}, ${image.entries} entries)`, '', ...extractTable(image), '');
    for (const x of [...image.extract, ...image.list]) out.push(`- ${x.name}: \`${x.command}\``);
    if (image.tree) out.push(`- ramboot's tree vs ${image.tree.peer}'s (${image.tree.compared}): ${image.tree.same ? 'the same' : `${image.tree.differences.length} differences: ${image.tree.differences.slice(0, 5).join('; ')}`}, ${image.tree.entries} entries${image.tree.devicesSkipped ? `; ${image.tree.devicesSkipped} device nodes ${image.tree.peer} made are skipped by ramboot without --devices` : ''}`);
    out.push('');
  }
  return out.join('\n');
}

/** Plain-language notes on what dominates ramboot's numbers, from the measured data. */
export function renderWhereTimeGoes(r: BenchResults): string[] {
  const notes: string[] = [];
  const ram = find(r.initrd, 'ramboot');
  const parts = ram && ram.wallS.n > 0 ? initrdTimeParts(ram) : undefined;
  if (ram && parts) {
    notes.push(`- **initrd build** (${s(ram.wallS.median)} s): starting the single binary ${s(parts.startupS)} s, resolving modules and writing the cpio ${s(parts.modulesCpioS)} s, zstd level ${ram.breakdown!.level ?? DEFAULT_LEVEL.zstd} ${s(parts.compressS)} s.`);
  }
  const boots = r.boot?.results ?? [];
  const rb = find(boots, 'ramboot');
  const floor = find(boots, 'floor');
  if (rb?.stages && rb.guestUptimeS.n > 0) {
    const stageSum = Object.values(rb.stages).reduce((a, b) => a + b, 0);
    const sorted = Object.entries(rb.stages).sort((a, b) => b[1] - a[1]);
    const afterSwitch = rb.guestUptimeS.median - rb.rdinitS.median - stageSum;
    notes.push(
      `- **boot to init** (${s(rb.guestUptimeS.median)} s guest uptime): the kernel starts /init at ${s(rb.rdinitS.median)} s` +
        (floor ? ` (floor: ${s(floor.rdinitS.median)} s)` : '') +
        `; ram's stages take ${s(stageSum)} s (${sorted.map(([k, v]) => `${k} ${s(v)}`).join(', ')}); the remaining ${s(afterSwitch)} s is ram's own start, switch_root and the exec of the real init. ` +
        (rb.stages.verify !== undefined
          ? `fetch is the ${mb(r.boot?.squashfsSize)} image over QEMU user networking under TCG and verify is busybox sha256sum of it, also under TCG: the two together are most of the gap to the floor, and neither peer verifies a checksum.`
          : `fetch is the ${mb(r.boot?.squashfsSize)} image over QEMU user networking under TCG, its sha256 taken by busybox sha256sum as the bytes arrive (no separate verify pass): most of the gap to the floor, and neither peer verifies a checksum.`),
    );
  }
  const dep = find(boots, 'live-boot-dep');
  if (dep && !dep.error && dep.guestUptimeS.n > 0) {
    notes.push('- **initrd size**: the MODULES=dep image boots here because the build machine is itself a virtio VM, so "the modules this machine needs" include virtio_net; built on other hardware it would lack the guest\'s NIC driver.');
  }
  for (const image of extractImages(r)) {
    const ls = image.list[0];
    const start = image.list.find((x) => x.name === 'ramboot start-up');
    const ex = image.extract[0];
    if (!ls?.wallS?.n || !start?.wallS?.n || !ex?.wallS?.n) continue;
    const cpu = (x: ExtractResult | undefined) => (x?.cpuS?.n ? `, CPU ${s(x.cpuS.median)} s` : '');
    notes.push(`- **extract / ls, ${image.name} initrd**: starting the single binary (\`--version\`) takes ${s(start.wallS.median)} s${cpu(start)}, of ramboot's ${s(ls.wallS.median)} s ls${cpu(ls)} and ${s(ex.wallS.median)} s extract${cpu(ex)}; the rest is the decompressor and the reading (ls) plus writing the tree (extract).`);
  }
  if (r.extract?.load) {
    notes.push(`- 1-minute load average while extracting: ${r.extract.load.map((l) => s(l, 1)).join(' → ')} on ${r.machine.nproc} CPUs; wall times move with the machine's load, so the CPU seconds (user + system of the whole process tree) are given beside them.`);
  }
  if (r.measured.boot && /load (\d+\.\d) → (\d+\.\d)/.test(r.measured.boot)) {
    notes.push(`- 1-minute load average during the boots: ${/load ([\d.]+ → [\d.]+)/.exec(r.measured.boot)?.[1]} on ${r.machine.nproc} CPUs; the min–max ranges show how much the machine's other work moves single runs, which is why every comparison uses medians of alternating runs.`);
  }
  return notes.length > 0 ? ['Where the time goes:', '', ...notes] : [];
}

export function renderReadmeSection(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('## Benchmarks', '');
  out.push(`Measured side by side on one machine (${m.nproc} × ${m.cpuModel}, ${m.memGiB} GiB, ${m.os}) on ${m.date.slice(0, 10)}, with Debian bookworm's own tools and kernel ${r.kernel.kver}: dracut ${r.versions.dracut['dracut'] ?? '?'}, initramfs-tools ${r.versions.initramfsTools['initramfs-tools'] ?? '?'}, live-boot ${r.versions.initramfsTools['live-boot'] ?? '?'}. Times are medians (min–max). \`npm run bench\` reproduces them (first run: ~5 min of debootstrap/apt setup, cached); the full report with every command and package version is [bench/results/latest.md](bench/results/latest.md).`, '');
  out.push('| | ramboot | dracut | initramfs-tools |', '| --- | --- | --- | --- |');
  const i = (n: string) => find(r.initrd, n);
  const b = (n: string) => find(r.boot?.results, n);
  const bootCell = (x: BootResult | undefined) => (!x ? '—' : x.error ? 'did not boot' : `${range(x.guestUptimeS)} s`);
  out.push(`| initrd build | ${range(i('ramboot')?.wallS)} s | ${range(i('dracut')?.wallS)} s | most ${range(i('mkinitramfs-most')?.wallS)} s, dep ${range(i('mkinitramfs-dep')?.wallS)} s |`);
  out.push(`| initrd size | ${mb(i('ramboot')?.contents?.size)} | ${mb(i('dracut')?.contents?.size)} | most ${mb(i('mkinitramfs-most')?.contents?.size)}, dep ${mb(i('mkinitramfs-dep')?.contents?.size)} |`);
  out.push(`| files / modules in the initrd | ${i('ramboot')?.contents?.files ?? '—'} / ${i('ramboot')?.contents?.modules ?? '—'} | ${i('dracut')?.contents?.files ?? '—'} / ${i('dracut')?.contents?.modules ?? '—'} | most ${i('mkinitramfs-most')?.contents?.files ?? '—'} / ${i('mkinitramfs-most')?.contents?.modules ?? '—'} |`);
  out.push(`| boot to init over HTTP (guest uptime; floor ${bootCell(b('floor'))}) | ${bootCell(b('ramboot'))} | ${bootCell(b('dracut'))} | live-boot ${bootCell(b('live-boot'))} |`);
  const mu = (n: string) => r.multiUser?.results.find((x) => x.name === n);
  if (r.multiUser) out.push(`| boot to multi-user.target, stock Debian 12 root (guest uptime) | ${multiUserCell(mu('ramboot'))} | ${multiUserCell(mu('dracut'))} | live-boot ${multiUserCell(mu('live-boot'))} |`);
  const rr = (n: string) => find(r.rootfs, n);
  out.push('', '| rootfs of the same tree | build s | size |', '| --- | --- | --- |');
  out.push(`| ramboot rootfs (zstd 6, 1M blocks, excludes) | ${range(rr('ramboot')?.wallS)} | ${mb(rr('ramboot')?.size)} |`);
  out.push(`| mksquashfs -comp zstd (defaults: level 15, 128K), whole tree | ${range(rr('mksquashfs-zstd')?.wallS)} | ${mb(rr('mksquashfs-zstd')?.size)} |`);
  out.push(`| mksquashfs -comp zstd (defaults), ramboot's excludes | ${range(rr('mksquashfs-zstd-excludes')?.wallS)} | ${mb(rr('mksquashfs-zstd-excludes')?.size)} |`);
  out.push(`| mksquashfs -comp xz, whole tree | ${range(rr('mksquashfs-xz')?.wallS)} | ${mb(rr('mksquashfs-xz')?.size)} |`);
  if (extractImages(r).length > 0) {
    const cell = (x: ImageBench['extract'][number] | undefined) => (!x?.wallS?.n ? '—' : `${range(x.wallS)} s, ${range(x.maxRssMiB, 0)} MiB`);
    out.push('', '| reading the peer\'s own initrd (wall, peak RSS) | ramboot | the peer\'s tool | cpio by hand |', '| --- | --- | --- | --- |');
    for (const image of extractImages(r)) {
      const what = `${image.name} (${mb(image.inputSize)} ${image.segments}, ${image.entries} entries)`;
      out.push(`| extract ${what} | ${cell(image.extract[0])} | ${image.extract[1]?.name}: ${cell(image.extract[1])} | ${cell(image.extract[2])} |`);
      out.push(`| ls ${what} | ${cell(image.list[0])} | ${image.list[1]?.name}: ${cell(image.list[1])} | ${cell(image.list[2])} |`);
    }
  }
  out.push('', 'Targets (ratios from the same run):', '', ...targetTable(r.targets ?? []), '');
  out.push(...renderWhereTimeGoes(r), '');
  return out.join('\n');
}
