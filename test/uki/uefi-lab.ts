// For the UEFI boot tests: an EFI system partition image holding one file at the removable-media
// path EFI/BOOT/BOOTX64.EFI (the UEFI spec's default boot file, so no boot entry is needed),
// made with mkfs.vfat + mcopy (no mount), and QEMU with Debian's OVMF firmware — the Secure
// Boot build with the snakeoil keys enrolled (OVMF_VARS_4M.snakeoil.fd: PK, KEK and db hold
// PkKek-1-snakeoil.pem, /usr/share/doc/ovmf/README.Debian) or the plain one. For arm64:
// qemu-system-aarch64 (virt, Cortex-A57) with Debian's AAVMF (qemu-efi-aarch64; its CODE and VARS
// images come padded to the 64 MiB of the virt board's flash banks) and EFI/BOOT/BOOTAA64.EFI.
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';

export const OVMF_DIR = '/usr/share/OVMF';
export const AAVMF_DIR = '/usr/share/AAVMF';
export const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
export const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
/** The snakeoil key is PEM-encrypted with this passphrase (README.Debian of ovmf). */
export const SNAKEOIL_PASSPHRASE = 'snakeoil';

/** An unencrypted copy of the snakeoil key, for sbsign (which reads no passphrase from a pipe). */
export function plainSnakeoilKey(dir: string): string {
  const out = join(dir, 'snakeoil.key');
  execFileSync('openssl', ['pkey', '-in', SNAKEOIL_KEY, '-passin', `pass:${SNAKEOIL_PASSPHRASE}`, '-out', out], { stdio: 'ignore' });
  return out;
}

/** A FAT image with `efi` as EFI/BOOT/BOOTX64.EFI (bootName BOOTAA64.EFI for arm64), sized to fit it. */
export function makeEspImage(efi: string, image: string, bootName = 'BOOTX64.EFI'): string {
  const kib = Math.ceil(statSync(efi).size / 1024) + 8192;
  execFileSync('mkfs.vfat', ['-C', image, String(kib)], { stdio: 'ignore' });
  execFileSync('mmd', ['-i', image, '::/EFI', '::/EFI/BOOT']);
  execFileSync('mcopy', ['-i', image, efi, `::/EFI/BOOT/${bootName}`]);
  return image;
}

export interface UefiBootOptions {
  /** FAT images, each a virtio disk at PCI slot 5, 6, ... (the firmware names them
   * PciRoot(0x0)/Pci(0x5,0x0), ...), tried in this order. */
  disks: string[];
  /** Default 2. The firmware alone reaches its boot manager faster with 1 under TCG (measured:
   * 25 s against 41 s on the loaded lab machine, Secure Boot OVMF with SMM). */
  cpus?: number;
  /** Working directory for the firmware's writable variable store copy. */
  work: string;
  secureBoot: boolean;
  /** Default x86_64 (OVMF); aarch64: AAVMF on qemu-system-aarch64 -M virt -cpu cortex-a57 (no Secure Boot here). */
  arch?: 'x86_64' | 'aarch64';
  /** DHCP boot file name QEMU's DHCP server hands out (option 67). */
  bootfile?: string;
  until: RegExp;
  timeoutMs: number;
}

/** Boot OVMF from `disks`; resolves with the serial console text once `until` matches or on timeout. */
export async function bootUefi(opts: UefiBootOptions): Promise<{ output: string; matched: boolean; wallMs: number }> {
  const arm = opts.arch === 'aarch64';
  if (arm && opts.secureBoot) throw new Error('bootUefi: Secure Boot is set up for OVMF (x86_64) only');
  const code = arm ? join(AAVMF_DIR, 'AAVMF_CODE.fd') : join(OVMF_DIR, opts.secureBoot ? 'OVMF_CODE_4M.secboot.fd' : 'OVMF_CODE_4M.fd');
  const vars = join(opts.work, `vars-${process.pid}-${Date.now()}.fd`);
  copyFileSync(arm ? join(AAVMF_DIR, 'AAVMF_VARS.fd') : join(OVMF_DIR, opts.secureBoot ? 'OVMF_VARS_4M.snakeoil.fd' : 'OVMF_VARS_4M.fd'), vars);
  const netdev = ['user', 'id=n0', ...(opts.bootfile ? [`bootfile=${opts.bootfile}`] : [])].join(',');
  const args = [
    '-accel', 'tcg', '-nographic', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-m', '1024', '-smp', String(opts.cpus ?? 2), '-cpu', arm ? 'cortex-a57' : 'max',
    // Secure Boot OVMF keeps its variables in SMM-protected flash: q35 with SMM, secure pflash.
    '-machine', arm ? 'virt' : opts.secureBoot ? 'q35,smm=on' : 'q35',
    ...(opts.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
    ...opts.disks.flatMap((disk, i) => [
      '-drive', `file=${disk},format=raw,if=none,id=esp${i}`,
      '-device', `virtio-blk-pci,drive=esp${i},bootindex=${i},addr=0x${(5 + i).toString(16)}`,
    ]),
    // No option ROM on the NIC: the firmware boots the disk, never tries PXE; the kernel still
    // gets the NIC (and QEMU's DHCP with the boot file) for the ram script.
    '-netdev', netdev, '-device', 'virtio-net-pci,netdev=n0,romfile=',
  ]; // prettier-ignore
  const started = performance.now();
  const qemu = arm ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
  const child = execa(qemu, args, { reject: false, buffer: false, stdin: 'ignore', cleanup: true, forceKillAfterDelay: 2000 });
  let output = '';
  let matched = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8').replace(/\r/g, '');
    if (!matched && opts.until.test(output)) {
      matched = true;
      child.kill('SIGTERM');
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs);
  const result = await child;
  clearTimeout(timer);
  if (result.code === 'ENOENT') throw new Error(`${qemu} not found (run scripts/setup.sh)`);
  if (!matched && result.exitCode !== 0 && result.exitCode !== undefined && stderr.trim()) throw new Error(`QEMU failed: ${stderr.trim()}`);
  return { output, matched, wallMs: performance.now() - started };
}
