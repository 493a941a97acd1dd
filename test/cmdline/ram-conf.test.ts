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

test('the stages initrddebug= accepts are the stages the ram script runs', async () => {
  const { BOOT_STAGES } = await import('../../src/cmdline/params.ts');
  const { readFileSync } = await import('node:fs');
  const ram = readFileSync(new URL('../../initrd-scripts/ram', import.meta.url), 'utf8');
  const stages = /^RAM_STAGES='([^']*)'$/m.exec(ram)?.[1];
  assert.equal(stages, BOOT_STAGES.join(' '));
});
