// Ending a subhost: its services are stopped inside it (`service X stop`, in reverse order),
// then its PID 1 is signalled; when PID 1 of a PID namespace exits the kernel kills every other
// process in it (pid_namespaces(7)), the mount namespace loses its last user and every mount in
// it (overlay, squashfs and its autoclear loop device, /run, /dev) goes with it. The network
// namespace and the host ends are removed by cables.ts.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { alive } from './state.js';

/** nsenter arguments that put a command into every namespace of the subhost, with its root and
 * working directory (nsenter(1) -r/-w take them from the target process). */
export const enterArgs = (initPid: number): string[] => ['-t', String(initPid), '-m', '-u', '-i', '-n', '-p', '-r', '-w'];

const SUBHOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `service X stop` for each service, last started first; failures are logged, not fatal. */
export async function stopServices(initPid: number, services: readonly string[], log: (line: string) => void): Promise<void> {
  for (const s of [...services].reverse()) {
    const script = 'if command -v service >/dev/null 2>&1; then service "$1" stop; elif [ -x "/etc/init.d/$1" ]; then "/etc/init.d/$1" stop; fi';
    const r = await execa('nsenter', [...enterArgs(initPid), '/bin/sh', '-c', script, 'sh', s], {
      reject: false,
      timeout: 20_000,
      stdin: 'ignore',
      env: { PATH: SUBHOST_PATH },
      extendEnv: false,
    });
    log(`ramboot run: service ${s} stop: ${r.failed ? `failed (${r.shortMessage ?? r.exitCode})` : 'ok'}`);
  }
}

async function commOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}

/** The first child of a process (proc(5), /proc/PID/task/TID/children). */
export function firstChildOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** Ask PID 1 to end, and kill it after `graceMs`. A PID namespace's init only receives the
 * signals it has a handler for (pid_namespaces(7)); tini waits for signals with sigtimedwait
 * instead, so in services mode the boot script under it is signalled, and tini exits with it.
 * systemd powers off on SIGRTMIN+3 (systemd(1), "Signals"); busybox init and sh inits that
 * trap it take SIGTERM. */
export async function endInit(initPid: number, mode: 'services' | 'init', isDone: () => boolean, graceMs = 10_000): Promise<void> {
  if (isDone() || !alive(initPid)) return;
  const target = mode === 'services' ? (firstChildOf(initPid) ?? initPid) : initPid;
  const signal = (await commOf(target)) === 'systemd' ? 37 : 'SIGTERM'; // SIGRTMIN (34) + 3
  try {
    process.kill(target, signal);
  } catch {
    return;
  }
  for (let waited = 0; waited < graceMs; waited += 100) {
    if (isDone() || !alive(initPid)) return;
    await sleep(100);
  }
  try {
    process.kill(initPid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let waited = 0; waited < 5000 && alive(initPid) && !isDone(); waited += 50) await sleep(50);
}

