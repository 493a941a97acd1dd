// The verdicts of issue 16 ("Performance, round two"), one per target, from one run's sections:
// met, or not met with the measured floor that stands in the way. Sections a run did not measure
// give "not measured" (met undefined), never a guess.
import { DEFAULT_LEVEL } from '../src/compress/codecs.js';
import type { Stats } from './measure.js';
import type { BenchResults, Target } from './report.js';

const s = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const measured = (st: Stats | undefined): st is Stats => st !== undefined && st.n > 0;
const range = (st: Stats) => `${s(st.median)} s (${s(st.min)}–${s(st.max)})`;

/** The build-time limit of a netboot initrd, wall seconds (median). */
export const INITRD_BUILD_LIMIT_S = 0.3;

function ratioTarget(what: string, goal: number, ours: Stats | undefined, peer: Stats | undefined, peerName: string): Target {
  if (!measured(ours) || !measured(peer)) return { what, goal: `≥ ${goal}×`, measured: 'not measured', met: undefined };
  const ratio = peer.median / ours.median;
  const t: Target = { what, goal: `≥ ${goal}×`, measured: `${s(ratio, 1)}× (ramboot ${range(ours)} vs ${peerName} ${range(peer)})`, met: ratio >= goal };
  if (!t.met) t.note = `${s(goal / ratio, 1)}× short; ${goal}× would need ramboot ≤ ${s(peer.median / goal, 3)} s`;
  return t;
}

function initrdTargets(r: BenchResults): Target[] {
  const ram = r.initrd?.find((x) => x.name === 'ramboot');
  const dep = r.initrd?.find((x) => x.name === 'mkinitramfs-dep');
  const targets: Target[] = [];
  const what = 'initrd build, netboot set of the benchmark root';
  if (!measured(ram?.wallS)) targets.push({ what, goal: `≤ ${INITRD_BUILD_LIMIT_S} s`, measured: 'not measured', met: undefined });
  else {
    const t: Target = { what, goal: `≤ ${INITRD_BUILD_LIMIT_S} s`, measured: range(ram.wallS), met: ram.wallS.median <= INITRD_BUILD_LIMIT_S };
    const b = ram.breakdown;
    if (b) {
      const where = `start-up of the binary ${s(b.startupS)} s, modules + cpio ${s(b.uncompressedS - b.startupS)} s, zstd -${DEFAULT_LEVEL.zstd} ${s(ram.wallS.median - b.uncompressedS)} s`;
      t.note = t.met ? where : `${s(ram.wallS.median - INITRD_BUILD_LIMIT_S)} s over: ${where}; the floor is the start-up alone, ${s(b.startupS)} s`;
    }
    targets.push(t);
  }
  targets.push(ratioTarget('initrd build vs dracut', 50, ram?.wallS, r.initrd?.find((x) => x.name === 'dracut')?.wallS, 'dracut'));
  targets.push(ratioTarget('initrd build vs mkinitramfs MODULES=dep', 12, ram?.wallS, dep?.wallS, 'mkinitramfs dep'));

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

  if (!ram || !floor) targets.push({ what: 'boot to init vs the floor (busybox initrd)', goal: '≤ +1.5 s', measured: 'not measured', met: undefined });
  else {
    const gap = ram.guestUptimeS.median - floor.guestUptimeS.median;
    const t: Target = { what: 'boot to init vs the floor (busybox initrd)', goal: '≤ +1.5 s', measured: `+${s(gap)} s (ramboot ${range(ram.guestUptimeS)}, floor ${range(floor.guestUptimeS)})`, met: gap <= 1.5 };
    if (!t.met) t.note = `${s(gap - 1.5)} s over${ram.stages?.fetch !== undefined ? `; moving the image (fetch) alone takes ${s(ram.stages.fetch)} s` : ''}`;
    targets.push(t);
  }

  // The fastest live-boot configuration the run booted (MODULES=most or =dep).
  const liveBoots = boots.filter((b) => b.name.startsWith('live-boot'));
  const fastest = liveBoots.reduce<(typeof liveBoots)[number] | undefined>((a, b) => (!a || b.guestUptimeS.median < a.guestUptimeS.median ? b : a), undefined);
  const t = ratioTarget(`boot to init vs the fastest live-boot (${fastest?.name ?? 'none booted'}), guest uptime`, 5, ram?.guestUptimeS, fastest?.guestUptimeS, fastest?.name ?? 'live-boot');
  targets.push(t);
  return targets;
}

/** Boot to multi-user.target of the Debian 12 root, from the multiuser section when the run has
 * one (bench/multiuser-bench.ts: ramboot, live-boot and dracut, guest uptime at multi-user). */
function multiUserTargets(r: BenchResults): Target[] {
  // A configuration with some failed boots still counts with the boots it finished.
  const results = (r.multiUser?.results ?? []).filter((b) => b.guestUptimeS.n > 0);
  const ram = results.find((b) => b.name === 'ramboot');
  return ['live-boot', 'dracut'].map((peer) =>
    ratioTarget(`boot to multi-user.target vs ${peer} (Debian 12 root, guest uptime)`, 2, ram?.guestUptimeS, results.find((b) => b.name === peer)?.guestUptimeS, peer),
  );
}

export function performanceTargets(r: BenchResults): Target[] {
  return [...initrdTargets(r), ...bootTargets(r), ...multiUserTargets(r)];
}
