// With depmod's index files, a build reads .modinfo (firmware=, weakdep=) only of the modules it
// packs, from the same bytes it packs; and `initrd --explain` says what each file costs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { costGroup, measureFileCosts, renderFileCosts } from '../../src/initrd/file-costs.ts';
import { readModuleFiles, readModuleIndex } from '../../src/kmod/index.ts';
import { KVER, makeFakeRoot, moduleElf, SHIPPED_HOOK_BUILTIN, SHIPPED_HOOK_MODULES, writeRootFile } from './fake-root.ts';

let work: string;
let root: string;
const dir = () => join(root, 'lib/modules', KVER);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-on-demand-'));
  root = join(work, 'root');
  makeFakeRoot(root, [...SHIPPED_HOOK_MODULES, { path: 'kernel/drivers/net/fwnic.ko.zst', firmware: ['acme/fw.bin'], aliases: ['pci:v0000AAAAd*'] }], SHIPPED_HOOK_BUILTIN);
  writeRootFile(root, `lib/modules/${KVER}/kernel/drivers/net/weaknic.ko`, moduleElf({ name: 'weaknic', weakdep: 'weakhelper' }));
  writeRootFile(root, `lib/modules/${KVER}/kernel/lib/weakhelper.ko`, moduleElf({ name: 'weakhelper' }));
  writeRootFile(root, 'lib/firmware/acme/fw.bin', 'firmware bytes');
  // depmod's files, with a stale line naming a module file that is gone.
  const modules = [...SHIPPED_HOOK_MODULES.map((m) => m.path), 'kernel/drivers/net/fwnic.ko.zst', 'kernel/drivers/net/weaknic.ko', 'kernel/lib/weakhelper.ko', 'kernel/gone/gone.ko'];
  const deps: Record<string, string> = { 'kernel/drivers/block/zram/zram.ko': ' kernel/drivers/block/zram/zsmalloc.ko' };
  writeRootFile(root, `lib/modules/${KVER}/modules.dep`, modules.map((p) => `${p}:${deps[p] ?? ''}\n`).join(''));
  writeRootFile(root, `lib/modules/${KVER}/modules.alias`, 'alias fs-squashfs squashfs\nalias pci:v0000AAAAd* fwnic\n');
  writeRootFile(root, `lib/modules/${KVER}/modules.softdep`, '# Soft dependencies extracted from modules themselves.\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

test('on-demand index: no .modinfo read up front; readModuleFiles reads it from the packed bytes', async () => {
  // Read up front, every module is opened, and the stale line fails the whole read.
  await assert.rejects(readModuleIndex(dir(), { root }), /cannot read module .*kernel\/gone\/gone\.ko: ENOENT/);
  const index = await readModuleIndex(dir(), { root, modinfo: 'on-demand' });
  assert.equal(index.source, 'modules.dep');
  assert.equal(index.modinfoUnread?.size, index.modules.size);
  const fwnic = index.modules.get('fwnic')!;
  assert.deepEqual(fwnic.firmware, []);
  assert.deepEqual(fwnic.aliases, ['pci:v0000AAAAd*'], 'aliases come from modules.alias');
  const [bytes] = await readModuleFiles(index, [fwnic]);
  assert.equal(bytes!.readUInt32BE(0), 0x7f454c46, 'the .ko.zst comes back decompressed');
  assert.deepEqual(fwnic.firmware, ['acme/fw.bin']);
  assert.equal(index.modinfoUnread?.has('fwnic'), false);
  assert.equal(index.modinfoUnread?.has('weaknic'), true);
  // Without modules.softdep (or .dep, .alias) the facts must come from .modinfo: read now.
  const copy = join(work, 'no-softdep');
  execFileSync('cp', ['-a', root, copy]);
  rmSync(join(copy, 'lib/modules', KVER, 'modules.softdep'));
  rmSync(join(copy, 'lib/modules', KVER, 'modules.dep'));
  const full = await readModuleIndex(join(copy, 'lib/modules', KVER), { root: copy, modinfo: 'on-demand' });
  assert.equal(full.modinfoUnread, undefined);
  assert.deepEqual(full.modules.get('fwnic')!.firmware, ['acme/fw.bin']);
});

test('a build packs the firmware and weakdeps it learns from the packed modules; an unpacked stale line is no error', async () => {
  const out = join(work, 'initrd.img');
  const result = await buildInitrd({ root, out, compression: 'none', add: ['fwnic', 'weaknic'] });
  const names = result.modules.map((m) => m.info.name);
  assert.ok(names.includes('weakhelper'), `weakhelper missing from ${names.join(' ')}`);
  assert.match(result.modules.find((m) => m.info.name === 'weakhelper')!.reasons.join(';'), /weakdep of weaknic/);
  assert.deepEqual(result.firmware, ['lib/firmware/acme/fw.bin']);
  const entries = new Map(decodeNewc(readFileSync(out)).map((e) => [e.path, e]));
  assert.equal(entries.get('lib/firmware/acme/fw.bin')?.data.toString(), 'firmware bytes');
  assert.ok(entries.has(`lib/modules/${KVER}/kernel/drivers/net/fwnic.ko`));
  assert.ok(!entries.has(`lib/modules/${KVER}/kernel/gone/gone.ko`));
});

test('file costs: every packed file with its size and its compressed estimate, largest first', async () => {
  const out = join(work, 'costs.img');
  const result = await buildInitrd({ root, out, compression: 'zstd', level: 6 });
  const costs = await measureFileCosts(out, 'zstd', 6);
  const busybox = costs.find((c) => c.path === 'bin/busybox')!;
  assert.equal(busybox.bytes, readFileSync(result.busybox.path).length);
  assert.ok(busybox.compressed > 0 && busybox.compressed < busybox.bytes);
  assert.equal(costs[0], busybox, 'busybox is the largest file here');
  for (let i = 1; i < costs.length; i++) assert.ok(costs[i - 1]!.compressed >= costs[i]!.compressed);
  assert.equal(costGroup(`lib/modules/${KVER}/kernel/fs/squashfs/squashfs.ko`), 'kernel modules');
  assert.equal(costGroup('init'), 'boot scripts');
  const text = renderFileCosts(costs, 'zstd', 6, result.size);
  assert.match(text, /^sizes: the image is [\d.]+ [kM]B; each file below is zstd -6 of that file alone/);
  assert.match(text, /^ +[\d.]+ [kM]B {2}busybox: 1 file, [\d.]+ MB unpacked$/m);
  assert.match(text, /^ +[\d.]+ [kM]B +[\d.]+ [kM]B {2}\/bin\/busybox$/m);
});

test('initrd --explain prints each module\'s size and the cost of every file', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', join(work, 'cli.img'), '--explain'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^squashfs \[force-load\] {2}kernel\/fs\/squashfs\/squashfs\.ko\n {4}hook ram-boot \(force-load\): squashfs\n {4}size [\d.]+ kB, ~[\d.]+ kB compressed$/m);
  assert.match(r.stdout, /^sizes: the image is /m);
  assert.match(r.stdout, /\/lib\/modules\/9\.9\.9-test\/modules\.dep$/m);
});
