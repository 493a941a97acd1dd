// The depmod/modprobe oracle against Debian's generic kernel (~4,000 modules), plain and with
// every module recompressed as .ko.xz and as .ko.zst. Minutes of work (download, recompressing
// ~400 MB, three modprobe runs over every module), so it runs only with RAMBOOT_SLOW_TESTS=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readModuleIndex, resolveModules, type ModuleIndex } from '../../src/kmod/index.ts';
import { mapLimit } from '../../src/kmod/pool.ts';
import { runTool } from '../../src/util/run-tool.ts';
import { copyModulesTree, debianKernel, depmod, showDepends, sorted, type ScratchTree } from '../fixtures/kmod/kernel-oracle.ts';

const slow = process.env.RAMBOOT_SLOW_TESTS === '1';
const skip = !slow && 'slow: set RAMBOOT_SLOW_TESTS=1';

async function recompressAll(tree: ScratchTree, codec: 'xz' | 'zst'): Promise<void> {
  const files = (await readdir(tree.modulesDir, { recursive: true })).filter((f) => f.endsWith('.ko')).map((f) => join(tree.modulesDir, f));
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += 400) batches.push(files.slice(i, i + 400));
  await mapLimit(batches, 2, async (batch) => {
    // Fast levels: the format, not the ratio, is under test. xz with CRC32 as kernels build them.
    if (codec === 'xz') await runTool('xz', ['-1', '-T1', '-q', '--check=crc32', '--', ...batch]);
    else await runTool('zstd', ['-1', '-q', '--rm', '--', ...batch]);
  });
}

const closure = (index: ModuleIndex, name: string) =>
  sorted(resolveModules(index, [{ spec: name, reason: 'test' }]).modules.map((m) => m.info.path));

async function compareWithModprobe(variant: string, tree: ScratchTree, reference: ModuleIndex, t: { diagnostic(msg: string): void }) {
  let started = performance.now();
  const plain = await readModuleIndex(tree.modulesDir);
  t.diagnostic(`${variant}: readModuleIndex without modules.dep: ${plain.modules.size} modules in ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(plain.source, 'modinfo');
  assert.deepEqual(sorted(plain.modules.keys()), sorted(reference.modules.keys()));
  for (const [name, info] of plain.modules) {
    const { path: _p, ...rest } = info;
    const { path: _q, ...expected } = reference.modules.get(name)!;
    assert.deepEqual(rest, expected, `${variant}: ${name}`);
  }
  await depmod(tree);
  started = performance.now();
  const indexed = await readModuleIndex(tree.modulesDir);
  t.diagnostic(`${variant}: readModuleIndex with modules.dep: ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(indexed.source, 'modules.dep');
  const names = sorted(plain.modules.keys());
  const oracle = await showDepends(tree, names, { softdeps: true, concurrency: 4 });
  for (const name of names) {
    const expected = sorted(new Set(oracle.get(name)!.paths));
    assert.deepEqual(closure(plain, name), expected, `${variant}: ${name} (from .modinfo)`);
    assert.deepEqual(closure(indexed, name), expected, `${variant}: ${name} (from modules.dep)`);
  }
}

test('generic kernel: every module, plain / .ko.xz / .ko.zst, matches modprobe', { skip, timeout: 30 * 60_000 }, async (t) => {
  const kernel = await debianKernel('amd64');
  const reference = await readModuleIndex(kernel.modulesDir);
  assert.ok(reference.modules.size > 3000, `only ${reference.modules.size} modules`);
  for (const variant of ['plain', 'xz', 'zst'] as const) {
    const tree = await copyModulesTree(kernel);
    try {
      if (variant !== 'plain') await recompressAll(tree, variant);
      await compareWithModprobe(variant, tree, reference, t);
    } finally {
      await tree.remove();
    }
  }
});
