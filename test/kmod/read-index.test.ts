import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModuleIndex } from '../../src/kmod/index.ts';
import { parseBuiltinModinfoAliases, parseModulesAlias, parseModulesDep, parseModulesSoftdep } from '../../src/kmod/index-files.ts';
import { decompressEach, xzUncompressedSize, zstdContentSize } from '../../src/kmod/batch-decompress.ts';
import { RambootError } from '../../src/errors.ts';
import { runTool } from '../../src/util/run-tool.ts';
import { debianKernel } from '../fixtures/kmod/kernel-oracle.ts';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ramboot-kmod-read-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

test('parseModulesDep: relative and absolute paths, comments, empty dependency lists', () => {
  const dir = '/r/lib/modules/6.1.0-1-amd64';
  const deps = parseModulesDep(`# generated\nkernel/a.ko: kernel/c.ko kernel/b.ko\n${dir}/kernel/b.ko:\n\nkernel/c.ko:\t${dir}/kernel/b.ko\n`, dir);
  assert.deepEqual([...deps], [
    ['kernel/a.ko', ['kernel/c.ko', 'kernel/b.ko']],
    ['kernel/b.ko', []],
    ['kernel/c.ko', ['kernel/b.ko']],
  ]);
});

test('parseModulesAlias / parseModulesSoftdep: grouped per canonical module name, lines merged', () => {
  const aliases = parseModulesAlias('# Aliases extracted from modules themselves.\nalias fs-squashfs squashfs\nalias crypto-lzo-rle lzo-rle\nalias lzo-rle lzo_rle\nalias broken\n');
  assert.deepEqual([...aliases], [['squashfs', ['fs-squashfs']], ['lzo_rle', ['crypto-lzo-rle', 'lzo-rle']]]);
  const softdeps = parseModulesSoftdep('softdep btrfs pre: blake2b-256\nsoftdep btrfs pre: sha256 post: x\nsoftdep cifs ecb\n');
  assert.deepEqual(softdeps.get('btrfs'), { pre: ['blake2b-256', 'sha256'], post: ['x'] });
  assert.deepEqual(softdeps.get('cifs'), { pre: [], post: [] });
});

test('parseBuiltinModinfoAliases: only alias keys, names canonical', () => {
  const data = Buffer.from('af_packet.alias=net-pf-17\0af_packet.license=GPL\0crc32c-generic.alias=crc32c\0mmiotrace.parm=x:y\0');
  assert.deepEqual(parseBuiltinModinfoAliases(data), [
    { name: 'af_packet', alias: 'net-pf-17' },
    { name: 'crc32c_generic', alias: 'crc32c' },
  ]);
});

test('readModuleIndex: a missing directory is an input error with a hint', async () => {
  await assert.rejects(readModuleIndex(join(scratch, 'lib/modules/9.9.9')), (error: unknown) => {
    assert.ok(error instanceof RambootError && error.code === 'input');
    assert.match(error.message, /9\.9\.9 does not exist/);
    assert.ok(error.hint);
    return true;
  });
});

test('readModuleIndex without modules.dep: updates/ wins over kernel/ for the same name, with a warning', async () => {
  const kernel = await debianKernel();
  const dir = join(scratch, 'lib/modules/6.1.0-test');
  for (const rel of ['kernel/fs/squashfs/squashfs.ko', 'updates/dkms/squashfs.ko', 'kernel/drivers/block/zram/zram.ko', 'kernel/mm/zsmalloc.ko']) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await copyFile(join(kernel.modulesDir, rel.startsWith('updates/') ? 'kernel/fs/squashfs/squashfs.ko' : rel), join(dir, rel));
  }
  await writeFile(join(dir, 'modules.builtin'), 'kernel/net/packet/af_packet.ko\n');
  const index = await readModuleIndex(dir);
  assert.equal(index.kver, '6.1.0-test');
  assert.deepEqual([...index.modules.keys()].sort(), ['squashfs', 'zram', 'zsmalloc']);
  assert.equal(index.modules.get('squashfs')!.path, 'updates/dkms/squashfs.ko');
  assert.match(index.warnings.join('\n'), /module squashfs exists as .*using updates\/dkms\/squashfs\.ko/);
  assert.deepEqual([...index.builtin], ['af_packet']);
});

test('readModuleIndex: a stale modules.dep naming a missing file is an input error naming it', async () => {
  const dir = join(scratch, 'lib/modules/6.1.0-stale');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'modules.dep'), 'kernel/gone/gone.ko:\n');
  await assert.rejects(readModuleIndex(dir), /cannot read module .*kernel\/gone\/gone\.ko: ENOENT/);
});

test('readModuleIndex reads inside its root: module links resolve there, and with no root the modules dir is the root', async () => {
  const kernel = await debianKernel();
  const root = join(scratch, 'confined');
  const dir = join(root, 'lib/modules/6.1.0-confined');
  await mkdir(join(dir, 'kernel'), { recursive: true });
  await mkdir(join(root, 'opt'), { recursive: true });
  await copyFile(join(kernel.modulesDir, 'kernel/fs/squashfs/squashfs.ko'), join(root, 'opt/squashfs.ko'));
  await copyFile(join(kernel.modulesDir, 'kernel/mm/zsmalloc.ko'), join(dir, 'kernel/zsmalloc.ko'));
  await symlink('/opt/squashfs.ko', join(dir, 'kernel/squashfs.ko'));
  // Inside the root, /opt/squashfs.ko is the root's file.
  const index = await readModuleIndex(dir, { root });
  assert.deepEqual([...index.modules.keys()].sort(), ['squashfs', 'zsmalloc']);
  assert.equal(index.dirInRoot, '/lib/modules/6.1.0-confined');
  // The modules dir alone as the root: /opt/squashfs.ko is not in it, so there is no such module.
  assert.deepEqual([...(await readModuleIndex(dir)).modules.keys()], ['zsmalloc']);
  await writeFile(join(dir, 'modules.dep'), 'kernel/squashfs.ko:\n');
  await assert.rejects(readModuleIndex(dir), /cannot read module \/kernel\/squashfs\.ko: ENOENT, not in the root/);
  await assert.rejects(readModuleIndex(dir, { root: join(scratch, 'elsewhere') }), /is not inside the root/);
});

test('container sizes: zstd frame header and xz index give the decompressed size', async () => {
  const dir = join(scratch, 'sizes');
  await mkdir(dir, { recursive: true });
  for (const size of [0, 1, 255, 256, 300, 65_791, 70_000, 1_000_000]) {
    const file = join(dir, `p${size}`);
    await writeFile(file, Buffer.alloc(size, 7));
    await runTool('zstd', ['-q', '-k', '-f', file]);
    await runTool('xz', ['-q', '-k', '-f', '--check=crc32', file]);
    const zst = await readFile(`${file}.zst`);
    const xz = await readFile(`${file}.xz`);
    assert.equal(zstdContentSize(zst.subarray(0, 18)), size, `zstd ${size}`);
    assert.equal(xzUncompressedSize(xz.subarray(-4096), xz.length), size, `xz ${size}`);
  }
  // Two concatenated xz streams are not a single-stream file: the size is not trusted.
  const one = await readFile(join(dir, 'p300.xz'));
  const two = Buffer.concat([one, one]);
  assert.equal(xzUncompressedSize(two.subarray(-4096), two.length), undefined);
  assert.equal(zstdContentSize(Buffer.from('not zstd at all')), undefined);
});

test('batched decompression cuts at each size, and falls back per file when a size is wrong', async () => {
  const dir = join(scratch, 'batch');
  await mkdir(dir, { recursive: true });
  const payload = (n: number, fill: number) => Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(n, fill)]);
  const expected: Buffer[] = [];
  const files: string[] = [];
  for (const [i, n] of [100, 5_000, 123_457, 7].entries()) {
    const file = join(dir, `m${i}`);
    await writeFile(file, payload(n, i));
    await runTool('zstd', ['-q', '-f', '--rm', file]);
    files.push(`${file}.zst`);
    expected.push(payload(n, i));
  }
  const seen = new Map<number, Buffer>();
  await decompressEach('zstd', files, 2, (i, bytes) => void seen.set(i, Buffer.from(bytes)));
  assert.deepEqual([...seen.keys()].sort(), [0, 1, 2, 3]);
  for (const [i, bytes] of expected.entries()) assert.ok(seen.get(i)!.equals(bytes), `file ${i}`);

  // Two frames in one file: the first frame's size undercounts, the batch total does not add up.
  const two = join(dir, 'two.zst');
  await writeFile(two, Buffer.concat([await readFile(files[0]!), await readFile(files[3]!)]));
  const mixed = [files[1]!, two, files[2]!];
  const got = new Map<number, Buffer>();
  await decompressEach('zstd', mixed, 1, (i, bytes) => void got.set(i, Buffer.from(bytes)));
  assert.ok(got.get(1)!.equals(Buffer.concat([expected[0]!, expected[3]!])));
  assert.ok(got.get(0)!.equals(expected[1]!) && got.get(2)!.equals(expected[2]!));
});
