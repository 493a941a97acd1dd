// The initrd's module index files, checked with the consumer that reads them at boot: busybox
// modprobe (the static busybox the initrd carries), chrooted into a tree holding only the packed
// modules and our generated files. Its `-D` plan must equal kmod's on the full depmod'd tree.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import {
  packedModulePath,
  readModuleFile,
  readModuleIndex,
  renderModuleIndexFiles,
  resolveModules,
  type ModuleIndex,
  type Resolution,
} from '../../src/kmod/index.ts';
import { RambootError } from '../../src/errors.ts';
import { copyModulesTree, debianKernel, depmod, showDepends, sorted, type ScratchTree } from '../fixtures/kmod/kernel-oracle.ts';

const BUSYBOX = '/bin/busybox';
// Requests with hard chains, alias lookups and pre-softdeps through aliases (btrfs:
// crypto-crc32c, blake2b-256; libcrc32c: crc32c; xt_LOG: nf_log_syslog). None has a post-softdep:
// busybox has no way to express one.
const REQUESTS = ['virtio-net', 'fs-squashfs', 'zram', 'crypto-lzo-rle', 'btrfs', 'nfsv4', 'overlay', 'xt_LOG', 'af_packet'];

let index: ModuleIndex;
let resolution: Resolution;
let files: ReturnType<typeof renderModuleIndexFiles>;
let chroot: string;
let kmodTree: ScratchTree;
const canChroot = process.getuid?.() === 0;

before(async () => {
  const kernel = await debianKernel();
  index = await readModuleIndex(kernel.modulesDir);
  resolution = resolveModules(index, REQUESTS.map((spec) => ({ spec, reason: 'test' })));
  files = renderModuleIndexFiles(index, resolution.modules.map((m) => m.info));
  // busybox modprobe looks in /lib/modules/$(uname -r), so the packed tree takes the host's release.
  chroot = await mkdtemp(join(tmpdir(), 'ramboot-bbmod-'));
  const base = join(chroot, 'lib', 'modules', release());
  for (const m of resolution.modules) {
    const target = join(base, packedModulePath(m.info));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readModuleFile(index, m.info));
  }
  for (const [name, text] of Object.entries(files)) await writeFile(join(base, name), text);
  await mkdir(join(chroot, 'bin'));
  await copyFile(BUSYBOX, join(chroot, 'bin', 'busybox'));
  kmodTree = await copyModulesTree(kernel);
  await depmod(kmodTree);
});
after(async () => {
  await rm(chroot, { recursive: true, force: true });
  await kmodTree?.remove();
});

async function busyboxShowDepends(spec: string): Promise<{ paths: string[]; stderr: string; exitCode: number }> {
  const result = await execa('chroot', [chroot, '/bin/busybox', 'modprobe', '-D', spec], { reject: false });
  const prefix = `/lib/modules/${release()}/`;
  const paths = result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([word]) => word === 'insmod')
    .map(([, path]) => path!.slice(prefix.length));
  return { paths, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

test('modules.dep: one line per packed module, the closure with load-first modules last', () => {
  const lines = files['modules.dep'].trimEnd().split('\n');
  assert.equal(lines.length, resolution.modules.length);
  const line = lines.find((l) => l.startsWith('kernel/drivers/net/virtio_net.ko:'))!;
  const deps = line.split(':')[1]!.trim().split(' ');
  assert.deepEqual(sorted(deps), sorted(['kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko', 'kernel/drivers/net/net_failover.ko', 'kernel/net/core/failover.ko']));
  // virtio depends on virtio_ring, so virtio_ring (loaded first) is listed after it.
  assert.ok(deps.indexOf('kernel/drivers/virtio/virtio_ring.ko') > deps.indexOf('kernel/drivers/virtio/virtio.ko'));
  assert.match(files['modules.alias'], /^alias fs-squashfs squashfs$/m);
  assert.match(files['modules.alias'], /^alias virtio:d00000001v\* virtio_net$/m);
  assert.match(files['modules.softdep'], /^softdep btrfs pre: blake2b-256 sha256 xxhash64 crypto-crc32c$/m);
  assert.match(files['modules.builtin'], /^kernel\/net\/packet\/af_packet\.ko$/m);
  assert.deepEqual(resolution.builtin, ['af_packet']);
});

test('busybox modprobe -D on the packed tree = kmod modprobe --show-depends on the whole kernel', { skip: !canChroot && 'needs root for chroot' }, async () => {
  const specs = [...resolution.modules.map((m) => m.info.name), 'fs-squashfs', 'virtio:d00000001v00001AF4', 'crypto-lzo-rle'];
  const kmod = await showDepends(kmodTree, specs, { softdeps: true });
  for (const spec of specs) {
    const busybox = await busyboxShowDepends(spec);
    assert.equal(busybox.exitCode, 0, `${spec}: ${busybox.stderr}`);
    assert.deepEqual(sorted(new Set(busybox.paths)), sorted(new Set(kmod.get(spec)!.paths)), spec);
    // And busybox's order is a load order: each module after everything it depends on.
    for (const [i, path] of busybox.paths.entries()) {
      const info = [...index.modules.values()].find((m) => m.path === path)!;
      for (const dep of info.depends) {
        const at = busybox.paths.indexOf(index.modules.get(dep)?.path ?? '');
        if (!index.builtin.has(dep)) assert.ok(at >= 0 && at < i, `${spec}: ${dep} not before ${info.name}`);
      }
    }
  }
});

test('busybox modprobe knows built-in and absent modules from the generated files', { skip: !canChroot && 'needs root for chroot' }, async () => {
  const builtin = await busyboxShowDepends('af_packet');
  assert.match(builtin.stderr, /module af_packet is builtin/);
  const absent = await busyboxShowDepends('e1000e');
  assert.match(absent.stderr, /module e1000e not found in modules.dep/);
});

test('a packed set that lacks a dependency is an input error', () => {
  const withoutDeps = resolution.modules.filter((m) => m.info.name !== 'virtio_ring').map((m) => m.info);
  assert.throws(() => renderModuleIndexFiles(index, withoutDeps), (error: unknown) => {
    assert.ok(error instanceof RambootError);
    assert.match(error.message, /virtio(_net)? is packed without virtio_ring/);
    return true;
  });
});

test('rendering is deterministic and independent of the order modules are passed in', () => {
  const reversed = renderModuleIndexFiles(index, [...resolution.modules].reverse().map((m) => m.info));
  assert.deepEqual(reversed, files);
});
