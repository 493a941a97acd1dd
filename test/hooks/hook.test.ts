import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderHooks, parseHook, readShippedHooks } from '../../src/hooks/hook.ts';

test('shipped hooks parse and come in after: order', () => {
  const names = readShippedHooks().map((h) => h.name);
  assert.ok(names.includes('ram-boot') && names.includes('zram') && names.includes('net-drivers'));
  assert.ok(names.indexOf('ram-boot') < names.indexOf('zram'));
});

test('the shipped hooks ask for what netboot needs', () => {
  const hooks = readShippedHooks();
  const required = new Set(hooks.flatMap((h) => h.modules));
  for (const m of ['squashfs', 'overlay', 'loop', 'zram', 'lzo-rle', 'af_packet']) assert.ok(required.has(m), m);
  const optional = new Set(hooks.flatMap((h) => h.optionalModules));
  for (const m of ['virtio_net', 'virtio_pci', 'virtio_blk', 'e1000', 'e1000e', 'igb', 'ixgbe', 'r8169', 'tg3', 'bnx2', 'vmxnet3']) assert.ok(optional.has(m), m);
});

test('unknown keys, bad JSON and wrong types are errors naming the hook', () => {
  assert.throws(() => parseHook('x', '{"description":"d","modulez":[]}'), /hooks\/x\/hook.json: unknown key "modulez"/);
  assert.throws(() => parseHook('x', '{'), /hooks\/x\/hook.json is not valid JSON/);
  assert.throws(() => parseHook('x', '{"description":"d","modules":"loop"}'), /"modules" must be a list/);
});

test('after: cycles and unknown names are errors', () => {
  const a = parseHook('a', '{"description":"","after":["b"]}');
  const b = parseHook('b', '{"description":"","after":["a"]}');
  assert.throws(() => orderHooks([a, b]), /cycle: a -> b -> a/);
  assert.throws(() => orderHooks([a]), /after unknown hook b/);
});

test('stageScripts: points are before-/after-<stage>, files come from the hook\'s directory', () => {
  const files = new Map([['a.sh', Buffer.from('echo a\n')], ['b.sh', Buffer.from('echo b\n')]]);
  const read = (f: string) => files.get(f);
  const hook = parseHook('site', JSON.stringify({ description: 'd', stageScripts: { 'after-net': ['a.sh'], 'before-switch': ['b.sh', 'a.sh'] } }), read);
  assert.deepEqual(hook.stageScripts.map((s) => [s.when, s.file, s.data.toString()]), [
    ['after-net', 'a.sh', 'echo a\n'],
    ['before-switch', 'b.sh', 'echo b\n'],
    ['before-switch', 'a.sh', 'echo a\n'],
  ]);
  assert.deepEqual(parseHook('plain', '{"description":"d"}').stageScripts, []);
  assert.throws(() => parseHook('site', '{"description":"d","stageScripts":{"before-mounting":["a.sh"]}}', read), /hooks\/site\/hook.json: "stageScripts" names unknown stage point "before-mounting"/);
  assert.throws(() => parseHook('site', '{"description":"d","stageScripts":{"after-switch":["a.sh"]}}', read), /unknown stage point "after-switch"/);
  assert.throws(() => parseHook('site', '{"description":"d","stageScripts":{"before-net":["gone.sh"]}}', read), {
    message: 'hooks/site/hook.json: file gone.sh not found',
    hint: /^at \$\.stageScripts\.before-net\[0\]/,
  });
  assert.throws(() => parseHook('site', '{"description":"d","stageScripts":{"before-net":["../a.sh"]}}', read), /must be a plain file name/);
  assert.throws(() => parseHook('site', '{"description":"d","stageScripts":["a.sh"]}', read), /"stageScripts" must be an object/);
});
