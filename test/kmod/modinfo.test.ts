import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bufferReader, readElfSection } from '../../src/kmod/elf-section.ts';
import { parseModinfo, parseSoftdep, readModinfo } from '../../src/kmod/modinfo.ts';
import { RambootError } from '../../src/errors.ts';
import { debianKernel } from '../fixtures/kmod/kernel-oracle.ts';

async function moduleBytes(rel: string): Promise<{ file: string; bytes: Buffer }> {
  const kernel = await debianKernel();
  const file = join(kernel.modulesDir, rel);
  return { file, bytes: await readFile(file) };
}

test('squashfs.ko: .modinfo gives name, alias fs-squashfs and no dependencies', async () => {
  const { file, bytes } = await moduleBytes('kernel/fs/squashfs/squashfs.ko');
  const info = await readModinfo(bufferReader(bytes), file);
  assert.equal(info.name, 'squashfs');
  assert.deepEqual(info.aliases, ['fs-squashfs']);
  assert.deepEqual(info.depends, []);
  assert.deepEqual(info.firmware, []);
});

test('virtio_net.ko: comma-separated depends=, device alias', async () => {
  const { file, bytes } = await moduleBytes('kernel/drivers/net/virtio_net.ko');
  const info = await readModinfo(bufferReader(bytes), file);
  assert.equal(info.name, 'virtio_net');
  assert.deepEqual([...info.depends].sort(), ['net_failover', 'virtio', 'virtio_ring']);
  assert.ok(info.aliases.includes('virtio:d00000001v*'), info.aliases.join(' '));
});

test('lzo-rle.ko: modinfo name=lzo_rle matches the file name normalized', async () => {
  const { file, bytes } = await moduleBytes('kernel/crypto/lzo-rle.ko');
  const info = await readModinfo(bufferReader(bytes), file);
  assert.equal(info.name, 'lzo_rle');
  assert.ok(info.aliases.includes('crypto-lzo-rle'));
});

test('the section is found through the name table, not by position', async () => {
  const { file, bytes } = await moduleBytes('kernel/fs/squashfs/squashfs.ko');
  const license = await readElfSection(bufferReader(bytes), '.gnu.linkonce.this_module', file);
  assert.ok(license && license.length > 0);
  assert.equal(await readElfSection(bufferReader(bytes), '.no-such-section', file), undefined);
});

test('a non-ELF buffer is an input error naming the file', async () => {
  await assert.rejects(readModinfo(bufferReader(Buffer.from('#!/bin/sh\necho not a module\n')), '/x/fake.ko'), (error: unknown) => {
    assert.ok(error instanceof RambootError);
    assert.equal(error.code, 'input');
    assert.match(error.message, /\/x\/fake\.ko: not an ELF file/);
    return true;
  });
});

test('truncated modules are input errors naming the file, wherever the cut is', async () => {
  const { bytes } = await moduleBytes('kernel/fs/squashfs/squashfs.ko');
  // The section header table ends the ELF part; a signed module has its signature after it.
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const tableEnd = shoff + bytes.readUInt16LE(0x3c) * bytes.readUInt16LE(0x3a);
  assert.ok(tableEnd < bytes.length && bytes.subarray(-28).toString() === '~Module signature appended~\n');
  for (const length of [0, 10, 40, 63, shoff - 1, shoff + 100, tableEnd - 1]) {
    await assert.rejects(readModinfo(bufferReader(bytes.subarray(0, length)), '/x/cut.ko'), (error: unknown) => {
      assert.ok(error instanceof RambootError, `cut at ${length}: ${String(error)}`);
      assert.match(error.message, /^\/x\/cut\.ko: (truncated ELF file|not an ELF file)/, `cut at ${length}`);
      return true;
    });
  }
});

test('an ELF without .modinfo is not a module', async () => {
  const elf = await readFile(process.execPath).catch(() => undefined);
  if (!elf) return;
  await assert.rejects(readModinfo(bufferReader(elf), 'node'), /node: ELF file has no \.modinfo section/);
});

test('parseModinfo: repeated keys, padding NULs, softdep words', () => {
  const section = Buffer.from('alias=a1\0\0\0depends=x-y,z\0firmware=f/one.bin\0alias=a2\0softdep=pre: p1 p2 post: q\0weakdep=w\0junk\0name=m\0');
  const info = parseModinfo(section);
  assert.deepEqual(info.aliases, ['a1', 'a2']);
  assert.deepEqual(info.depends, ['x_y', 'z']);
  assert.deepEqual(info.firmware, ['f/one.bin']);
  assert.deepEqual(info.softdepPre, ['p1', 'p2']);
  assert.deepEqual(info.softdepPost, ['q']);
  assert.deepEqual(info.weakdeps, ['w']);
  assert.equal(info.name, 'm');
  // kmod ignores words before pre:/post: (cifs' MODULE_SOFTDEP("ecb") in 6.1).
  const bare = { pre: [] as string[], post: [] as string[] };
  parseSoftdep('ecb', bare);
  assert.deepEqual(bare, { pre: [], post: [] });
});

test('32-bit big-endian ELF: a hand-built module is read too', async () => {
  // ELF32 MSB, 3 sections: null, .shstrtab, .modinfo.
  const shstr = Buffer.from('\0.shstrtab\0.modinfo\0');
  const modinfo = Buffer.from('alias=be-test\0depends=\0');
  const dataAt = 52;
  const shoff = dataAt + shstr.length + modinfo.length;
  const buf = Buffer.alloc(shoff + 3 * 40);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 1; // ELFCLASS32
  buf[5] = 2; // ELFDATA2MSB
  buf[6] = 1;
  buf.writeUInt32BE(shoff, 0x20);
  buf.writeUInt16BE(40, 0x2e);
  buf.writeUInt16BE(3, 0x30);
  buf.writeUInt16BE(1, 0x32);
  shstr.copy(buf, dataAt);
  modinfo.copy(buf, dataAt + shstr.length);
  const header = (i: number, name: number, offset: number, size: number) => {
    buf.writeUInt32BE(name, shoff + i * 40);
    buf.writeUInt32BE(3, shoff + i * 40 + 4);
    buf.writeUInt32BE(offset, shoff + i * 40 + 16);
    buf.writeUInt32BE(size, shoff + i * 40 + 20);
  };
  header(1, 1, dataAt, shstr.length);
  header(2, 11, dataAt + shstr.length, modinfo.length);
  const info = await readModinfo(bufferReader(buf), 'be.ko');
  assert.deepEqual(info.aliases, ['be-test']);
});
