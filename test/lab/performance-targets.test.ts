// The bench's issue-16 verdicts: met, not met with the number that stands in the way, or "not
// measured" when a run lacks the section; never a verdict from a missing number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performanceTargets } from '../../bench/performance-targets.ts';
import { initrdBreakdown } from '../../bench/initrd-bench.ts';
import type { Stats } from '../../bench/measure.ts';
import type { BenchResults } from '../../bench/report.ts';

const st = (...values: number[]): Stats => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: values.length, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)!, values };
};
const base = { machine: {}, kernel: {}, versions: {}, measured: {} } as unknown as BenchResults;
const initrd = (name: string, wall: number, size: number) => ({ name, command: name, wallS: st(wall, wall * 0.9, wall * 1.2), maxRssMiB: st(50), path: '/x', contents: { size, segments: [], entries: 1, files: 1, modules: 1 } });
const verdict = (r: BenchResults, what: RegExp) => performanceTargets(r).find((t) => what.test(t.what));

test('initrd verdicts: the 0.3 s limit, both ratios and the size, with the floor when missed', () => {
  const r = { ...base, initrd: [{ ...initrd('ramboot', 0.25, 2.0e6), breakdown: { startupS: 0.05, uncompressedS: 0.15 } }, initrd('dracut', 20, 29e6), initrd('mkinitramfs-dep', 2.4, 8.97e6)] } as BenchResults;
  assert.equal(verdict(r, /^initrd build, netboot/)?.met, true);
  assert.equal(verdict(r, /vs dracut/)?.met, true);
  assert.equal(verdict(r, /vs mkinitramfs MODULES=dep$/)?.met, false, '2.4 / 0.25 = 9.6× < 12×');
  assert.match(verdict(r, /vs mkinitramfs MODULES=dep$/)!.note!, /12× would need ramboot ≤ 0\.200 s/);
  assert.equal(verdict(r, /initrd size/)?.met, true);
  const slow = { ...base, initrd: [{ ...initrd('ramboot', 0.5, 2.5e6), breakdown: { startupS: 0.1, uncompressedS: 0.3 } }, initrd('mkinitramfs-dep', 2, 8.97e6)] } as BenchResults;
  const build = verdict(slow, /^initrd build, netboot/)!;
  assert.equal(build.met, false);
  assert.match(build.note!, /0\.20 s over: start-up of the binary 0\.10 s, modules \+ cpio 0\.20 s, zstd -\d+ 0\.20 s \(medians taken after the rounds, at another load\); the floor is the start-up alone, 0\.10 s/);
  assert.match(verdict(slow, /initrd size/)!.note!, /needs ≤ 2\.24 MB/);
});

test('boot verdicts: no verify stage, the floor gap, the fastest live-boot; unmeasured sections say so', () => {
  const boot = (name: string, uptime: number, stages?: Record<string, number>) => ({ name, cmdline: '', initrd: '', initrdSize: 1, guestUptimeS: st(uptime), hostWallS: st(uptime), rdinitS: st(1), ...(stages ? { stages } : {}) });
  const r = { ...base, boot: { squashfsSize: 1, squashfsSha256: '', results: [boot('ramboot', 3, { fetch: 1.2 }), boot('floor', 1.8), boot('live-boot', 16), boot('live-boot-dep', 14)] } } as unknown as BenchResults;
  assert.equal(verdict(r, /no separate verify/)?.met, true);
  assert.equal(verdict(r, /vs the floor/)?.met, true);
  const lb = verdict(r, /fastest live-boot/)!;
  assert.match(lb.what, /live-boot-dep/);
  assert.equal(lb.met, false, '14 / 3 = 4.7× < 5×');
  for (const t of performanceTargets(base)) assert.equal(t.met, undefined, `${t.what} has no data and must not be judged`);
  assert.equal(verdict(base, /multi-user.target vs dracut/)?.measured, 'not measured');
});

test('initrd breakdown: differences are taken within each round, then the median', () => {
  // Round 2 ran at a higher load: every figure of it is larger. Differences of medians would
  // mix rounds (0.60 − 0.30 = 0.30); the per-round differences are 0.20, 0.25, 0.20.
  const b = initrdBreakdown({ full: [0.5, 0.9, 0.6], startup: [0.1, 0.3, 0.1], uncompressed: [0.3, 0.65, 0.4], read: [0.01, 0.02, 0.01], zstdCli: [0.1, 0.2, 0.15] }, 6.3e6, 6);
  assert.equal(b.startupS, 0.1);
  assert.equal(b.uncompressedS, 0.4);
  assert.ok(Math.abs(b.compressS! - 0.2) < 1e-9, `compress ${b.compressS}`);
  assert.ok(Math.abs(b.modulesCpioS! - 0.3) < 1e-9, `modules + cpio ${b.modulesCpioS}`);
  assert.equal(b.zstdCliS, 0.15);
  assert.equal(b.bytes, 6.3e6);
});

test('initrd verdicts with the measured floor: start-up + read + zstd CLI, and whether the limit is below it', () => {
  const breakdown = (startupS: number, zstdCliS: number) => ({ startupS, uncompressedS: 0.3, modulesCpioS: 0.2, compressS: 0.15, readS: 0.01, zstdCliS, bytes: 6.3e6, level: 6 });
  const above = { ...base, initrd: [{ ...initrd('ramboot', 0.45, 2.0e6), breakdown: breakdown(0.1, 0.12) }, initrd('mkinitramfs-dep', 4.0, 8.97e6)] } as BenchResults;
  const build = verdict(above, /^initrd build, netboot/)!;
  assert.equal(build.met, false);
  assert.match(build.note!, /modules \+ cpio 0\.20 s, zstd -6 0\.15 s \(per-round differences, same load\)/);
  assert.match(build.note!, /the floor is 0\.23 s \(start-up 0\.10 \+ reading the 6\.30 MB packed 0\.01 \+ zstd -6 CLI alone 0\.12\); ramboot is 0\.22 s above it/);
  const dep = verdict(above, /vs mkinitramfs MODULES=dep$/)!;
  assert.equal(dep.met, false, '4.0 / 0.45 = 8.9×');
  assert.match(dep.note!, /12× would need ramboot ≤ 0\.333 s \(the floor is 0\.23 s\)/);
  // A loaded machine: start-up and zstd alone exceed 0.3 s, so the limit cannot be met here.
  const loaded = { ...base, initrd: [{ ...initrd('ramboot', 0.7, 2.0e6), breakdown: breakdown(0.2, 0.15) }, initrd('mkinitramfs-dep', 4.0, 8.97e6)] } as BenchResults;
  assert.match(verdict(loaded, /^initrd build, netboot/)!.note!, /the floor is 0\.36 s .*above 0\.3 s on this machine at this load: the limit cannot be met here/);
  assert.match(verdict(loaded, /vs mkinitramfs MODULES=dep$/)!.note!, /below the floor of 0\.36 s: at most 11\.1× here/);
});

const bootOf = (name: string, uptime: number, stages?: Record<string, number>) => ({ name, cmdline: '', initrd: '', initrdSize: 1, guestUptimeS: st(uptime), hostWallS: st(uptime), rdinitS: st(1), ...(stages ? { stages } : {}) });

test('boot verdicts with floor-fetch: the network\'s share of the gap, and whether 5× is below what floor-fetch allows', () => {
  // The move alone (6.0 − 2.0 = 4.0 s) exceeds 1.5 s; live-boot 16 s / floor-fetch 6 s = 2.7× at most.
  const r = { ...base, boot: { squashfsSize: 80e6, squashfsSha256: '', results: [bootOf('ramboot', 7, { fetch: 4.6 }), bootOf('floor', 2), bootOf('floor-fetch', 6), bootOf('live-boot', 16)] } } as unknown as BenchResults;
  const gap = verdict(r, /vs the floor/)!;
  assert.equal(gap.met, false);
  assert.match(gap.note!, /moving the 80\.00 MB image over QEMU's user network takes 4\.00 s \(floor-fetch 6\.00 − floor 2\.00\); ramboot's fetch stage takes 4\.60 s; the move alone exceeds 1\.5 s, so \+1\.5 s is below what this network allows: the least is \+4\.00 s/);
  const lb = verdict(r, /fastest live-boot/)!;
  assert.equal(lb.met, false);
  assert.match(lb.note!, /5× is beyond what floor-fetch allows: .*at most 2\.7× \(live-boot 16\.00 \/ floor-fetch 6\.00\)/);
  // A fast network: the move is 0.5 s, so +1.5 s leaves ramboot 1.0 s over floor-fetch (it uses 2.5).
  const fast = { ...base, boot: { squashfsSize: 80e6, squashfsSha256: '', results: [bootOf('ramboot', 5), bootOf('floor', 2), bootOf('floor-fetch', 2.5), bootOf('live-boot', 16)] } } as unknown as BenchResults;
  assert.match(verdict(fast, /vs the floor/)!.note!, /\+1\.5 s would need ramboot within 1\.00 s of floor-fetch \(today 2\.50 s\)/);
  assert.match(verdict(fast, /fastest live-boot/)!.note!, /floor-fetch \(2\.50 s\) allows up to 6\.4×/);
  // Without a floor-fetch boot the verdict says the share is unmeasured, never a guess.
  const none = { ...base, boot: { squashfsSize: 80e6, squashfsSha256: '', results: [bootOf('ramboot', 7), bootOf('floor', 2), bootOf('live-boot', 16)] } } as unknown as BenchResults;
  assert.match(verdict(none, /vs the floor/)!.note!, /no floor-fetch boot measured the network's share/);
});

test('multi-user verdicts: systemd\'s own part is the floor; impossible when it alone exceeds half the peer', () => {
  const mu = (name: string, uptime: number, userspace: number) => ({ name, cmdline: '', initrd: '', initrdSize: 1, guestUptimeS: st(uptime), hostWallS: st(uptime), states: ['running'], failed: [], rdinitS: st(1), userspaceS: st(userspace) });
  const r = { ...base, multiUser: { root: { suite: 'bookworm', kver: 'k', key: '' }, squashfsSize: 1, results: [mu('ramboot', 134, 67), mu('live-boot', 202, 147), mu('dracut', 120, 66)] } } as unknown as BenchResults;
  const lb = verdict(r, /multi-user.target vs live-boot/)!;
  assert.equal(lb.met, false, '202 / 134 = 1.5×');
  assert.match(lb.note!, /systemd's own part \(systemd-analyze userspace\) ramboot 67\.00 s, live-boot 147\.00 s, dracut 66\.00 s: with the least \(66\.00 s\) the kernel \+ initrd part must be ≤ 35\.00 s \(ramboot's today: 67\.00 s before systemd\)/);
  const dr = verdict(r, /multi-user.target vs dracut/)!;
  assert.equal(dr.met, false);
  assert.match(dr.note!, /impossible with this root: .*even the least, 66\.00 s, exceeds 60\.00 s/);
  // An older state file has only the last boot's systemd-analyze time: that is used.
  const old = { ...base, multiUser: { root: { suite: 'bookworm', kver: 'k', key: '' }, squashfsSize: 1, results: [{ ...mu('ramboot', 134, 0), userspaceS: undefined, analyze: { time: { parts: { kernel: 35, userspace: 67 } }, blame: [], chain: [] } }, { ...mu('live-boot', 202, 0), userspaceS: undefined }] } } as unknown as BenchResults;
  assert.match(verdict(old, /multi-user.target vs live-boot/)!.note!, /ramboot 67\.00 s: with the least \(67\.00 s\)/);
  assert.doesNotMatch(lb.note!, /starts no sshd/, 'no sshd record: nothing said about it');
  // The peer's boots had no sshd listening, ramboot's had: the verdict says what systemd's parts did.
  const sshd = (listening: number) => [{ listening, hostKeys: listening ? ['ssh_host_ed25519_key'] : [] }];
  const withSshd = { ...base, multiUser: { ...r.multiUser!, results: [{ ...mu('ramboot', 34, 20), sshd: sshd(2) }, { ...mu('dracut', 66, 18), sshd: sshd(0) }] } } as unknown as BenchResults;
  assert.match(verdict(withSshd, /multi-user.target vs dracut/)!.note!, /; dracut's systemd part starts no sshd \(not listening in any of its boots: the image has no host keys and dracut makes none\), ramboot's makes host keys and starts sshd$/);
});
