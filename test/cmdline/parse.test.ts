import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCmdline, splitCmdline } from '../../src/cmdline/parse.ts';
import { renderDefaultCmdline } from '../../src/cmdline/render-cmdline.ts';
import { BOOT_PARAMS, findParam } from '../../src/cmdline/params.ts';

interface Case { name: string; cmdline: string; expect: Record<string, string> }
const cases: Case[] = JSON.parse(readFileSync(new URL('../fixtures/cmdline-cases.json', import.meta.url), 'utf8'));

for (const c of cases) {
  test(`TS parser: ${c.name}`, () => {
    const { values } = parseCmdline(c.cmdline);
    for (const [name, expected] of Object.entries(c.expect)) {
      assert.ok(findParam(name), `fixture names unknown parameter ${name}`);
      assert.equal(values[name], expected, `${name} for ${JSON.stringify(c.cmdline)}`);
    }
  });
}

test('every fixture parameter and every table parameter is covered by a case', () => {
  const covered = new Set(cases.flatMap((c) => Object.keys(c.expect)));
  const uncovered = BOOT_PARAMS.filter((p) => !covered.has(p.name)).map((p) => p.name);
  assert.deepEqual(uncovered, [], 'add a case to test/fixtures/cmdline-cases.json');
});

test('unknown words are reported, known ones are not', () => {
  const parsed = parseCmdline('quiet zram_size_pct=5 console=ttyS0');
  assert.deepEqual(parsed.unknown.map((w) => w.key), ['quiet', 'console']);
  assert.deepEqual([...parsed.given], ['zram_size_pct']);
});

test('splitCmdline keeps = inside values and stops at --', () => {
  assert.deepEqual(splitCmdline('a=b=c d -- e'), [{ key: 'a', value: 'b=c' }, { key: 'd', value: undefined }]);
});

test('baked defaults apply when the command line is silent, and lose to it', () => {
  const sha = 'a'.repeat(64);
  assert.equal(parseCmdline('', { rootsha256: sha }).values.rootsha256, sha);
  assert.equal(parseCmdline(`rootsha256=${'b'.repeat(64)}`, { rootsha256: sha }).values.rootsha256, 'b'.repeat(64));
});

test('the default cmdline.txt parses back to its own values', () => {
  const line = renderDefaultCmdline({ rooturl: 'http://10.0.2.2:8080/rootfs.squashfs', init: '/bin/sh -c x' });
  assert.equal(line, 'boot=ram rooturl=http://10.0.2.2:8080/rootfs.squashfs ip=dhcp zram_size_pct=50 init="/bin/sh -c x" panic=10');
  const { values } = parseCmdline(line);
  assert.equal(values.init, '/bin/sh -c x');
  assert.equal(values.rooturl, 'http://10.0.2.2:8080/rootfs.squashfs');
  assert.equal(values.panic, '10');
});

test('rendering an unknown parameter is a usage error naming it', () => {
  assert.throws(() => renderDefaultCmdline({ rootsha: 'x' }), /unknown boot parameter "rootsha"/);
});

test('a rendered value holding the byte 0xA0 (in à) is quoted, so the kernel does not cut it', () => {
  const line = renderDefaultCmdline({ init: '/opt/voilà' });
  assert.match(line, / init="\/opt\/voilà" /);
  assert.equal(parseCmdline(line).values.init, '/opt/voilà');
});
