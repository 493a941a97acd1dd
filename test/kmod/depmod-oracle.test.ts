// Our closures against host kmod on the Debian cloud kernel (~1,100 modules): depmod builds the
// index files in a scratch copy, and `modprobe --show-depends` answers for every module.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { readModuleIndex, resolveModules, type ModuleIndex } from '../../src/kmod/index.ts';
import { copyModulesTree, debianKernel, depmod, showDepends, sorted, type ScratchTree } from '../fixtures/kmod/kernel-oracle.ts';

let tree: ScratchTree;
let plain: ModuleIndex; // the .deb as unpacked: no modules.dep, everything from .modinfo
let indexed: ModuleIndex; // the same tree after depmod

before(async () => {
  const kernel = await debianKernel();
  tree = await copyModulesTree(kernel);
  await depmod(tree);
  plain = await readModuleIndex(kernel.modulesDir);
  indexed = await readModuleIndex(tree.modulesDir);
});
after(() => tree?.remove());

const closurePaths = (index: ModuleIndex, spec: string, softdeps: boolean) =>
  sorted(resolveModules(index, [{ spec, reason: 'test' }], { softdeps }).modules.map((m) => m.info.path));

test('readModuleIndex: the same answers with and without modules.dep', () => {
  assert.equal(plain.source, 'modinfo');
  assert.equal(indexed.source, 'modules.dep');
  assert.ok(plain.modules.size > 1000, `only ${plain.modules.size} modules`);
  assert.deepEqual(sorted(plain.modules.keys()), sorted(indexed.modules.keys()));
  assert.deepEqual(sorted(plain.builtin), sorted(indexed.builtin));
  for (const [name, a] of plain.modules) {
    const b = indexed.modules.get(name)!;
    assert.equal(a.path, b.path);
    // modules.dep lists the whole closure, .modinfo the direct dependencies.
    assert.deepEqual(closurePaths(plain, name, false), closurePaths(indexed, name, false), `closure of ${name}`);
    assert.deepEqual(a.aliases, b.aliases, `aliases of ${name}`);
    assert.deepEqual([a.softdepPre, a.softdepPost], [b.softdepPre, b.softdepPost], `softdeps of ${name}`);
    assert.deepEqual(a.firmware, b.firmware, `firmware of ${name}`);
  }
});

test('every module: closure without softdeps = modprobe --show-depends --ignore-install', async () => {
  // kmod reads modules.softdep as configuration; without it only modules.dep counts.
  const softdepFile = join(tree.modulesDir, 'modules.softdep');
  await rename(softdepFile, `${softdepFile}.off`);
  try {
    const names = sorted(plain.modules.keys());
    const oracle = await showDepends(tree, names, { softdeps: false });
    for (const name of names) {
      const expected = sorted(new Set(oracle.get(name)!.paths));
      assert.deepEqual(closurePaths(plain, name, false), expected, `${name} (from .modinfo)`);
      assert.deepEqual(closurePaths(indexed, name, false), expected, `${name} (from modules.dep)`);
    }
  } finally {
    await rename(`${softdepFile}.off`, softdepFile);
  }
});

test('every module: closure with softdeps = modprobe --show-depends', async () => {
  const names = sorted(plain.modules.keys());
  const oracle = await showDepends(tree, names, { softdeps: true });
  let withSoftdeps = 0;
  for (const name of names) {
    const expected = sorted(new Set(oracle.get(name)!.paths));
    assert.deepEqual(closurePaths(plain, name, true), expected, name);
    if (expected.length !== closurePaths(plain, name, false).length) withSoftdeps++;
  }
  // The comparison must have exercised softdeps (btrfs, nfsd, xt_LOG, act_mpls, ...).
  assert.ok(withSoftdeps >= 5, `only ${withSoftdeps} modules gain modules through softdeps`);
});

/** A concrete string a glob pattern matches: '*' -> '', '?' -> 'Z', [set] -> its first member. */
function sampleOf(pattern: string): string {
  return pattern.replace(/\[!?\^?(.)[^\]]*\]/g, '$1').replaceAll('*', '').replaceAll('?', 'Z');
}

test('aliases: lookups of every alias of every module agree with modprobe', async () => {
  const specs = new Set<string>();
  for (const info of plain.modules.values()) for (const alias of info.aliases) specs.add(sampleOf(alias));
  for (const alias of plain.builtinAliases.keys()) specs.add(sampleOf(alias));
  const list = sorted(specs).filter((s) => s !== '' && !s.startsWith('-'));
  assert.ok(list.length > 500, `only ${list.length} aliases`);
  const oracle = await showDepends(tree, list, { softdeps: true, concurrency: 6 });
  for (const spec of list) {
    const resolution = resolveModules(plain, [{ spec, reason: 'test' }]);
    const got = oracle.get(spec)!;
    assert.deepEqual(sorted(resolution.modules.map((m) => m.info.path)), sorted(new Set(got.paths)), `alias ${spec}`);
    if (got.paths.length === 0) assert.deepEqual(resolution.builtin.length > 0, got.builtin.length > 0, `alias ${spec} built in`);
  }
});
