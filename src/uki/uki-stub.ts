// Which systemd-stub a UKI is built on: the one for the set's architecture (the UEFI loader runs
// only a PE image of its own machine: 0x8664 on x86-64, 0xaa64 on arm64). Debian's
// systemd-boot-efi installs linuxx64.efi.stub (amd64) or linuxaa64.efi.stub (arm64) under
// /usr/lib/systemd/boot/efi; the package is Multi-Arch: same, so an amd64 build host may have
// both. When the arm64 one is not installed it is fetched the way apt-busybox.ts fetches an arm64
// busybox: the candidate's version and .deb sha256 from apt's (signed) index, `apt-get download`
// from the archive's pool, the sha256 checked again, and the stub cached under
// /var/cache/ramboot/systemd-boot-efi/<arch>/<sha256 of the .deb>/ (a rebuild asks apt-cache only).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch } from '../elf/machine.js';
import { RambootError, inputError, toolError } from '../errors.js';
import { parseAptShow } from '../initrd/apt-busybox.js';
import { runTool } from '../util/run-tool.js';
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
  const pkg = `systemd-boot-efi:${arch}`;
  const shown = await runTool('apt-cache', ['show', '--no-all-versions', pkg]).catch((error: unknown) => {
    if (error instanceof RambootError && /not found|No packages found|Unable to locate/i.test(error.message)) return undefined;
    throw error;
  });
  const found = shown ? parseAptShow(shown.stdout) : undefined;
  if (!found) throw toolError(`apt on this machine knows no ${pkg} to build an ${arch} UKI on`, fixHint(arch));
  const dir = join(ukiStubCacheDir(), arch, found.sha256);
  const path = join(dir, UKI_STUBS[arch].file);
  if (existsSync(path)) return path;
  await mkdir(join(ukiStubCacheDir(), arch), { recursive: true });
  const work = await mkdtemp(join(ukiStubCacheDir(), arch, '.fetch-'));
  try {
    await runTool('apt-get', ['download', '-q', `${pkg}=${found.version}`], { cwd: work });
    const debs = (await readdir(work)).filter((f) => f.endsWith('.deb'));
    if (debs.length !== 1) throw toolError(`apt-get download ${pkg}=${found.version} gave ${debs.length} .deb files`, fixHint(arch));
    const got = createHash('sha256').update(await readFile(join(work, debs[0]!))).digest('hex');
    if (got !== found.sha256) throw toolError(`${pkg} ${found.version}: sha256 ${got}, apt's index says ${found.sha256}`, 'apt-get update, then build again');
    await runTool('dpkg-deb', ['-x', join(work, debs[0]!), join(work, 'tree')]);
    const inDeb = join(work, 'tree', STUB_DIR, UKI_STUBS[arch].file);
    if (!existsSync(inDeb)) throw toolError(`${pkg} ${found.version} holds no ${STUB_DIR}/${UKI_STUBS[arch].file}`, fixHint(arch));
    await mkdir(dir, { recursive: true });
    await rename(inDeb, path);
    return path;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
