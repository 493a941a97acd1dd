// What the dynamic loader reads from an ELF file to load it (elf(5), "Program header" and
// "Dynamic section"): the interpreter (PT_INTERP), the libraries it needs (DT_NEEDED), where to
// look for them (DT_RUNPATH, DT_RPATH) and its own name (DT_SONAME). Only headers, the dynamic
// section and the string table are read, never the whole file: a root's libLLVM is 100 MB.
// Nothing is executed; the file may come from any root, so every offset is bounds-checked.
import { open, type FileHandle } from 'node:fs/promises';

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
/** No real dynamic section or string table comes near this; a larger one is a hostile file. */
const MAX_TABLE = 16 << 20;

export interface ElfDynamic {
  /** ELFCLASS64 or not, and e_machine: the loader skips a library of another class or machine. */
  is64: boolean;
  machine: number;
  interpreter: string | undefined;
  needed: string[];
  soname: string | undefined;
  /** Colon-separated lists, split; empty when the tag is absent. */
  rpath: string[];
  runpath: string[];
  hasRunpath: boolean;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

async function readAt(handle: FileHandle, offset: number, length: number, size: number): Promise<Buffer | undefined> {
  if (length < 0 || length > MAX_TABLE || offset < 0 || offset + length > size) return undefined;
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, offset);
  return bytesRead === length ? buf : undefined;
}

const cString = (buf: Buffer, at: number): string | undefined => {
  if (at < 0 || at >= buf.length) return undefined;
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
};

const splitPath = (value: string | undefined): string[] => (value === undefined ? [] : value.split(':').filter((d) => d !== ''));

/** The dynamic facts of `path` (a host path), or undefined when it is not an ELF file or its
 * headers do not hold together (the loader would refuse it too). */
export async function readElfDynamic(path: string): Promise<ElfDynamic | undefined> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = await readAt(handle, 0, Math.min(64, size), size);
    if (!head || head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = head[4] === 2;
    const little = head[5] === 1;
    if (is64 && head.length < 64) return undefined;
    const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number) => (is64 ? Number(little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const machine = u16(head, 18);
    const phoff = word(head, is64 ? 32 : 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phentsize < (is64 ? 56 : 32)) return undefined;
    const table = await readAt(handle, phoff, phentsize * phnum, size);
    if (!table) return undefined;
    const segments: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const p = i * phentsize;
      segments.push(
        is64
          ? { type: u32(table, p), offset: word(table, p + 8), vaddr: word(table, p + 16), filesz: word(table, p + 32) }
          : { type: u32(table, p), offset: u32(table, p + 4), vaddr: u32(table, p + 8), filesz: u32(table, p + 16) },
      );
    }
    const result: ElfDynamic = { is64, machine, interpreter: undefined, needed: [], soname: undefined, rpath: [], runpath: [], hasRunpath: false };
    const interp = segments.find((s) => s.type === PT_INTERP);
    if (interp) {
      const name = await readAt(handle, interp.offset, interp.filesz, size);
      result.interpreter = name ? cString(name, 0) : undefined;
    }
    const dynamicSeg = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamicSeg) return result;
    const dynamic = await readAt(handle, dynamicSeg.offset, dynamicSeg.filesz, size);
    if (!dynamic) return undefined;
    const entrySize = is64 ? 16 : 8;
    const entries: [number, number][] = [];
    for (let at = 0; at + entrySize <= dynamic.length; at += entrySize) {
      const tag = word(dynamic, at);
      if (tag === DT_NULL) break;
      entries.push([tag, word(dynamic, at + entrySize / 2)]);
    }
    const value = (tag: number) => entries.find(([t]) => t === tag)?.[1];
    // DT_STRTAB is an address: the PT_LOAD segment holding it says where it is in the file.
    const strVaddr = value(DT_STRTAB);
    const strSize = value(DT_STRSZ);
    const load = segments.find((s) => s.type === PT_LOAD && strVaddr !== undefined && strVaddr >= s.vaddr && strVaddr < s.vaddr + s.filesz);
    if (strVaddr === undefined || strSize === undefined || !load) return result.interpreter === undefined && entries.length === 0 ? result : undefined;
    const strtab = await readAt(handle, load.offset + (strVaddr - load.vaddr), strSize, size);
    if (!strtab) return undefined;
    const str = (at: number) => cString(strtab, at);
    for (const [tag, val] of entries) {
      if (tag === DT_NEEDED) {
        const name = str(val);
        if (name) result.needed.push(name);
      } else if (tag === DT_SONAME) result.soname = str(val);
      else if (tag === DT_RPATH) result.rpath.push(...splitPath(str(val)));
      else if (tag === DT_RUNPATH) {
        result.hasRunpath = true;
        result.runpath.push(...splitPath(str(val)));
      }
    }
    return result;
  } finally {
    await handle.close();
  }
}
