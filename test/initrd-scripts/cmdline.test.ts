// The sh parser (initrd-scripts/lib/cmdline.sh) against every shared case the TS parser passes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BOOT_PARAMS, BOOT_STAGES, findParam } from '../../src/cmdline/params.ts';
import { parseCmdline } from '../../src/cmdline/parse.ts';
import { renderRamConf } from '../../src/cmdline/ram-conf.ts';
import { Sandbox } from './harness.ts';

interface Case { name: string; cmdline: string; expect: Record<string, string> }
const cases: Case[] = JSON.parse(readFileSync(new URL('../fixtures/cmdline-cases.json', import.meta.url), 'utf8'));

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

/** Parse `cmdline` with the sh parser and return every parameter's value, keyed by name. */
function shParse(cmdline: string, baked: Record<string, string> = {}): Record<string, string> {
  const sb = new Sandbox({ cmdline, conf: { baked } });
  sandboxes.push(sb);
  const print = BOOT_PARAMS.map((p) => `printf '%s=%s\\n' ${p.name} "$RAM_${p.shVar}"`).join('\n');
  const r = sb.run(`ram_load_params\n${print}`);
  assert.equal(r.status, 0, r.output);
  const values: Record<string, string> = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  return values;
}

for (const c of cases) {
  test(`sh parser: ${c.name}`, () => {
    const expected: Record<string, string> = Object.fromEntries(BOOT_PARAMS.map((p) => [p.name, p.default]));
    for (const [name, value] of Object.entries(c.expect)) {
      assert.ok(findParam(name), `fixture names unknown parameter ${name}`);
      expected[name] = value;
    }
    assert.deepEqual(shParse(c.cmdline), expected, JSON.stringify(c.cmdline));
  });
}

test('sh parser: baked ram.conf defaults apply when the command line is silent, and lose to it', () => {
  const sha = 'a'.repeat(64);
  assert.equal(shParse('', { rootsha256: sha }).rootsha256, sha);
  assert.equal(shParse(`rootsha256=${'b'.repeat(64)}`, { rootsha256: sha }).rootsha256, 'b'.repeat(64));
});

test('sh parser: globbing stays off, so a * in a value is data', () => {
  assert.equal(shParse('init=/*').init, '/*');
});

test('sh parser: a bare non-flag parameter is empty, as in the TS parser', () => {
  assert.equal(shParse('rooturl').rooturl, '');
});

// Quote and blank corners beyond the fixture: the sh parser must agree with the TS one on each.
const corners = [
  'init="/bin/sh -c true',
  'init=a"b c"d ip=x',
  '"" ip=y ""',
  'ip="--" zram_size_pct=7',
  '"--" zram_size_pct=8',
  'zram_size_pct=1 "-- zram_size_pct=2"',
  'init=a""b',
  'init="" ramdebug',
  'ip=a\rb',
  '\t"init=x y"\tip=z\t',
  'ramdebug=maybe initrddebug=TRUE',
  'fetch=a rooturl=b fetch=c',
  'init=x\\y',
];
for (const cmdline of corners) {
  test(`sh parser agrees with the TS parser on ${JSON.stringify(cmdline)}`, () => {
    assert.deepEqual(shParse(cmdline), parseCmdline(cmdline).values);
  });
}

test('ram.conf renders with the names the sh side reads', () => {
  const conf = renderRamConf();
  for (const v of ['RAM_PARAM_MAP', 'RAM_PARAM_FLAGS']) assert.match(conf, new RegExp(`^${v}=`, 'm'));
});

test('every stage of the table (RAM_STAGES in ram.conf) is a stage function of the boot script', () => {
  const sb = new Sandbox();
  try {
    const r = sb.run('. "$RAM_PREFIX/etc/ram.conf"; for s in $RAM_STAGES; do type "ram_stage_$s" >/dev/null 2>&1 && echo "$s"; done');
    assert.equal(r.stdout, `${BOOT_STAGES.join('\n')}\n`);
  } finally {
    sb.cleanup();
  }
});
