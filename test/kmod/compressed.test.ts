// .ko.xz / .ko.zst / .ko.gz modules, as newer Debian and other distros ship them: a scratch copy
// of the cloud kernel with a few modules recompressed must read, resolve and load the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  packedModulePath,
  readModuleFile,
  readModuleIndex,
  resolveModules,
  type ModuleIndex,
} from '../../src/kmod/index.ts';
import { RambootError } from '../../src/errors.ts';
import { runTool } from '../../src/util/run-tool.ts';
import { copyModulesTree, debianKernel, depmod, showDepends, sorted, type ScratchTree } from '../fixtures/kmod/kernel-oracle.ts';

// virtio_net and its dependency chain get one codec each, so a closure crosses all of them.
const RECOMPRESS: Record<string, 'xz' | 'zst' | 'gz'> = {
  'kernel/drivers/net/virtio_net.ko': 'xz',
  'kernel/drivers/net/net_failover.ko': 'zst',
  'kernel/net/core/failover.ko': 'xz',
  'kernel/drivers/virtio/virtio_ring.ko': 'zst',
  'kernel/fs/squashfs/squashfs.ko': 'xz',
  'kernel/crypto/lzo-rle.ko': 'zst',
  'kernel/drivers/block/zram/zram.ko': 'gz',
};

let original: ModuleIndex;
let tree: ScratchTree;

async function recompress(path: string, codec: 'xz' | 'zst' | 'gz'): Promise<void> {
  const file = join(tree.modulesDir, path);
  if (codec === 'gz') await writeFile(`${file}.gz`, gzipSync(await readFile(file)));
  // xz with CRC32 as the kernel's in-kernel module decompressor wants (docs/facts.md: CRC64 is rejected).
  else if (codec === 'xz') await runTool('xz', ['--check=crc32', '-q', '-T1', file]);
  else await runTool('zstd', ['-q', '--rm', file]);
  await rm(file, { force: true });
}

before(async () => {
  const kernel = await debianKernel();
  original = await readModuleIndex(kernel.modulesDir);
  tree = await copyModulesTree(kernel);
  for (const [path, codec] of Object.entries(RECOMPRESS)) await recompress(path, codec);
});
after(() => tree?.remove());

test('readModuleIndex finds compressed modules with the same names, dependencies and aliases', async () => {
  const index = await readModuleIndex(tree.modulesDir);
  assert.deepEqual(sorted(index.modules.keys()), sorted(original.modules.keys()));
  for (const [path, codec] of Object.entries(RECOMPRESS)) {
    const name = [...original.modules.values()].find((m) => m.path === path)!.name;
    const info = index.modules.get(name)!;
    assert.equal(info.path, `${path}.${codec}`);
    assert.equal(packedModulePath(info), path);
    const { path: _a, ...rest } = info;
    const { path: _b, ...expected } = original.modules.get(name)!;
    assert.deepEqual(rest, expected, name);
  }
});

test('resolveModules gives the same closure; readModuleFile gives the original bytes', async () => {
  const index = await readModuleIndex(tree.modulesDir);
  const requests = ['virtio_net', 'fs-squashfs', 'zram', 'crypto-lzo-rle'].map((spec) => ({ spec, reason: 'test' }));
  const got = resolveModules(index, requests).modules;
  const expected = resolveModules(original, requests).modules;
  assert.deepEqual(got.map((m) => m.info.name), expected.map((m) => m.info.name));
  assert.deepEqual(got.map((m) => packedModulePath(m.info)), expected.map((m) => m.info.path));
  const compressed = got.filter((m) => m.info.path !== packedModulePath(m.info));
  assert.equal(compressed.length, Object.keys(RECOMPRESS).length);
  for (const m of got) {
    const bytes = await readModuleFile(index, m.info);
    const plain = await readFile(join(original.dir, packedModulePath(m.info)));
    assert.ok(bytes.equals(plain), `${m.info.path} decompresses to the original`);
  }
  // A module path request works with or without the compression suffix.
  const byPath = resolveModules(index, [{ spec: 'kernel/fs/squashfs/squashfs.ko', reason: 'test' }]);
  assert.deepEqual(byPath.modules.map((m) => m.info.path), ['kernel/fs/squashfs/squashfs.ko.xz']);
});

test('with modules.dep naming .ko.xz/.ko.zst files, closures still match modprobe', async () => {
  // Host kmod reads xz and zstd but not gzip (built -ZLIB), so the oracle tree drops zram.ko.gz.
  const gz = Object.entries(RECOMPRESS).filter(([, codec]) => codec === 'gz');
  const stash = new Map<string, Buffer>();
  for (const [path] of gz) {
    stash.set(path, await readFile(join(tree.modulesDir, `${path}.gz`)));
    await rm(join(tree.modulesDir, `${path}.gz`));
  }
  try {
    await depmod(tree);
    const index = await readModuleIndex(tree.modulesDir);
    assert.equal(index.source, 'modules.dep');
    assert.equal(index.modules.get('virtio_net')!.path, 'kernel/drivers/net/virtio_net.ko.xz');
    const names = ['virtio_net', 'squashfs', 'lzo_rle', 'net_failover'];
    const oracle = await showDepends(tree, names, { softdeps: true });
    for (const name of names) {
      const ours = resolveModules(index, [{ spec: name, reason: 'test' }]).modules.map((m) => m.info.path);
      assert.deepEqual(sorted(ours), sorted(new Set(oracle.get(name)!.paths)), name);
    }
  } finally {
    for (const [path, bytes] of stash) await writeFile(join(tree.modulesDir, `${path}.gz`), bytes);
    for (const file of ['modules.dep', 'modules.alias', 'modules.softdep', 'modules.dep.bin']) await rm(join(tree.modulesDir, file), { force: true });
  }
});

test('a corrupt compressed module is an error naming the file', async () => {
  const index = await readModuleIndex(tree.modulesDir);
  const bad = join(tree.modulesDir, 'kernel/fs/squashfs/squashfs.ko.xz');
  const good = await readFile(bad);
  await writeFile(bad, good.subarray(0, good.length / 2));
  try {
    await assert.rejects(readModuleFile(index, index.modules.get('squashfs')!), (error: unknown) => {
      assert.ok(error instanceof RambootError);
      assert.match(error.message, /xz -dc -- .*squashfs\.ko\.xz exited with 1/);
      return true;
    });
    await assert.rejects(readModuleIndex(tree.modulesDir), /squashfs\.ko\.xz/);
  } finally {
    await writeFile(bad, good);
  }
  const gz = join(tree.modulesDir, 'kernel/drivers/block/zram/zram.ko.gz');
  const gzGood = await readFile(gz);
  await writeFile(gz, Buffer.from('not gzip at all'));
  try {
    await assert.rejects(readModuleFile(index, index.modules.get('zram')!), /zram\.ko\.gz: corrupt gzip data/);
  } finally {
    await writeFile(gz, gzGood);
  }
});
