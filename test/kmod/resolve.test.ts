import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readModuleIndex, resolveModules, type ModuleIndex, type ModuleInfo, type ModuleRequest } from '../../src/kmod/index.ts';
import { globMatch, normalizeAlias } from '../../src/kmod/alias.ts';
import { RambootError } from '../../src/errors.ts';
import { debianKernel } from '../fixtures/kmod/kernel-oracle.ts';

let index: ModuleIndex;
before(async () => {
  index = await readModuleIndex((await debianKernel()).modulesDir);
});

const req = (spec: string, extra: Partial<ModuleRequest> = {}): ModuleRequest => ({ spec, reason: 'hook netboot', ...extra });
const names = (specs: string[]) => resolveModules(index, specs.map((s) => req(s))).modules.map((m) => m.info.name);

test('fs-squashfs (an alias) gives squashfs', () => {
  const r = resolveModules(index, [req('fs-squashfs')]);
  assert.deepEqual(r.modules.map((m) => m.info.name), ['squashfs']);
  assert.deepEqual(r.modules[0]!.reasons, ['hook netboot: fs-squashfs']);
  assert.deepEqual([r.builtin, r.missing], [[], []]);
});

test("virtio_net's device modalias gives virtio_net and its dependencies, with reasons", () => {
  const r = resolveModules(index, [req('virtio:d00000001v00001AF4')]);
  const byName = new Map(r.modules.map((m) => [m.info.name, m.reasons]));
  assert.deepEqual([...byName.keys()].sort(), ['failover', 'net_failover', 'virtio', 'virtio_net', 'virtio_ring']);
  assert.deepEqual(byName.get('virtio_net'), ['hook netboot: virtio:d00000001v00001AF4']);
  assert.ok(byName.get('virtio_ring')!.includes('dependency of virtio_net'));
  assert.deepEqual(byName.get('failover'), ['dependency of net_failover']);
});

test("module names: '-' and '_' are the same; lzo-rle and crypto-lzo-rle find lzo_rle", () => {
  assert.deepEqual(names(['virtio-net']), names(['virtio_net']));
  assert.ok(names(['lzo-rle']).includes('lzo_rle'));
  assert.ok(names(['crypto-lzo-rle']).includes('lzo_rle'));
});

test('a directory prefix gives every module under it, and nothing else', () => {
  const r = resolveModules(index, [req('kernel/drivers/net/', { reason: 'hook nics' })]);
  const direct = r.modules.filter((m) => m.reasons.includes('hook nics: kernel/drivers/net/'));
  const expected = [...index.modules.values()].filter((m) => m.path.startsWith('kernel/drivers/net/'));
  assert.ok(expected.length > 20);
  assert.deepEqual(direct.map((m) => m.info.name).sort(), expected.map((m) => m.name).sort());
  // Dependencies outside the prefix come along (virtio_net needs kernel/drivers/virtio/...).
  assert.ok(r.modules.some((m) => m.info.path.startsWith('kernel/drivers/virtio/')));
});

test('a module path finds that module, compressed suffix or not', () => {
  assert.deepEqual(names(['kernel/fs/squashfs/squashfs.ko']), ['squashfs']);
});

test('built-in modules (af_packet, by name or by an alias of built-in code) land in builtin', () => {
  assert.ok(index.builtin.has('af_packet'));
  const r = resolveModules(index, [req('af_packet'), req('af-packet'), req('net-pf-17')]);
  assert.deepEqual(r.modules, []);
  assert.deepEqual(r.builtin, ['af_packet']);
  assert.deepEqual(r.missing, []);
});

test('unknown names land in missing, optional ones too', () => {
  const unknown = req('no_such_module');
  const optional = req('pci:v0000FFFFd0000FFFFsv0sd0bc0sc0i0', { optional: true });
  const r = resolveModules(index, [req('squashfs'), unknown, optional, req('kernel/no/such/dir/')]);
  assert.deepEqual(r.missing.map((m) => m.spec), ['no_such_module', 'pci:v0000FFFFd0000FFFFsv0sd0bc0sc0i0', 'kernel/no/such/dir/']);
  assert.equal(r.missing[1], optional);
  assert.deepEqual(r.modules.map((m) => m.info.name), ['squashfs']);
});

test('softdeps that name modules come along (btrfs: pre blake2b-256, crypto-crc32c); softdeps: false drops them', () => {
  const withSoft = names(['btrfs']);
  assert.ok(withSoft.includes('blake2b_generic') && withSoft.includes('crc32c_intel'), withSoft.join(' '));
  const hardOnly = resolveModules(index, [req('btrfs')], { softdeps: false }).modules.map((m) => m.info.name);
  assert.ok(!hardOnly.includes('blake2b_generic'));
  assert.deepEqual(hardOnly.sort(), ['btrfs', 'libcrc32c', 'raid6_pq', 'xor', 'zstd_compress']);
});

function assertTopological(modules: readonly { info: ModuleInfo }[]): void {
  const position = new Map(modules.map((m, i) => [m.info.name, i]));
  for (const [i, m] of modules.entries()) {
    for (const dep of m.info.depends) {
      if (index.builtin.has(dep)) continue;
      const at = position.get(dep);
      assert.ok(at !== undefined, `${dep} (dependency of ${m.info.name}) is missing`);
      assert.ok(at < i, `${dep} comes after ${m.info.name}, which depends on it`);
    }
  }
}

test('topological order: every module after all of its dependencies, for the whole kernel', () => {
  const r = resolveModules(index, [req('kernel/')]);
  assert.equal(r.modules.length, index.modules.size);
  assertTopological(r.modules);
});

test('pre-softdeps load before their module and post-softdeps after it', () => {
  const order = names(['btrfs', 'act_mpls']);
  assert.ok(order.indexOf('blake2b_generic') < order.indexOf('btrfs'));
  assert.ok(order.indexOf('act_mpls') < order.indexOf('mpls_gso'));
});

test('deterministic: same input, same order; request order does not change module order', () => {
  const specs = ['nfsv4', 'virtio_net', 'squashfs', 'btrfs', 'overlay', 'zram', 'kernel/drivers/block/'];
  const first = resolveModules(index, specs.map((s) => req(s)));
  assertTopological(first.modules);
  const again = resolveModules(index, specs.map((s) => req(s)));
  assert.deepEqual(again, first);
  const reversed = resolveModules(index, [...specs].reverse().map((s) => req(s)));
  assert.deepEqual(reversed.modules.map((m) => m.info.name), first.modules.map((m) => m.info.name));
});

test('a dependency nobody has is an input error naming both modules', () => {
  const broken: ModuleIndex = { ...index, modules: new Map(index.modules) };
  const squashfs = broken.modules.get('squashfs')!;
  broken.modules.set('squashfs', { ...squashfs, depends: ['ghost_module'] });
  assert.throws(() => resolveModules(broken, [req('squashfs')]), (error: unknown) => {
    assert.ok(error instanceof RambootError && error.code === 'input');
    assert.match(error.message, /squashfs .*depends on ghost_module/);
    return true;
  });
});

test('a softdep cycle is broken without breaking hard dependency order', () => {
  const info = (name: string, extra: Partial<ModuleInfo>): ModuleInfo => ({
    name, path: `kernel/${name}.ko`, depends: [], softdepPre: [], softdepPost: [], weakdeps: [], aliases: [], firmware: [], ...extra,
  });
  const modules = new Map([
    ['a', info('a', { softdepPre: ['b'] })],
    ['b', info('b', { depends: ['a'] })],
    ['c', info('c', { softdepPre: ['d'] })],
    ['d', info('d', { softdepPre: ['c'] })],
  ]);
  const tiny: ModuleIndex = { ...index, modules, builtin: new Set(), builtinAliases: new Map(), builtinPaths: [] };
  const order = resolveModules(tiny, [req('a'), req('c')]).modules.map((m) => m.info.name);
  assert.deepEqual(order, ['a', 'b', 'c', 'd']);
});

test('glob matching follows fnmatch: *, ?, [sets], [!negation], literal [ and escapes', () => {
  assert.ok(globMatch('pci:v00008086d*sv*', 'pci:v00008086d000010D3sv00001028'));
  assert.ok(!globMatch('pci:v00008086d*sv*', 'pci:v00008087d000010D3sv00001028'));
  assert.ok(globMatch('a?c', 'abc') && !globMatch('a?c', 'ac'));
  assert.ok(globMatch('x[0-9]y', 'x5y') && !globMatch('x[0-9]y', 'xay'));
  assert.ok(globMatch('x[!0-9]y', 'xay') && !globMatch('x[!0-9]y', 'x5y'));
  assert.ok(globMatch('x[]]y', 'x]y'));
  assert.ok(globMatch('a[b', 'a[b'));
  assert.ok(globMatch('a\\*b', 'a*b') && !globMatch('a\\*b', 'axb'));
  assert.ok(globMatch('*', '') && globMatch('dev*/tun', 'devname:net/tun'));
  assert.ok(globMatch('*a*a*a', 'aaaa') && !globMatch('*a*a*b', 'aaaa'));
  assert.equal(normalizeAlias('fs-squash[a-z]-x'), 'fs_squash[a-z]_x');
});
