// A lab guest: QEMU (TCG; docs/facts.md, "QEMU and the lab machine") with no disk and no
// -kernel, whose NIC's option ROM (QEMU's iPXE, package ipxe-qemu) does the PXE boot from the
// lab's dnsmasq. QEMU runs inside the lab namespace so it can open its tap devices there.
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { RambootError } from '../../errors.js';
import type { LabNetwork } from './netns.js';
import { ConsoleWatch, lastLines } from '../console-watch.js';

export interface GuestNic {
  /** A lab tap (attached to the bridge), or 'isolated': QEMU's user network, restricted, with no boot ROM. */
  tap: string | 'isolated';
  mac: string;
  /** This NIC's ROM is the one the firmware boots. */
  boot?: boolean;
}

export interface LabGuestOptions {
  name: string;
  nics: GuestNic[];
  memoryMiB?: number;
  /** 'uefi': OVMF's code and a copy of its variable store (this path) as pflash. */
  uefiVars?: string;
  onOutput?: (text: string) => void;
}

/** Debian's ovmf package: 4 MiB code and variable-store images that go together. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface LabGuest {
  name: string;
  macs: string[];
  /** Resolves with the first match of `re` in the console after the previous waitFor's match. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  output(): string;
  /** Resolves when QEMU has exited (guest power-off with -no-reboot, or stop()). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export function renderGuestArgs(opts: LabGuestOptions): string[] {
  const args = [
    '-accel', 'tcg', '-nographic', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-m', String(opts.memoryMiB ?? 1024), '-smp', '1', '-cpu', 'max',
  ]; // prettier-ignore
  if (opts.uefiVars) {
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${opts.uefiVars}`);
  }
  opts.nics.forEach((nic, i) => {
    const id = `n${i}`;
    if (nic.tap === 'isolated') {
      // restrict=on: this network reaches nothing; its built-in DHCP still answers, so a boot
      // that picked this NIC would show QEMU's 10.0.2.x lease instead of the lab's.
      args.push('-netdev', `user,id=${id},restrict=on`);
    } else {
      args.push('-netdev', `tap,id=${id},ifname=${nic.tap},script=no,downscript=no`);
    }
    // Only the boot NIC keeps its option ROM; bootindex makes the firmware boot it first.
    args.push('-device', `virtio-net-pci,netdev=${id},mac=${nic.mac}${nic.boot ? ',bootindex=1' : ',romfile='}`);
  });
  return args;
}

export function startLabGuest(net: LabNetwork, opts: LabGuestOptions): LabGuest {
  const [cmd, ...args] = net.exec(['qemu-system-x86_64', ...renderGuestArgs(opts)]);
  const child = execa(cmd!, args, { reject: false, cleanup: true, stdin: 'pipe', buffer: false, forceKillAfterDelay: 2000 });
  child.stdin?.on('error', () => {});
  const decoder = new StringDecoder('utf8');
  const serial = new ConsoleWatch(`${opts.name}: `);
  let stderr = '';
  let running = true;
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk).replace(/\r/g, '');
    opts.onOutput?.(text);
    serial.append(text);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = (async () => {
    await child;
    running = false;
    const qemuSaid = stderr ? ` (QEMU: ${stderr.trim()})` : '';
    serial.close((re) => new RambootError('boot', `${opts.name}: QEMU exited before the console showed ${re}${qemuSaid}; last lines:\n${lastLines(serial.output)}`));
  })();
  return {
    name: opts.name,
    macs: opts.nics.map((n) => n.mac),
    waitFor: (re, timeoutMs) => serial.waitFor(re, timeoutMs),
    output: () => serial.output,
    exited,
    stop: async () => {
      if (running) child.kill('SIGTERM');
      await exited;
    },
  };
}
