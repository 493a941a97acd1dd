// Which systemd-stub a UKI is built on: the one for the set's architecture (the UEFI loader runs
// only a PE image of its own machine: 0x8664 on x86-64, 0xaa64 on arm64). Debian's
// systemd-boot-efi installs linuxx64.efi.stub (amd64) or linuxaa64.efi.stub (arm64) under
// /usr/lib/systemd/boot/efi; the package is Multi-Arch: same, so an amd64 build host may have
// both. When the arm64 one is not installed it is fetched and checked through apt
// (src/util/apt-package.ts, as the arm64 busybox is), and the stub cached under
// /var/cache/ramboot/systemd-boot-efi/<arch>/<sha256 of the .deb>/ (a rebuild asks apt-cache only).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from '../elf/machine.js';
import { inputError } from '../errors.js';
import { aptPackageFile } from '../util/apt-package.js';
import { machineName } from './read-uki.js';

const STUB_DIR = '/usr/lib/systemd/boot/efi';
/** The stub's file name and PE machine per architecture (systemd's EFI_MACHINE_TYPE_NAME). */
export const UKI_STUBS: Record<Arch, { file: string; machine: number }> = {
  amd64: { file: 'linuxx64.efi.stub', machine: 0x8664 },
  arm64: { file: 'linuxaa64.efi.stub', machine: 0xaa64 },
};

export const ukiStubCacheDir = () => process.env.RAMBOOT_UKI_STUB_CACHE ?? '/var/cache/ramboot/systemd-boot-efi';

const fixHint = (arch: Arch) => `apt-get install systemd-boot-efi:${arch} (after dpkg --add-architecture ${arch} && apt-get update), or give --uki-stub FILE`;

/** The stub for `arch`: --uki-stub, else the installed one, else (another arch) fetched through apt. */
export async function resolveUkiStub(given: string | undefined, arch: Arch): Promise<string> {
  if (given !== undefined) return given;
  const installed = join(STUB_DIR, UKI_STUBS[arch].file);
  if (existsSync(installed) || arch === 'amd64') return installed;
  return aptUkiStub(arch);
}

/** A stub of another machine than the set's would be refused by the firmware; say so at build time. */
export function checkStubMachine(machine: number, arch: Arch, stub: string): void {
  if (machine === UKI_STUBS[arch].machine) return;
  throw inputError(`UKI stub ${stub} is a ${machineName(machine)} EFI program, but the set is ${arch}`, `give --uki-stub ${join(STUB_DIR, UKI_STUBS[arch].file)} (${fixHint(arch).replace(/, or give --uki-stub FILE$/, '')}), or drop --uki-stub`);
}

async function aptUkiStub(arch: Arch): Promise<string> {
  const { file } = UKI_STUBS[arch];
  const fetched = await aptPackageFile({
    name: 'systemd-boot-efi',
    arch,
    pathsInDeb: [join(STUB_DIR, file)],
    fileName: file,
    cacheDir: ukiStubCacheDir(),
    purpose: `to build an ${arch} UKI on`,
    fixHint: fixHint(arch),
  });
  return fetched.path;
}
