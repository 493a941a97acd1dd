// Just enough ELF to tell a static executable from a dynamic one: a dynamic executable has a
// PT_INTERP program header naming its loader (ld-linux). A static busybox has none, which is
// what lets it run in an initrd that carries no libc. The headers are read by elf-dynamic.ts,
// which bounds-checks every offset (the file may come from any root).
import { readElfDynamic } from './elf-dynamic.js';

export interface ElfKind {
  elf: boolean;
  is64: boolean;
  machine: number;
  interpreter: string | undefined;
}

/** What kind of ELF `path` is; `elf: false` for anything whose headers do not hold together. */
export async function readElfKind(path: string): Promise<ElfKind> {
  const dynamic = await readElfDynamic(path);
  if (!dynamic) return { elf: false, is64: false, machine: 0, interpreter: undefined };
  return { elf: true, is64: dynamic.is64, machine: dynamic.machine, interpreter: dynamic.interpreter };
}
