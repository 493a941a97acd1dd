// Boot a kernel + initrd in QEMU for the boot tests and `ramboot demo`, reading the guest's serial
// console. Always TCG: -enable-kvm hangs on the machines this runs on (docs/facts.md, "QEMU and the lab machine").
// Networking is QEMU's user mode (slirp) only, where the guest reaches this machine's 127.0.0.1
// servers as 10.0.2.2. It is not `restrict=on`: that also cuts the guest off from 10.0.2.2
// (measured: connection refused), and guestfwd cannot stand in for it (10.0.2.2 is refused as a
// forwarding address; a tcp: target serves a single connection). So what the guest contacts is
// up to the image booted: ours only fetch from the URLs on their command line.
import { existsSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { inputError, RambootError } from '../errors.js';
import { toolFailure } from '../util/run-tool.js';
import { ConsoleWatch, lastLines, stateless } from './console-watch.js';

/** The emulator of each guest CPU. aarch64 guests run on QEMU's `virt` board with a Cortex-A57
 * (TCG as well), the kernel loaded as an arm64 Image, the console on its PL011 (ttyAMA0). */
const QEMU = { x86_64: 'qemu-system-x86_64', aarch64: 'qemu-system-aarch64' } as const;
export type QemuArch = keyof typeof QEMU;

export interface QemuBootOptions {
  /** Guest CPU architecture, default 'x86_64'. */
  arch?: QemuArch;
  kernel: string;
  initrd: string;
  /** Kernel command line; include console=ttyS0 (aarch64: console=ttyAMA0) to see the guest. */
  append: string;
  /** Default 1024. */
  memoryMiB?: number;
  /** Default 2. */
  cpus?: number;
  /** Default 'max': every feature TCG emulates (RDRAND for early entropy, x86-64-v2+ userlands).
   * The Debian cloud kernel boots with both 'max' and the default 'qemu64' (measured).
   * aarch64: default 'cortex-a57'. */
  cpu?: string;
  /** Guest NIC model, default 'virtio-net-pci'. */
  nic?: string;
  /** Served by QEMU's built-in TFTP server as tftp://10.0.2.2/. */
  tftpDir?: string;
  extraArgs?: string[];
  /** A command QEMU runs under, e.g. ['ip', 'netns', 'exec', NS]: its user network is then that namespace's. */
  wrap?: string[];
  /** Kill QEMU after this long; default 120000. */
  timeoutMs?: number;
  /** Console text as it arrives (\r removed). */
  onOutput?: (text: string) => void;
  /** Stop QEMU as soon as the console output matches. */
  until?: RegExp;
}

export interface QemuBootResult {
  /** The full console text, \r removed. */
  output: string;
  /** QEMU's own messages (stderr). */
  stderr: string;
  /** null when QEMU was stopped (timeout, `until`, kill()). */
  exitCode: number | null;
  timedOut: boolean;
  /** true when `until` matched and QEMU was stopped for it. */
  untilMatched: boolean;
  wallMs: number;
  /** Type into the serial console; only valid while QEMU runs (throws afterwards). */
  send(text: string): void;
}

export interface QemuSession {
  /** Resolves with the text matched by `re` in console output after the previous waitFor's match
   * (expect-style: each wait consumes the console up to its match); rejects when QEMU exits or
   * `timeoutMs` (default: the boot's timeout) passes first. The console is matched as it
   * arrives, in pieces: end a pattern whose text can grow with something fixed (/N=\d+\n/). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  send(text: string): void;
  /** Everything the console printed so far. */
  output(): string;
  /** QEMU's process id (undefined if it could not be started). */
  pid: number | undefined;
  done: Promise<QemuBootResult>;
  /** Stop QEMU (SIGTERM, SIGKILL after 2 s). Safe to call more than once or after exit. */
  kill(): void;
}

/** `,` separates QEMU option values; a literal comma is written `,,`. */
const qemuOptValue = (value: string) => value.replaceAll(',', ',,');

/** Under TCG on a loaded host the guest kernel's IO-APIC timer check can fail and panic before
 * /init runs ("IO-APIC + timer doesn't work!", seen with a load average of 20 on 2 cores); the
 * check proves nothing about what these boots test, so it is skipped. */
export function withoutTimerCheck(append: string): string {
  return /(^|\s)no_timer_check(\s|$)/.test(append) ? append : `${append} no_timer_check`.trim();
}

export function renderQemuArgs(opts: QemuBootOptions): string[] {
  const nic = [`user`, `model=${opts.nic ?? 'virtio-net-pci'}`];
  if (opts.tftpDir) nic.push(`tftp=${qemuOptValue(opts.tftpDir)}`);
  const aarch64 = opts.arch === 'aarch64';
  return [
    ...(aarch64 ? ['-M', 'virt'] : []),
    '-accel', 'tcg',
    // Console on stdio without the monitor multiplexed in, so typed text never hits Ctrl-A escapes.
    '-nographic', '-serial', 'stdio', '-monitor', 'none',
    '-no-reboot',
    '-m', String(opts.memoryMiB ?? 1024),
    '-smp', String(opts.cpus ?? 2),
    '-cpu', opts.cpu ?? (aarch64 ? 'cortex-a57' : 'max'),
    '-kernel', opts.kernel,
    '-initrd', opts.initrd,
    // no_timer_check is an x86 parameter; elsewhere it would become an argument of init.
    '-append', aarch64 ? opts.append : withoutTimerCheck(opts.append),
    '-nic', nic.join(','),
    ...(opts.extraArgs ?? []),
  ]; // prettier-ignore
}


export function startQemu(opts: QemuBootOptions): QemuSession {
  for (const [what, path] of [['kernel', opts.kernel], ['initrd', opts.initrd]] as const) {
    if (!existsSync(path)) throw inputError(`${what} ${path} does not exist`);
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const args = renderQemuArgs(opts);
  const started = performance.now();
  // cleanup: execa kills QEMU if this process exits first, so no QEMU outlives a test run.
  const qemu = QEMU[opts.arch ?? 'x86_64'];
  const [command, ...argv] = [...(opts.wrap ?? []), qemu, ...args];
  const child = execa(command!, argv, { reject: false, buffer: false, stdin: 'pipe', cleanup: true, forceKillAfterDelay: 2000 });

  const serial = new ConsoleWatch();
  let stderr = '';
  let running = true;
  let stopped = false;
  let timedOut = false;
  let untilMatched = false;
  const until = opts.until ? stateless(opts.until) : undefined;

  const kill = () => {
    if (!running) return;
    stopped = true;
    child.kill('SIGTERM');
  };

  const decoder = new StringDecoder('utf8');
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk).replace(/\r/g, '');
    if (text === '') return;
    opts.onOutput?.(text);
    serial.append(text);
    if (until && !untilMatched && until.test(serial.output)) {
      untilMatched = true;
      kill();
    }
  });
  // Typing after QEMU exited must not crash the caller with an EPIPE 'error' event.
  child.stdin?.on('error', () => {});
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);

  const send = (text: string) => {
    if (!running || !child.stdin) throw new RambootError('boot', 'QEMU is not running; cannot type into its console');
    child.stdin.write(text);
  };

  const done = (async (): Promise<QemuBootResult> => {
    const result = await child;
    running = false;
    clearTimeout(timer);
    serial.append(decoder.end().replace(/\r/g, ''));
    const output = serial.output;
    const failure = result.code === 'ENOENT' || (!stopped && result.exitCode !== 0) ? toolFailure(qemu, args, { ...result, stderr }) : undefined;
    serial.close((re) => failure ?? new RambootError('boot', `QEMU ${timedOut ? 'timed out' : 'exited'} before the console showed ${re}; last lines:\n${lastLines(output)}`));
    if (failure) throw failure;
    return { output, stderr, exitCode: stopped ? null : (result.exitCode ?? null), timedOut, untilMatched, wallMs: performance.now() - started, send };
  })();
  // Marked as handled here; callers that await `done` still see a rejection.
  done.catch(() => {});

  return {
    waitFor: (re, waitMs = timeoutMs) => serial.waitFor(re, waitMs),
    send,
    output: () => serial.output,
    pid: child.pid,
    done,
    kill,
  };
}

/** Boot and wait for QEMU to exit (guest power-off with -no-reboot), `until` or the timeout. */
export function bootQemu(opts: QemuBootOptions): Promise<QemuBootResult> {
  return startQemu(opts).done;
}
