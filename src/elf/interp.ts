// Just enough ELF to tell a static executable from a dynamic one: a dynamic executable has a
// PT_INTERP program header naming its loader (ld-linux). A static busybox has none, which is
// what lets it run in an initrd that carries no libc.
import { open } from 'node:fs/promises';

const PT_INTERP = 3;

export interface ElfKind {
  elf: boolean;
  is64: boolean;
  machine: number;
  interpreter: string | undefined;
}

export async function readElfKind(path: string): Promise<ElfKind> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, 64, 0);
    if (bytesRead < 52 || head.readUInt32BE(0) !== 0x7f454c46) return { elf: false, is64: false, machine: 0, interpreter: undefined };
    const is64 = head[4] === 2;
    const little = head[5] === 1;
    const u16 = (buf: Buffer, off: number) => (little ? buf.readUInt16LE(off) : buf.readUInt16BE(off));
    const u32 = (buf: Buffer, off: number) => (little ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
    const word = (buf: Buffer, off: number) => (is64 ? Number(little ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off)) : u32(buf, off));
    const machine = u16(head, 18);
    const phoff = word(head, is64 ? 32 : 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const ph = i * phentsize;
      if (u32(table, ph) !== PT_INTERP) continue;
      const offset = word(table, ph + (is64 ? 8 : 4));
      const size = word(table, ph + (is64 ? 32 : 16));
      const name = Buffer.alloc(size);
      await handle.read(name, 0, size, offset);
      return { elf: true, is64, machine, interpreter: name.toString('latin1').replace(/\0.*$/s, '') };
    }
    return { elf: true, is64, machine, interpreter: undefined };
  } finally {
    await handle.close();
  }
}
