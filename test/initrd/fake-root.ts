// A fake kernel root for builder tests: /boot/vmlinuz-KVER and lib/modules/KVER holding tiny ELF
// modules whose only content is a .modinfo section, so each test gives them the aliases,
// depends= and firmware= it needs. There is no modules.dep: everything comes from .modinfo, as
// for a bare .deb unpack. Shared by test/initrd/ and test/rootfs/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const KVER = '9.9.9-test';

/** An ELF64 little-endian relocatable with three sections: null, .modinfo, .shstrtab (System V
 * gABI layout: header, section contents, then the section header table). */
export function moduleElf(modinfo: Record<string, string | string[]>): Buffer {
  const pairs = Object.entries(modinfo).flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${key}=${v}\0`));
  const info = Buffer.from(pairs.join(''));
  const names = Buffer.from('\0.modinfo\0.shstrtab\0');
  const infoOff = 64;
  const namesOff = infoOff + info.length;
  const shoff = Math.ceil((namesOff + names.length) / 8) * 8;
  const out = Buffer.alloc(shoff + 3 * 64);
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = 2; // ELFCLASS64
  out[5] = 1; // little-endian
  out[6] = 1; // EV_CURRENT
  out.writeUInt16LE(1, 16); // ET_REL
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 0x28);
  out.writeUInt16LE(64, 0x34); // e_ehsize
  out.writeUInt16LE(64, 0x3a); // e_shentsize
  out.writeUInt16LE(3, 0x3c); // e_shnum
  out.writeUInt16LE(2, 0x3e); // e_shstrndx
  info.copy(out, infoOff);
  names.copy(out, namesOff);
  const section = (i: number, name: number, type: number, offset: number, size: number) => {
    const at = shoff + i * 64;
    out.writeUInt32LE(name, at);
    out.writeUInt32LE(type, at + 4);
    out.writeBigUInt64LE(BigInt(offset), at + 24);
    out.writeBigUInt64LE(BigInt(size), at + 32);
    out.writeBigUInt64LE(1n, at + 48);
  };
  section(1, 1, 1, infoOff, info.length); // SHT_PROGBITS
  section(2, 10, 3, namesOff, names.length); // SHT_STRTAB
  return out;
}

export interface FakeModule {
  /** Under lib/modules/KVER; a .ko.xz / .ko.zst name is written compressed. */
  path: string;
  depends?: string[];
  aliases?: string[];
  firmware?: string[];
}

/** A file under root, optionally compressed to NAME.zst / NAME.xz; returns the plain bytes. */
export function writeRootFile(root: string, rel: string, content: string | Buffer, compress?: 'zst' | 'xz'): Buffer {
  const file = join(root, rel.replace(/\.(xz|zst)$/, ''));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (compress === 'zst') execFileSync('zstd', ['-q', '--rm', file]);
  if (compress === 'xz') execFileSync('xz', ['--check=crc32', file]);
  return Buffer.from(content);
}

export function makeFakeRoot(root: string, modules: FakeModule[], builtin: string[]): void {
  writeRootFile(root, `boot/vmlinuz-${KVER}`, 'not really a kernel');
  for (const m of modules) {
    const name = m.path.replace(/^.*\//, '').replace(/\.ko(\..*)?$/, '');
    const elf = moduleElf({ name, depends: (m.depends ?? []).join(','), alias: m.aliases ?? [], firmware: m.firmware ?? [], vermagic: `${KVER} SMP mod_unload` });
    const compress = m.path.endsWith('.xz') ? 'xz' : m.path.endsWith('.zst') ? 'zst' : undefined;
    writeRootFile(root, `lib/modules/${KVER}/${m.path}`, elf, compress);
  }
  writeRootFile(root, `lib/modules/${KVER}/modules.builtin`, builtin.map((p) => `${p}\n`).join(''));
}

/** The modules the shipped hooks require (ram-boot, zram), so buildInitrd succeeds on the root. */
export const SHIPPED_HOOK_MODULES: FakeModule[] = [
  { path: 'kernel/drivers/block/zram/zsmalloc.ko' },
  { path: 'kernel/drivers/block/zram/zram.ko', depends: ['zsmalloc'], aliases: ['devname:zram-control'] },
  { path: 'kernel/fs/squashfs/squashfs.ko', aliases: ['fs-squashfs'] },
  { path: 'kernel/fs/overlayfs/overlay.ko', aliases: ['fs-overlay'] },
  { path: 'kernel/drivers/block/loop.ko', aliases: ['devname:loop-control', 'block-major-7-*'] },
  { path: 'kernel/crypto/lzo-rle.ko', aliases: ['crypto-lzo-rle', 'lzo-rle'] },
];

/** modules.builtin lines that satisfy the shipped hooks' af_packet force-load. */
export const SHIPPED_HOOK_BUILTIN = ['kernel/net/packet/af_packet.ko'];
