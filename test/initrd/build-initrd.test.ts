// The initrd as built from a root around the real Debian cloud kernel: what is inside, that it
// is the same bytes twice, and that bad inputs fail with one line naming cause and fix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, copyFileSync, existsSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel, type DebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';

let work: string;
let root: string;
let kernel: DebianKernel;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-initrd-'));
  kernel = await fetchDebianKernel('cloud-amd64');
  root = await makeDemoRoot({ dir: join(work, 'root'), kernel });
});
after(() => rmSync(work, { recursive: true, force: true }));

function unpack(path: string) {
  const raw = execFileSync('zstd', ['-dc', path], { maxBuffer: 1 << 30 });
  return new Map(decodeNewc(raw).map((e) => [e.path, e]));
}

test('the initrd holds /init, busybox, the contract, the console node and the module closure', async () => {
  const sha = 'd'.repeat(64);
  const result = await buildInitrd({ root, out: join(work, 'a.img'), rootfsSha256: sha, rootfsSize: 12345 });
  const entries = unpack(result.path);
  const init = entries.get('init');
  assert.ok(init && init.type === 'file' && (init.mode & 0o111) !== 0, '/init is an executable file');
  assert.match(init.data.toString(), /^#!\/bin\/sh/);
  assert.equal(entries.get('bin/busybox')?.type, 'file');
  assert.equal(entries.get('sbin/switch_root')?.linkTarget, '../bin/busybox');
  const consoleNode = entries.get('dev/console');
  assert.deepEqual([consoleNode?.type, consoleNode?.rdevMajor, consoleNode?.rdevMinor], ['chardev', 5, 1]);
  const conf = entries.get('etc/ram.conf')!.data.toString();
  assert.match(conf, new RegExp(`^RAM_ROOTSHA256='${sha}'$`, 'm'));
  assert.match(conf, /^RAM_ROOTSIZE='12345'$/m);
  assert.match(conf, new RegExp(`^RAM_KVER='${kernel.kver}'$`, 'm'));
  const base = `lib/modules/${kernel.kver}`;
  for (const name of ['squashfs', 'overlay', 'loop', 'zram', 'lzo-rle', 'virtio_net', 'net_failover', 'failover']) {
    assert.ok([...entries.keys()].some((p) => p.startsWith(`${base}/kernel/`) && p.endsWith(`/${name}.ko`)), `${name}.ko packed`);
  }
  const dep = entries.get(`${base}/modules.dep`)!.data.toString();
  assert.match(dep, /virtio_net\.ko: .*net_failover\.ko/);
  // Only what stands for no device is force-loaded; NIC drivers wait for coldplug to find their device.
  assert.match(conf, /^RAM_FORCE_LOAD='loop lzo_rle overlay squashfs zram'$/m);
  assert.ok(result.builtin.includes('af_packet'), 'af_packet is built into the cloud kernel');
  assert.ok(![...entries.keys()].some((p) => p.endsWith('/e1000.ko')), 'NIC drivers the kernel lacks are skipped');
  for (const entry of entries.values()) assert.equal(entry.uid, 0);
});

test('same inputs, same bytes; SOURCE_DATE_EPOCH sets every timestamp', async () => {
  const a = await buildInitrd({ root, out: join(work, 'r1.img'), mtime: 1700000000 });
  const b = await buildInitrd({ root, out: join(work, 'r2.img'), mtime: 1700000000 });
  assert.equal(a.sha256, b.sha256);
  const times = new Set([...unpack(a.path).values()].map((e) => e.mtime));
  assert.deepEqual([...times], [1700000000]);
});

test('every compression the kernel accepts', async () => {
  const magic: Record<string, string> = { gzip: '1f8b', xz: 'fd377a58', lz4: '02214c18', none: '30373037' };
  for (const compression of ['gzip', 'xz', 'lz4', 'none'] as const) {
    const r = await buildInitrd({ root, out: join(work, `c.${compression}`), compression, level: compression === 'xz' ? 1 : undefined });
    assert.equal(readFileSync(r.path).subarray(0, magic[compression]!.length / 2).toString('hex'), magic[compression]);
  }
});

test('a module the kernel lacks, asked for with --modules, fails the build naming it', async () => {
  await assert.rejects(buildInitrd({ root, out: join(work, 'm.img'), add: ['e1000e'] }), /has no module e1000e \(--modules\)/);
  assert.ok(!existsSync(join(work, 'm.img')));
  assert.deepEqual(readdirSync(work).filter((n) => n.includes('.tmp-')), [], 'no temp file left');
});

test('--omit-modules of a dependency that a packed module needs is an error', async () => {
  await assert.rejects(buildInitrd({ root, out: join(work, 'o.img'), omit: ['failover'] }), /--omit-modules failover conflicts with/);
});

test('two kernels and no --kver lists both', async () => {
  const two = join(work, 'two');
  execFileSync('cp', ['-a', root, two]);
  copyFileSync(join(two, 'boot', `vmlinuz-${kernel.kver}`), join(two, 'boot', 'vmlinuz-9.9.9-test'));
  await assert.rejects(buildInitrd({ root: two, out: join(work, 't.img') }), new RegExp(`has 2 kernels: ${kernel.kver.replaceAll('.', '\\.')}, 9\\.9\\.9-test`));
  await assert.rejects(buildInitrd({ root: two, out: join(work, 't.img'), kver: '9.9.9-test' }), /no \/lib\/modules\/9\.9\.9-test/);
});

test('extraHookDirs: stage scripts go to /lib/ramboot/hooks/<point>/NN-<hook>-<file> in hook order; a bad point names the hook', async () => {
  const dir = join(work, 'extra-hooks');
  mkdirSync(join(dir, 'site-b'), { recursive: true });
  mkdirSync(join(dir, 'site-a'), { recursive: true });
  writeFileSync(join(dir, 'site-a/hook.json'), JSON.stringify({ description: 'a', after: ['site-b'], stageScripts: { 'before-mount': ['x.sh'] } }));
  writeFileSync(join(dir, 'site-a/x.sh'), 'echo A\n');
  writeFileSync(join(dir, 'site-b/hook.json'), JSON.stringify({ description: 'b', stageScripts: { 'before-mount': ['y.sh'], 'after-fetch': ['z.sh'] } }));
  writeFileSync(join(dir, 'site-b/y.sh'), 'echo B\n');
  writeFileSync(join(dir, 'site-b/z.sh'), 'echo Z\n');
  const result = await buildInitrd({ root, out: join(work, 'hooks.img'), extraHookDirs: [dir] });
  assert.ok(result.hooks.indexOf('site-b') < result.hooks.indexOf('site-a'));
  const scripts = [...unpack(result.path).entries()].filter(([p, e]) => p.startsWith('lib/ramboot/hooks/') && e.type === 'file');
  assert.deepEqual(scripts.map(([p, e]) => [p, e.data.toString(), e.mode & 0o777]), [
    ['lib/ramboot/hooks/after-fetch/01-site-b-z.sh', 'echo Z\n', 0o755],
    ['lib/ramboot/hooks/before-mount/01-site-b-y.sh', 'echo B\n', 0o755],
    ['lib/ramboot/hooks/before-mount/02-site-a-x.sh', 'echo A\n', 0o755],
  ]);

  writeFileSync(join(dir, 'site-a/hook.json'), JSON.stringify({ description: 'a', stageScripts: { 'before-mounting': ['x.sh'] } }));
  await assert.rejects(buildInitrd({ root, out: join(work, 'bad.img'), extraHookDirs: [dir] }), /hooks\/site-a\/hook.json: "stageScripts" names unknown stage point "before-mounting"/);
});
