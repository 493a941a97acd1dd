// Which CPU an ELF file is for (elf(5), e_machine), and the two architectures ramboot builds
// for. An image set is for one architecture: every ELF file in it (busybox, modules, hook
// binaries) must carry that machine, so a host binary can never slip into a foreign set. Only
// the first 20 bytes are read; nothing is executed (the file may come from any root).
import { open } from 'node:fs/promises';
import { inputError } from '../errors.js';

export const ARCHES = ['amd64', 'arm64'] as const;
/** Debian's architecture names. */
export type Arch = (typeof ARCHES)[number];

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export const MACHINE_OF: Record<Arch, number> = { amd64: EM_X86_64, arm64: EM_AARCH64 };

/** Names for the machines a root may plausibly hold, for error messages. */
const MACHINE_NAMES: Record<number, string> = { 3: 'i386', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv', 258: 'loongarch' };

export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? `e_machine ${machine}`;
}

export function archOfMachine(machine: number): Arch | undefined {
  return ARCHES.find((a) => MACHINE_OF[a] === machine);
}

/** The architecture of this build host (whose busybox can run here). */
export function hostArch(): Arch {
  if (process.arch === 'x64') return 'amd64';
  if (process.arch === 'arm64') return 'arm64';
  throw inputError(`ramboot runs on amd64 and arm64 hosts, not ${process.arch}`);
}

/** e_machine of an ELF header at the start of `head`, or undefined when it is not ELF. */
export function elfMachineOf(head: Buffer): number | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
}

/** e_machine of the file at `path`, or undefined when it is not an ELF file. */
export async function readElfMachine(path: string): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await handle.read(head, 0, 20, 0);
    return elfMachineOf(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
