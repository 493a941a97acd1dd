// The parsed module index is kept between builds (src/kmod/index-cache.ts): a second on-demand
// read of the same index files comes from the cache, a new depmod run (a new modules.dep) or a
// damaged entry is parsed afresh, and RAMBOOT_KMOD_CACHE=off writes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModuleIndex } from '../../src/kmod/index.ts';
import { indexCacheDir, parseStoredIndex, renderStoredIndex } from '../../src/kmod/index-cache.ts';
import { KVER, makeFakeRoot, SHIPPED_HOOK_BUILTIN, SHIPPED_HOOK_MODULES, writeRootFile } from '../initrd/fake-root.ts';

let work: string;
let root: string;
let cache: string;
const saved = process.env.RAMBOOT_KMOD_CACHE;
const dir = () => join(root, 'lib/modules', KVER);
const entries = () => readdirSync(cache).filter((n) => n.endsWith('.json'));

/** Replace an index file the way depmod does: a new file renamed over the old one. */
function rewrite(name: string, text: string): void {
  const path = join(dir(), name);
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-index-cache-'));
  root = join(work, 'root');
  cache = join(work, 'cache');
  process.env.RAMBOOT_KMOD_CACHE = cache;
  makeFakeRoot(root, SHIPPED_HOOK_MODULES, SHIPPED_HOOK_BUILTIN);
  writeRootFile(root, `lib/modules/${KVER}/modules.dep`, SHIPPED_HOOK_MODULES.map((m) => `${m.path}:\n`).join(''));
  writeRootFile(root, `lib/modules/${KVER}/modules.alias`, 'alias fs-squashfs squashfs\n');
  writeRootFile(root, `lib/modules/${KVER}/modules.softdep`, '');
});
after(() => {
  if (saved === undefined) delete process.env.RAMBOOT_KMOD_CACHE;
  else process.env.RAMBOOT_KMOD_CACHE = saved;
  rmSync(work, { recursive: true, force: true });
});

test('a second read of the same index files comes from the cache; a new modules.dep is parsed afresh', async () => {
  const first = await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  assert.equal(entries().length, 1, 'the parse is stored');
  const [name] = entries();
  // Mark the stored entry: seeing the mark proves the next read did not parse the files.
  const path = join(cache, name!);
  writeFileSync(path, readFileSync(path, 'utf8').replace('"fs-squashfs"', '"fs-marked"'));
  const second = await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  assert.deepEqual(second.modules.get('squashfs')!.aliases, ['fs-marked'], 'read from the cache');
  assert.deepEqual([...second.modules.keys()], [...first.modules.keys()]);
  assert.deepEqual([...second.builtin], [...first.builtin]);
  assert.equal(second.modinfoUnread?.size, second.modules.size, 'no .modinfo read yet, as after a parse');

  rewrite('modules.alias', 'alias fs-squashfs squashfs\nalias fs-sq2 squashfs\n');
  const third = await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  assert.deepEqual(third.modules.get('squashfs')!.aliases, ['fs-squashfs', 'fs-sq2'], 'a new modules.alias is parsed');
  assert.equal(entries().length, 1, 'the entry of the older files is gone');
});

test('a damaged or foreign entry is a fresh parse, never an error; a full read is never cached', async () => {
  for (const name of entries()) writeFileSync(join(cache, name), '{"format": 1, "key": "x", "ind');
  const index = await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  assert.ok(index.modules.has('squashfs'));
  const key = entries()[0]!.replace(/\.json$/, '');
  assert.equal(parseStoredIndex('another-key', renderStoredIndex(key, index)), undefined, 'an entry answers only its own key');
  rmSync(cache, { recursive: true });
  await readModuleIndex(dir(), { root });
  assert.throws(() => entries(), /ENOENT/, 'reading every .modinfo depends on every module file: not cached');
});

test('where the cache lives: RAMBOOT_KMOD_CACHE, else /var/cache/ramboot for root and ~/.cache for others', () => {
  assert.equal(indexCacheDir({ RAMBOOT_KMOD_CACHE: '/x' }, 0), '/x');
  assert.equal(indexCacheDir({ RAMBOOT_KMOD_CACHE: 'off' }, 0), undefined);
  assert.equal(indexCacheDir({}, 0), '/var/cache/ramboot/kmod-index');
  assert.equal(indexCacheDir({ XDG_CACHE_HOME: '/home/u/.c' }, 1000), '/home/u/.c/ramboot/kmod-index');
});

test('RAMBOOT_KMOD_CACHE=off writes no entry', async () => {
  process.env.RAMBOOT_KMOD_CACHE = 'off';
  try {
    await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  } finally {
    process.env.RAMBOOT_KMOD_CACHE = cache;
  }
  assert.throws(() => entries(), /ENOENT/);
});
