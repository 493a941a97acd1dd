// The bench's issue-16 verdicts: met, not met with the number that stands in the way, or "not
// measured" when a run lacks the section; never a verdict from a missing number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performanceTargets } from '../../bench/performance-targets.ts';
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
  assert.match(build.note!, /0\.20 s over: start-up of the binary 0\.10 s, modules \+ cpio 0\.20 s, zstd -\d+ 0\.20 s; the floor is the start-up alone, 0\.10 s/);
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
