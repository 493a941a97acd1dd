// A lab guest: QEMU (TCG; docs/facts.md, "QEMU and the lab machine") with no disk and no
// -kernel, whose NIC's option ROM (QEMU's iPXE, package ipxe-qemu) does the PXE boot from the
// lab's dnsmasq. QEMU runs inside the lab namespace so it can open its tap devices there.
import { createConnection } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { RambootError } from '../../errors.js';
import type { LabNetwork } from './netns.js';
import { ConsoleWatch, lastLines } from '../console-watch.js';

export interface GuestNic {
  /** A lab tap (attached to the bridge); 'isolated': QEMU's user network, restricted, with no boot
   * ROM; { socket }: a QEMU socket network to another guest (`listen=127.0.0.1:PORT` or
   * `connect=127.0.0.1:PORT`, the namespace's loopback), a wire carrying 802.1Q tags as they are. */
  tap: string | 'isolated' | { socket: string };
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
  /** With uefiVars: the firmware's own UEFI HTTP Boot, no iPXE ROM and no PXE (run-lab.ts). */
  httpBoot?: boolean;
  /** A QEMU human monitor on this unix socket (LabGuest.monitor), e.g. for `set_link`. */
  monitorSocket?: string;
  /** Boot this kernel and initrd directly (no PXE); every NIC then goes without its ROM. */
  direct?: { kernel: string; initrd: string; append: string };
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
  /** Run one human-monitor command (needs monitorSocket); resolves with its output. */
  monitor(command: string): Promise<string>;
}

export function renderGuestArgs(opts: LabGuestOptions): string[] {
  const args = [
    '-accel', 'tcg', '-nographic', '-serial', 'stdio', '-monitor', opts.monitorSocket ? `unix:${opts.monitorSocket},server=on,wait=off` : 'none', '-no-reboot',
    '-m', String(opts.memoryMiB ?? 1024), '-smp', '1', '-cpu', 'max',
  ]; // prettier-ignore
  if (opts.uefiVars) {
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${opts.uefiVars}`);
    // OVMF tries PXEv4 and PXEv6 before HTTPv4 on a NIC; these fw_cfg switches (edk2's
    // OvmfPkg/RUNTIME_CONFIG.md) remove the PXE boot options, so the firmware goes straight to HTTP.
    if (opts.httpBoot) args.push('-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=no', '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no');
  }
  if (opts.direct) args.push('-kernel', opts.direct.kernel, '-initrd', opts.direct.initrd, '-append', opts.direct.append);
  opts.nics.forEach((nic, i) => {
    const id = `n${i}`;
    if (typeof nic.tap === 'object') {
      args.push('-netdev', `socket,id=${id},${nic.tap.socket}`);
    } else if (nic.tap === 'isolated') {
      // restrict=on: this network reaches nothing; its built-in DHCP still answers, so a boot
      // that picked this NIC would show QEMU's 10.0.2.x lease instead of the lab's.
      args.push('-netdev', `user,id=${id},restrict=on`);
    } else {
      args.push('-netdev', `tap,id=${id},ifname=${nic.tap},script=no,downscript=no`);
    }
    // Only the boot NIC keeps its option ROM; bootindex makes the firmware boot it first. With
    // httpBoot it has no ROM either: OVMF's own network stack (HttpBootDxe) drives it.
    const rom = nic.boot && !opts.direct ? `,bootindex=1${opts.httpBoot ? ',romfile=' : ''}` : ',romfile=';
    args.push('-device', `virtio-net-pci,netdev=${id},mac=${nic.mac}${rom}`);
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
    monitor: (command) => {
      if (!opts.monitorSocket) return Promise.reject(new RambootError('usage', `${opts.name} has no monitor socket`, 'start the guest with monitorSocket'));
      return monitorCommand(opts.monitorSocket, command);
    },
  };
}

/** One command on QEMU's human monitor socket: wait for the prompt, send, read up to the next one. */
export function monitorCommand(socket: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let text = '';
    let sent = false;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new RambootError('boot', `QEMU monitor ${socket}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('error', (error) => {
      clearTimeout(timer);
      reject(new RambootError('boot', `QEMU monitor ${socket}: ${error.message}`, 'is the guest still running?'));
    });
    conn.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (!sent && text.includes('(qemu) ')) {
        sent = true;
        text = '';
        conn.write(`${command}\n`);
      } else if (sent && text.includes('(qemu) ')) {
        clearTimeout(timer);
        conn.end();
        // The monitor echoes the command and redraws the line with escape sequences.
        resolve(text.slice(0, text.lastIndexOf('(qemu) ')).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, ''));
      }
    });
  });
}
