// Tiny ELF64 little-endian files with just the parts the loader reads (elf(5)): a PT_LOAD
// covering the file (addresses equal offsets), PT_INTERP, and a PT_DYNAMIC section with
// DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRTAB and DT_STRSZ. They never run; they let
// tests set up every search-order case without a compiler on the CI machine.
export interface FakeElf {
  interp?: string;
  needed?: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  /** e_machine, default 62 (x86-64). */
  machine?: number;
}

export function makeElf(spec: FakeElf): Buffer {
  const phnum = 3;
  const strStart = 64 + 56 * phnum;
  const strings: string[] = [''];
  const offsetOf = (s: string) => {
    let at = 0;
    for (const t of strings) {
      if (t === s) return at;
      at += Buffer.byteLength(t) + 1;
    }
    strings.push(s);
    return at;
  };
  const dyn: [number, number][] = [];
  for (const n of spec.needed ?? []) dyn.push([1, offsetOf(n)]);
  if (spec.soname !== undefined) dyn.push([14, offsetOf(spec.soname)]);
  if (spec.rpath !== undefined) dyn.push([15, offsetOf(spec.rpath)]);
  if (spec.runpath !== undefined) dyn.push([29, offsetOf(spec.runpath)]);
  const interpAt = spec.interp === undefined ? 0 : offsetOf(spec.interp);
  const strtab = Buffer.from(`${strings.join('\0')}\0`, 'latin1');
  const dynStart = Math.ceil((strStart + strtab.length) / 8) * 8;
  dyn.push([5, strStart], [10, strtab.length], [0, 0]);
  const size = dynStart + dyn.length * 16;
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little endian
  buf[6] = 1;
  buf.writeUInt16LE(3, 16); // ET_DYN
  buf.writeUInt16LE(spec.machine ?? 62, 18);
  buf.writeUInt32LE(1, 20);
  buf.writeBigUInt64LE(64n, 32); // e_phoff
  buf.writeUInt16LE(64, 52);
  buf.writeUInt16LE(56, 54);
  buf.writeUInt16LE(phnum, 56);
  const ph = (i: number, type: number, offset: number, filesz: number) => {
    const at = 64 + i * 56;
    buf.writeUInt32LE(type, at);
    buf.writeBigUInt64LE(BigInt(offset), at + 8);
    buf.writeBigUInt64LE(BigInt(offset), at + 16);
    buf.writeBigUInt64LE(BigInt(offset), at + 24);
    buf.writeBigUInt64LE(BigInt(filesz), at + 32);
    buf.writeBigUInt64LE(BigInt(filesz), at + 40);
  };
  ph(0, 1, 0, size); // PT_LOAD
  ph(1, 2, dynStart, dyn.length * 16); // PT_DYNAMIC
  // PT_INTERP, or a PT_NULL when the file is a library.
  if (spec.interp !== undefined) ph(2, 3, strStart + interpAt, Buffer.byteLength(spec.interp) + 1);
  strtab.copy(buf, strStart);
  dyn.forEach(([tag, val], i) => {
    buf.writeBigUInt64LE(BigInt(tag), dynStart + i * 16);
    buf.writeBigUInt64LE(BigInt(val), dynStart + i * 16 + 8);
  });
  return buf;
}
