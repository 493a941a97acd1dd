// The boot script and `ramboot cmdline lint` refuse and accept the same parameter values: both
// run every case of test/fixtures/cmdline-invalid-cases.json. The sh side is the real thing: the
// rules the builder renders into /etc/ram.conf (RAM_PARAM_RULES), applied by lib/validate.sh when
// ram_stage_setup reads the command line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BOOT_PARAMS, BOOT_STAGES } from '../../src/cmdline/params.ts';
import { lintCmdline } from '../../src/cmdline/lint.ts';
import { renderParamRule } from '../../src/cmdline/ram-conf.ts';
import { Sandbox, errorLines } from './harness.ts';

interface InvalidCase {
  cmdline: string;
  param: string;
  why: string;
}
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/cmdline-invalid-cases.json', import.meta.url), 'utf8')) as {
  invalid: InvalidCase[];
  valid: string[];
};
const PIN = 'a'.repeat(64);

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

interface ShOutcome {
  status: number;
  output: string;
}

/** Each command line through ram_stage_setup, one busybox process for all (a subshell each). */
function bootSetup(cmdlines: string[]): ShOutcome[] {
  const sb = new Sandbox({ conf: { baked: { rootsha256: PIN }, facts: { KVER: '6.1.0-test', VERSION: 't' } } });
  sandboxes.push(sb);
  cmdlines.forEach((c, i) => sb.write(`cases/${String(i).padStart(3, '0')}`, `${c}\n`));
  const r = sb.run(`for f in "$RAM_PREFIX"/cases/*; do
  cp "$f" "$RAM_PREFIX/proc/cmdline"
  echo "=== case \${f##*/}"
  ( ram_stage_setup )
  echo "=== status $?"
done`);
  assert.equal(r.status, 0, r.output);
  const outcomes = [...r.output.matchAll(/^=== case \d+\n([\s\S]*?)^=== status (\d+)$/gm)].map((m) => ({ output: m[1]!, status: Number(m[2]) }));
  assert.equal(outcomes.length, cmdlines.length, r.output);
  return outcomes;
}

test('every invalid value stops the boot with one error line naming the parameter, and lint refuses it too', () => {
  const outcomes = bootSetup(FIXTURE.invalid.map((c) => c.cmdline));
  FIXTURE.invalid.forEach((c, i) => {
    const { status, output } = outcomes[i]!;
    const lines = errorLines(output);
    assert.equal(status, 1, `${c.cmdline} (${c.why}): the boot went on\n${output}`);
    assert.equal(lines.length, 1, `${c.cmdline}: ${output}`);
    assert.ok(lines[0]!.startsWith(`ramboot: error: ${c.param}=`), `${c.cmdline}: ${lines[0]}`);
    assert.doesNotMatch(output, /arithmetic|out of range|number expected/, c.cmdline);
    const lint = lintCmdline(c.cmdline, { rooturlAddedElsewhere: true }).filter((f) => f.level === 'error');
    assert.equal(lint.length, 1, `lint on ${c.cmdline} (${c.why}): ${JSON.stringify(lint)}`);
    assert.equal(lint[0]!.code, 'bad-value');
    assert.ok(lint[0]!.message.startsWith(c.param), `lint on ${c.cmdline}: ${lint[0]!.message}`);
  });
});

test('the edge values both sides accept', () => {
  const outcomes = bootSetup(FIXTURE.valid);
  FIXTURE.valid.forEach((cmdline, i) => {
    const { status, output } = outcomes[i]!;
    assert.equal(status, 0, `${cmdline}: ${output}`);
    assert.deepEqual(errorLines(output), [], cmdline);
    assert.deepEqual(lintCmdline(cmdline, { rooturlAddedElsewhere: true }).filter((f) => f.level === 'error'), [], cmdline);
  });
});

test('the fixture has an invalid case for every parameter of the table', () => {
  const covered = new Set(FIXTURE.invalid.map((c) => c.param));
  assert.deepEqual(BOOT_PARAMS.map((p) => p.name).filter((n) => !covered.has(n)), []);
});

test('ram.conf carries one check per parameter, the choices of each enum and the stage list', () => {
  const conf = new Sandbox();
  sandboxes.push(conf);
  const r = conf.run('. "$RAM_PREFIX/etc/ram.conf"; printf "%s\\n---\\n%s\\n---\\n%s\\n" "$RAM_PARAM_RULES" "$RAM_ZRAM_ALGO_VALUES" "$RAM_STAGES"');
  const [rules, algos, stages] = r.stdout.split('\n---\n').map((s) => s.trim());
  assert.deepEqual(rules!.split('\n'), BOOT_PARAMS.map(renderParamRule));
  assert.ok(rules!.includes('zram_size_pct ZRAM_SIZE_PCT int 0 400'), rules);
  assert.ok(rules!.includes('zram_devices ZRAM_DEVICES int 1 999 cores'), rules);
  assert.equal(algos, BOOT_PARAMS.find((p) => p.name === 'zram_algo')!.values!.join(' '));
  assert.equal(stages, BOOT_STAGES.join(' '));
});

test('an initrd whose ram.conf predates the rules stops instead of booting unchecked', () => {
  const sb = new Sandbox();
  sandboxes.push(sb);
  const conf = sb.read('etc/ram.conf').replace(/^RAM_PARAM_RULES='[^']*'\n/m, '');
  sb.write('etc/ram.conf', conf);
  const r = sb.run('ram_stage_setup');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: /etc/ram.conf has no RAM_PARAM_RULES or RAM_STAGES: rebuild the initrd with this ramboot']);
});
