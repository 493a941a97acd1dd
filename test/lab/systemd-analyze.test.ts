// systemd-analyze's time, blame and critical-chain lines (as the benchmark's reporter copies
// them) become numbers: spans in every unit systemd prints, the tree depth of the chain, and the
// header lines and junk skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnalyzeTime, parseBlame, parseCriticalChain, parseSpan } from '../../src/lab/systemd-analyze.ts';
import { parseProbe, renderProbeScript } from '../../src/lab/distro-probe.ts';
import { reportStages } from '../../bench/multiuser-bench.ts';

const close = (actual: number | undefined, expected: number) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

test('spans: h, min, s, ms, us and their sums; anything else is not a span', () => {
  close(parseSpan('1min 2.345s'), 62.345);
  close(parseSpan('345ms'), 0.345);
  close(parseSpan('12us'), 12e-6);
  close(parseSpan('1h 1min 1s'), 3661);
  assert.equal(parseSpan(''), undefined);
  assert.equal(parseSpan('2.3 s'), undefined);
  assert.equal(parseSpan('foo.service'), undefined);
});

test('time: kernel/initrd/userspace parts, the total and the target line', () => {
  const t = parseAnalyzeTime([
    'Startup finished in 3.104s (kernel) + 4.020s (initrd) + 1min 2.500s (userspace) = 1min 9.624s',
    'multi-user.target reached after 1min 2.410s in userspace.',
  ]);
  close(t.parts.kernel, 3.104);
  close(t.parts.initrd, 4.02);
  close(t.parts.userspace, 62.5);
  close(t.total, 69.624);
  assert.equal(t.target?.unit, 'multi-user.target');
  close(t.target?.userspaceS, 62.41);
  // Without an initrd part (an initrd that does not run systemd) and with a message instead.
  assert.deepEqual(Object.keys(parseAnalyzeTime(['Startup finished in 9.8s (kernel) + 20.1s (userspace) = 29.9s']).parts), ['kernel', 'userspace']);
  assert.deepEqual(parseAnalyzeTime(['Bootup is not yet finished']), { parts: {} });
});

test('blame: span then unit, longest first, multi-word spans kept whole', () => {
  assert.deepEqual(parseBlame(['1min 2.500s ifupdown-pre.service', '   5.102s networking.service', '801ms ssh.service', 'garbage', '']), [
    { unit: 'ifupdown-pre.service', seconds: 62.5 },
    { unit: 'networking.service', seconds: 5.102 },
    { unit: 'ssh.service', seconds: 0.801 },
  ]);
});

test('critical-chain: unit, depth, @ and +, in UTF-8 and ASCII trees; headers skipped', () => {
  const links = parseCriticalChain([
    'The time when unit became active or started is printed after the "@" character.',
    'The time the unit took to start is printed after the "+" character.',
    '',
    'multi-user.target @21.406s',
    '└─ssh.service @20.100s +1.305s',
    '  └─network.target @20.090s',
    '    `-networking.service @14.2s +5.889s',
    '      |-ifupdown-pre.service @1.2s +13s',
  ]);
  assert.deepEqual(links.map((l) => [l.unit, l.depth]), [
    ['multi-user.target', 0],
    ['ssh.service', 1],
    ['network.target', 2],
    ['networking.service', 3],
    ['ifupdown-pre.service', 4],
  ]);
  close(links[0]!.atS, 21.406);
  assert.equal(links[0]!.plusS, undefined);
  close(links[1]!.plusS, 1.305);
  close(links[3]!.atS, 14.2);
  close(links[4]!.plusS, 13);
});

test('the reporter with analyze prints the three and report.json after the uptime; parseProbe keeps them', () => {
  const script = renderProbeScript({ analyze: true });
  assert.ok(script.indexOf('systemd-analyze critical-chain') > script.indexOf('say uptime'), 'analysis runs after the uptime is taken');
  assert.match(script, /\/run\/ramboot\/report\.json/);
  assert.doesNotMatch(renderProbeScript(), /systemd-analyze/);
  const report = parseProbe(
    ['RAMBOOT-PROBE analyze-time Startup finished in 1s (kernel) + 2s (userspace) = 3s', 'RAMBOOT-PROBE blame 2.001s ssh.service', 'RAMBOOT-PROBE chain   └─network.target @1s', 'RAMBOOT-PROBE ramboot-report {"stages": {"fetch": 3.5, "mount": 0.2}}'].join('\n'),
  );
  assert.deepEqual(report.analyzeTime, ['Startup finished in 1s (kernel) + 2s (userspace) = 3s']);
  assert.deepEqual(report.blame, ['2.001s ssh.service']);
  assert.equal(parseCriticalChain(report.chain)[0]?.depth, 2);
  assert.deepEqual(reportStages(report.rambootReport), { fetch: 3.5, mount: 0.2 });
  assert.equal(reportStages('{not json'), undefined);
  assert.equal(reportStages('{"stages": {}}'), undefined);
});
