import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renderRamConf, shQuote } from '../../src/cmdline/ram-conf.ts';
import { BOOT_PARAMS } from '../../src/cmdline/params.ts';

function sourceAndPrint(conf: string, names: string[]): Record<string, string> {
  const script = `${conf}\nfor v in ${names.join(' ')}; do eval "printf '%s=%s\\\\n' \\"\\$v\\" \\"\\\${$v}\\""; done`;
  const out = execFileSync('/bin/busybox', ['sh', '-c', script], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

test('ram.conf sources under busybox sh with every default and baked value intact', () => {
  const sha = 'c'.repeat(64);
  const conf = renderRamConf({ baked: { rootsha256: sha }, facts: { KVER: '6.1.0-1-cloud-amd64', MODULES: 'loop squashfs', NOTE: "it's $(reboot)" } });
  const vars = sourceAndPrint(conf, ['RAM_ROOTSHA256', 'RAM_ZRAM_SIZE_PCT', 'RAM_KVER', 'RAM_MODULES', 'RAM_NOTE', 'RAM_PARAM_MAP', 'RAM_PARAM_FLAGS']);
  assert.equal(vars.RAM_ROOTSHA256, sha);
  assert.equal(vars.RAM_ZRAM_SIZE_PCT, '50');
  assert.equal(vars.RAM_KVER, '6.1.0-1-cloud-amd64');
  assert.equal(vars.RAM_MODULES, 'loop squashfs');
  assert.equal(vars.RAM_NOTE, "it's $(reboot)");
  assert.match(vars.RAM_PARAM_MAP ?? '', /(^| )fetch=ROOTURL( |$)/);
  assert.equal(vars.RAM_PARAM_FLAGS, 'toram initrddebug ramdebug');
  for (const p of BOOT_PARAMS) assert.ok(conf.includes(`RAM_${p.shVar}=`), `default for ${p.name}`);
});

test('shQuote survives single quotes', () => {
  assert.equal(shQuote("a'b"), `'a'\\''b'`);
});

test('the stages initrddebug= accepts are the stages the ram script runs: ram.conf gives the entry its list', async () => {
  const { BOOT_STAGES } = await import('../../src/cmdline/params.ts');
  const { readFileSync } = await import('node:fs');
  const ram = readFileSync(new URL('../../initrd-scripts/ram', import.meta.url), 'utf8');
  assert.doesNotMatch(ram, /^RAM_STAGES=/m, 'the entry keeps no copy of the stage list');
  assert.match(ram, /for RAM_STAGE in \$RAM_STAGES; do/);
  assert.equal(sourceAndPrint(renderRamConf(), ['RAM_STAGES']).RAM_STAGES, BOOT_STAGES.join(' '));
});

test('ram.conf refuses a choice the boot could not check as one word', async () => {
  const { renderParamRule } = await import('../../src/cmdline/ram-conf.ts');
  const param = { name: 'x', shVar: 'X', type: 'enum', values: ['a b'], default: '', doc: '', owner: 'ramboot' } as const;
  assert.throws(() => renderParamRule(param), /value "a b" cannot go into a ram.conf rule/);
  assert.throws(() => renderParamRule({ ...param, type: 'int', values: undefined }), /an int needs min and max/);
});
