// A simulated fleet client: the ram script's own fetch and verify stages (initrd-scripts/lib,
// sourced as /init sources them) run by busybox sh with the real busybox wget, inside the
// client's network namespace. What would change the machine is replaced, as the sh unit tests do
// (test/initrd-scripts/harness.ts): `mount`/`umount` are shell functions that do nothing (the
// image's "tmpfs" is a directory of the client's tree), the kernel's files come from a fake tree
// under RAM_PREFIX (its /proc/uptime is the real one: the retries and the stall watchdog run in
// real time), and the net stage's results are set as a DHCP lease would set them. The shell runs
// as nobody (setpriv), so a command that slipped past would fail with EPERM.
import { chownSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { renderRamConf } from '../../cmdline/ram-conf.js';
import { runTool } from '../../util/run-tool.js';
import type { FleetNode } from './network.js';

const LIBDIR = fileURLToPath(new URL('../../../initrd-scripts/lib', import.meta.url));
const BUSYBOX = '/bin/busybox';
const NOBODY = 65534;

export interface ClientResult {
  name: string;
  ip: string;
  exitCode: number | null;
  /** Wall seconds from the storm's start to the end of the client's verify stage. */
  seconds: number;
  /** report.json's "verify".result: match, mismatch, or absent. */
  verify: string | undefined;
  /** report.json's "fetch" (bytes, seconds, attempts, and whatever the script records there). */
  fetch: Record<string, unknown> | undefined;
  /** Retries beyond the first attempt (report.json fetch.retries when the script counts them, else attempts - 1). */
  retries: number;
  /** The client's last lines, for a failure message. */
  tail: string;
  /** For an image that failed its sha256: where it differs from the served one. */
  corruption?: string;
  /** Its `ramboot: warning:` lines (retries and their causes). */
  warnings: string[];
}

/** A directory with one symlink per busybox applet: the clients' PATH. */
export async function makeAppletDir(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const { stdout } = await runTool(BUSYBOX, ['--list']);
  for (const name of stdout.split('\n').filter(Boolean)) {
    if (!existsSync(join(dir, name))) symlinkSync(BUSYBOX, join(dir, name));
  }
  return dir;
}

/** The fake tree of one client: its command line, 2 GiB of "RAM", the real clock. */
export function prepareClientTree(dir: string, cmdline: string, node: FleetNode): string {
  const root = join(dir, 'root');
  for (const d of ['proc/sys/kernel', 'sys/class/net/eth0/device', 'dev', 'run', 'etc', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'proc/cmdline'), `${cmdline}\n`);
  symlinkSync('/proc/uptime', join(root, 'proc/uptime'));
  writeFileSync(join(root, 'proc/meminfo'), 'MemTotal:       2097152 kB\nMemFree:        2000000 kB\nMemAvailable:   2000000 kB\n');
  writeFileSync(join(root, 'proc/sys/kernel/osrelease'), '6.1.0-fleet\n');
  writeFileSync(join(root, 'sys/class/net/eth0/address'), `${node.mac}\n`);
  writeFileSync(join(root, 'sys/class/net/eth0/carrier'), '1\n');
  writeFileSync(join(root, 'etc/ram.conf'), renderRamConf({ facts: { KVER: '6.1.0-fleet', FORCE_LOAD: '', ROOTSIZE: '', VERSION: 'fleet' } }));
  chownTree(dir, NOBODY);
  return root;
}

function chownTree(path: string, id: number): void {
  chownSync(path, id, id);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(path, e.name), id);
    else if (!e.isSymbolicLink()) chownSync(join(path, e.name), id, id);
  }
}

/** The stages /init would run for the image, in order, after the net stage's lease (the fetch
 * stage ends with the sha256 check: nothing passes it unverified). */
export function renderClientScript(node: FleetNode): string {
  return `mount() { :; }
umount() { :; }
for f in "$RAM_LIBDIR"/*.sh; do [ "\${f##*/}" = udhcpc.sh ] || . "$f"; done
ram_stage_setup
RAM_NET_IFACE=eth0 RAM_NET_IP=${node.ip} RAM_NET_PREFIX=24 RAM_NET_HOW=dhcp
ram_stage_fetch
ram_write_report
`;
}

export interface RunningClient {
  name: string;
  done: Promise<ClientResult>;
  /** Stop it (SIGTERM to the namespace's `ip netns exec`, which is the shell once exec'd). */
  kill(): void;
}

/** Start the client now; `t0` is the storm's start (performance.now()). */
export function startClient(name: string, node: FleetNode, dir: string, appletDir: string, t0: number, env: Record<string, string> = {}): RunningClient {
  const root = join(dir, 'root');
  // PATH: the system's for ip and setpriv, then only the applets for the boot script.
  const argv = node.exec(['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '/usr/bin/env', `PATH=${appletDir}`, BUSYBOX, 'sh', '-c', renderClientScript(node)]);
  const child = execa(argv[0]!, argv.slice(1), {
    reject: false,
    cleanup: true,
    all: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/', RAM_PREFIX: root, RAM_LIBDIR: LIBDIR, ...env },
    extendEnv: false,
  });
  const done = (async (): Promise<ClientResult> => {
    const r = await child;
    const seconds = (performance.now() - t0) / 1000;
    const reportFile = join(root, 'run/ramboot/report.json');
    let report: Record<string, Record<string, unknown>> = {};
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8'));
    } catch {
      // No report: the script died before writing one; the exit code and tail tell why.
    }
    const fetch = report.fetch;
    const counted = typeof fetch?.retries === 'number' ? fetch.retries : typeof fetch?.attempts === 'number' ? fetch.attempts - 1 : 0;
    return {
      name,
      ip: node.ip,
      exitCode: r.exitCode ?? null,
      seconds,
      verify: typeof report.verify?.result === 'string' ? report.verify.result : undefined,
      fetch,
      retries: counted,
      tail: String(r.all ?? '').trim().split('\n').slice(-4).join(' | '),
      warnings: String(r.all ?? '').split('\n').filter((l) => l.startsWith('ramboot: warning: ')),
    };
  })();
  return { name, done, kill: () => void child.kill('SIGTERM') };
}
