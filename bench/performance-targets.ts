// The verdicts of issue 16 ("Performance, round two"), one per target, from one run's sections:
// met, or not met with the measured floor that stands in the way. Sections a run did not measure
// give "not measured" (met undefined), never a guess.
import { DEFAULT_LEVEL } from '../src/compress/codecs.js';
import type { Stats } from './measure.js';
import type { InitrdBuildResult } from './initrd-bench.js';
import type { MultiUserResult } from './multiuser-bench.js';
import type { BenchResults, Target } from './report.js';

const s = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const measured = (st: Stats | undefined): st is Stats => st !== undefined && st.n > 0;
const range = (st: Stats) => `${s(st.median)} s (${s(st.min)}–${s(st.max)})`;

/** The build-time limit of a netboot initrd, wall seconds (median). */
export const INITRD_BUILD_LIMIT_S = 0.3;

/** How far a ratio falls short of its goal, "1.03×": two decimals when it is close (a
 * one-decimal "1.0× short" says nothing), one otherwise. */
export function shortBy(goal: number, ratio: number): string {
  return `${s(goal / ratio, goal / ratio < 1.1 ? 2 : 1)}×`;
}

function ratioTarget(what: string, goal: number, ours: Stats | undefined, peer: Stats | undefined, peerName: string): Target {
  if (!measured(ours) || !measured(peer)) return { what, goal: `≥ ${goal}×`, measured: 'not measured', met: undefined };
  const ratio = peer.median / ours.median;
  const t: Target = { what, goal: `≥ ${goal}×`, measured: `${s(ratio, 1)}× (ramboot ${range(ours)} vs ${peerName} ${range(peer)})`, met: ratio >= goal };
  if (!t.met) t.note = `${shortBy(goal, ratio)} short; ${goal}× would need ramboot ≤ ${s(peer.median / goal, 3)} s`;
  return t;
}

/** Where ramboot's build time goes, from one run's rounds (initrd-bench.ts). A state file from
 * before the interleaved breakdown has only startupS and uncompressedS, taken after the rounds
 * at another load: then the rest is the difference of medians, marked as such. */
export function initrdTimeParts(ram: InitrdBuildResult): { startupS: number; modulesCpioS: number; compressS: number; sameLoad: boolean } | undefined {
  const b = ram.breakdown;
  if (!b) return undefined;
  const sameLoad = b.modulesCpioS !== undefined && b.compressS !== undefined;
  return {
    startupS: b.startupS,
    modulesCpioS: b.modulesCpioS ?? b.uncompressedS - b.startupS,
    compressS: b.compressS ?? ram.wallS.median - b.uncompressedS,
    sameLoad,
  };
}

/** The least any build of this initrd by a Node SEA binary can take: start the binary, read the
 * N bytes it packs, compress them with the zstd CLI alone at the same level. */
export function initrdFloorS(ram: InitrdBuildResult): number | undefined {
  const b = ram.breakdown;
  if (b?.readS === undefined || b.zstdCliS === undefined) return undefined;
  return b.startupS + b.readS + b.zstdCliS;
}

function initrdBuildTarget(ram: InitrdBuildResult | undefined): Target {
  const what = 'initrd build, netboot set of the benchmark root';
  const goal = `≤ ${INITRD_BUILD_LIMIT_S} s`;
  if (!measured(ram?.wallS)) return { what, goal, measured: 'not measured', met: undefined };
  const t: Target = { what, goal, measured: range(ram.wallS), met: ram.wallS.median <= INITRD_BUILD_LIMIT_S };
  const parts = initrdTimeParts(ram);
  if (!parts) return t;
  const b = ram.breakdown!;
  const level = b.level ?? DEFAULT_LEVEL.zstd;
  const where = `start-up of the binary ${s(parts.startupS)} s, modules + cpio ${s(parts.modulesCpioS)} s, zstd -${level} ${s(parts.compressS)} s${parts.sameLoad ? ' (per-round differences, same load)' : ' (medians taken after the rounds, at another load)'}`;
  const floor = initrdFloorS(ram);
  const floorText =
    floor === undefined
      ? `the floor is the start-up alone, ${s(parts.startupS)} s`
      : `the floor is ${s(floor)} s (start-up ${s(b.startupS)} + reading the ${mb(b.bytes ?? NaN)} packed ${s(b.readS!)} + zstd -${level} CLI alone ${s(b.zstdCliS!)})` +
        (floor > INITRD_BUILD_LIMIT_S ? `, above ${INITRD_BUILD_LIMIT_S} s on this machine at this load: the limit cannot be met here` : `; ramboot is ${s(ram.wallS.median - floor)} s above it`);
  t.note = t.met ? where : `${s(ram.wallS.median - INITRD_BUILD_LIMIT_S)} s over: ${where}; ${floorText}`;
  return t;
}

function initrdTargets(r: BenchResults): Target[] {
  const ram = r.initrd?.find((x) => x.name === 'ramboot');
  const dep = r.initrd?.find((x) => x.name === 'mkinitramfs-dep');
  const targets: Target[] = [initrdBuildTarget(ram)];
  targets.push(ratioTarget('initrd build vs dracut', 50, ram?.wallS, r.initrd?.find((x) => x.name === 'dracut')?.wallS, 'dracut'));
  const vsDep = ratioTarget('initrd build vs mkinitramfs MODULES=dep', 12, ram?.wallS, dep?.wallS, 'mkinitramfs dep');
  const floor = ram && initrdFloorS(ram);
  if (vsDep.met === false && floor !== undefined && measured(dep?.wallS)) {
    const need = dep.wallS.median / 12;
    vsDep.note += floor > need ? `, below the floor of ${s(floor)} s: at most ${s(dep.wallS.median / floor, 1)}× here` : ` (the floor is ${s(floor)} s)`;
  }
  targets.push(vsDep);

  const ours = ram?.contents?.size;
  const theirs = dep?.contents?.size;
  if (ours === undefined || theirs === undefined) targets.push({ what: 'initrd size vs mkinitramfs MODULES=dep', goal: '≤ 1/4', measured: 'not measured', met: undefined });
  else {
    const ratio = theirs / ours;
    const t: Target = { what: 'initrd size vs mkinitramfs MODULES=dep', goal: '≤ 1/4', measured: `1/${s(ratio, 1)} (${mb(ours)} vs ${mb(theirs)})`, met: ratio >= 4 };
    if (!t.met) t.note = `needs ≤ ${mb(theirs / 4)}; \`ramboot initrd --explain\` lists what each file costs`;
    targets.push(t);
  }
  return targets;
}

function bootTargets(r: BenchResults): Target[] {
  const boots = (r.boot?.results ?? []).filter((b) => !b.error && b.guestUptimeS.n > 0);
  const ram = boots.find((b) => b.name === 'ramboot');
  const floor = boots.find((b) => b.name === 'floor');
  const targets: Target[] = [];

  const verifyWhat = 'no separate verify pass at boot (hash while downloading)';
  if (!ram?.stages) targets.push({ what: verifyWhat, goal: 'no verify stage', measured: 'not measured', met: undefined });
  else {
    const verify = ram.stages.verify;
    targets.push({ what: verifyWhat, goal: 'no verify stage', measured: verify === undefined ? 'no verify stage' : `verify stage takes ${s(verify)} s`, met: verify === undefined });
  }

  // floor-fetch: the floor initrd plus what no netboot initrd can skip (NIC driver, DHCP, wget
  // of the same image from the same server into tmpfs): the price of moving the image here.
  const fetchFloor = boots.find((b) => b.name === 'floor-fetch');
  const moveS = fetchFloor && floor ? fetchFloor.guestUptimeS.median - floor.guestUptimeS.median : undefined;
  const floorWhat = 'boot to init vs the floor (busybox initrd)';
  if (!ram || !floor) targets.push({ what: floorWhat, goal: '≤ +1.5 s', measured: 'not measured', met: undefined });
  else {
    const gap = ram.guestUptimeS.median - floor.guestUptimeS.median;
    const t: Target = { what: floorWhat, goal: '≤ +1.5 s', measured: `+${s(gap)} s (ramboot ${range(ram.guestUptimeS)}, floor ${range(floor.guestUptimeS)})`, met: gap <= 1.5 };
    if (!t.met) {
      const fetchStage = ram.stages?.fetch !== undefined ? `; ramboot's fetch stage takes ${s(ram.stages.fetch)} s` : '';
      if (moveS === undefined) t.note = `${s(gap - 1.5)} s over${fetchStage}; no floor-fetch boot measured the network's share`;
      else {
        const verdict =
          moveS > 1.5
            ? `the move alone exceeds 1.5 s, so +1.5 s is below what this network allows: the least is +${s(moveS)} s`
            : `+1.5 s would need ramboot within ${s(1.5 - moveS)} s of floor-fetch (today ${s(ram.guestUptimeS.median - fetchFloor!.guestUptimeS.median)} s)`;
        t.note = `${s(gap - 1.5)} s over; moving the ${r.boot?.squashfsSize ? mb(r.boot.squashfsSize) : ''} image over QEMU's user network takes ${s(moveS)} s (floor-fetch ${s(fetchFloor!.guestUptimeS.median)} − floor ${s(floor.guestUptimeS.median)})${fetchStage}; ${verdict}`;
      }
    }
    targets.push(t);
  }

  // The fastest live-boot configuration the run booted (MODULES=most or =dep).
  const liveBoots = boots.filter((b) => b.name.startsWith('live-boot'));
  const fastest = liveBoots.reduce<(typeof liveBoots)[number] | undefined>((a, b) => (!a || b.guestUptimeS.median < a.guestUptimeS.median ? b : a), undefined);
  const t = ratioTarget(`boot to init vs the fastest live-boot (${fastest?.name ?? 'none booted'}), guest uptime`, 5, ram?.guestUptimeS, fastest?.guestUptimeS, fastest?.name ?? 'live-boot');
  if (t.met === false && fastest && fetchFloor) {
    const best = fastest.guestUptimeS.median / fetchFloor.guestUptimeS.median;
    t.note +=
      best < 5
        ? `; 5× is beyond what floor-fetch allows: a boot that only fetches the image takes ${s(fetchFloor.guestUptimeS.median)} s, so at most ${s(best, 1)}× (${fastest.name} ${s(fastest.guestUptimeS.median)} / floor-fetch ${s(fetchFloor.guestUptimeS.median)})`
        : `; floor-fetch (${s(fetchFloor.guestUptimeS.median)} s) allows up to ${s(best, 1)}×`;
  }
  targets.push(t);
  return targets;
}

/** systemd's own part of a boot of the Debian 12 root: `systemd-analyze time`'s userspace, the
 * median over the boots when the run kept one per boot, else the last boot's. */
export function userspaceS(x: MultiUserResult): number | undefined {
  if (x.userspaceS && x.userspaceS.n > 0) return x.userspaceS.median;
  return x.analyze?.time.parts.userspace;
}

/** True when no boot of `x` had sshd listening once it settled (a run without the record: false). */
function withoutSshd(x: MultiUserResult): boolean {
  return (x.sshd?.length ?? 0) > 0 && x.sshd!.every((b) => b.listening === 0);
}

/** Boot to multi-user.target of the Debian 12 root, from the multiuser section when the run has
 * one (bench/multiuser-bench.ts: ramboot, live-boot and dracut, guest uptime at multi-user). The
 * floor is systemd's part: all three boot the same root, so the least userspace any of them saw
 * is what systemd needs whatever initrd came before it. */
function multiUserTargets(r: BenchResults): Target[] {
  // A configuration with some failed boots still counts with the boots it finished.
  const results = (r.multiUser?.results ?? []).filter((b) => b.guestUptimeS.n > 0);
  const ram = results.find((b) => b.name === 'ramboot');
  const spans = results.map((x) => ({ name: x.name, s: userspaceS(x) })).filter((x): x is { name: string; s: number } => x.s !== undefined);
  const least = spans.reduce<{ name: string; s: number } | undefined>((a, b) => (!a || b.s < a.s ? b : a), undefined);
  return ['live-boot', 'dracut'].map((peer) => {
    const other = results.find((b) => b.name === peer);
    const t = ratioTarget(`boot to multi-user.target vs ${peer} (Debian 12 root, guest uptime)`, 2, ram?.guestUptimeS, other?.guestUptimeS, peer);
    if (t.met === false && least && ram && other) {
      const need = other.guestUptimeS.median / 2;
      const ours = userspaceS(ram);
      const parts = `systemd's own part (systemd-analyze userspace) ${spans.map((x) => `${x.name} ${s(x.s)} s`).join(', ')}`;
      t.note +=
        least.s > need
          ? `; impossible with this root: ${parts}, and even the least, ${s(least.s)} s, exceeds ${s(need)} s`
          : `; ${parts}: with the least (${s(least.s)} s) the kernel + initrd part must be ≤ ${s(need - least.s)} s${ours !== undefined ? ` (ramboot's today: ${s(ram.guestUptimeS.median - ours)} s before systemd)` : ''}`;
      if (withoutSshd(other) && !withoutSshd(ram)) {
        t.note += `; ${peer}'s systemd part starts no sshd (not listening in any of its boots: the image has no host keys and ${peer} makes none), ramboot's makes host keys and starts sshd`;
      }
    }
    return t;
  });
}

export function performanceTargets(r: BenchResults): Target[] {
  return [...initrdTargets(r), ...bootTargets(r), ...multiUserTargets(r)];
}
