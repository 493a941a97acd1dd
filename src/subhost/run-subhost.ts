// `ramboot run`: start a subhost and keep it until Ctrl-C, SIGTERM (`ramboot stop`) or the end
// of its PID 1, then remove everything it made. The steps, each undone in reverse on the way out
// (also when a later step fails):
//   preflight → UPPER setup → network namespace + cables → nsenter --net + unshare (mount, PID,
//   UTS, IPC) running boot-script.ts under a reaper (tini) or as the image's init → state file
//   → wait → stop services → end PID 1 → cables and namespace → UPPER teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RambootError, toolError } from '../errors.js';
import { BOOT_SCRIPT } from './boot-script.js';
import { createNetns, netnsPath, plugCables, unplugAll } from './cables.js';
import type { SubhostConfig } from './config.js';
import { checkWork, preflight } from './preflight.js';
import { removeState, STATE_DIR, writeState } from './state.js';
import { endInit, firstChildOf, stopServices } from './stop.js';
import { setupUpper, teardownUpper } from './upper.js';
import { findReaper, findStaticBusybox } from './reaper.js';

export interface RunOptions {
  config: SubhostConfig;
  /** Run the image's /sbin/init as PID 1 instead of services under the reaper. */
  init: boolean;
  /** Progress lines for the user (stderr in the CLI). */
  say: (line: string) => void;
}

type Undo = () => Promise<void>;

/** Start the subhost; resolves with the exit status to report once it is gone again. */
export async function runSubhost(opts: RunOptions): Promise<number> {
  const cfg = opts.config;
  const kinds = await preflight(cfg);
  const reaper = opts.init ? undefined : await findReaper();
  const busybox = await findStaticBusybox();
  const mode = opts.init ? 'init' : 'services';
  const undo: Undo[] = [];
  let stopRequested = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    stopRequested = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const logFd = openSync(cfg.log, 'a', 0o640);
  undo.push(async () => closeSync(logFd));
  try {
    let upper = cfg.upper;
    if (kinds.upper === 'script') {
      upper = await setupUpper(cfg, cfg.upper);
      undo.push(() => teardownUpper(cfg, cfg.upper, upper));
      await checkWork(cfg, upper);
    }
    const runDir = join(STATE_DIR, `${cfg.name}.d`);
    await mkdir(join(runDir, 'lower'), { recursive: true });
    undo.push(() => rm(runDir, { recursive: true, force: true }));

    const hostEnds: string[] = [];
    undo.push(() => unplugAll(cfg.name, hostEnds));
    await createNetns(cfg.name);
    hostEnds.push(...(await plugCables(cfg.name, cfg.cables, (w) => opts.say(`ramboot: warning: ${w}`))));

    const child = startNamespaces(cfg, { lowerKind: kinds.lower, upper, runDir, reaper, busybox, logFd });
    let exited: number | undefined;
    const gone = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = code ?? (signal ? 128 : 1);
        resolve();
      });
      child.once('error', () => {
        exited ??= 127;
        resolve();
      });
    });
    undo.push(async () => {
      if (exited === undefined && child.pid) await endInit(firstChildOf(child.pid) ?? child.pid, mode, () => exited !== undefined);
      await gone;
    });
    await waitReady(child, gone, () => stopRequested, cfg.log);
    const initPid = firstChildOf(child.pid!);
    if (initPid === undefined) throw new RambootError('tool', `subhost ${cfg.name} has no PID 1 (unshare ${child.pid} has no child)`);
    await writeState({
      name: cfg.name, runPid: process.pid, initPid, mode, lower: cfg.lower, upper, live: cfg.live,
      cables: cfg.cables.map((c, i) => `${cfg.name}${i}=${c.bridge}${c.mac ? `/${c.mac}` : ''}`), hostEnds,
      ...(kinds.upper === 'script' ? { upperScript: cfg.upper } : {}), log: cfg.log, started: Date.now(),
    });
    undo.push(() => removeState(cfg.name));
    opts.say(`ramboot run: subhost ${cfg.name} is up: PID 1 is ${initPid} on the host, netns ${cfg.name}, log ${cfg.log} (stop: Ctrl-C or ramboot stop ${cfg.name})`);

    await Promise.race([gone, new Promise<void>((resolve) => { wake = resolve; if (stopRequested) resolve(); })]);
    if (exited === undefined) {
      opts.say(`ramboot run: stopping ${cfg.name}`);
      if (!opts.init) await stopServices(initPid, cfg.start, (line) => opts.say(line));
      await endInit(initPid, mode, () => exited !== undefined);
      await gone;
      return 0;
    }
    opts.say(`ramboot run: subhost ${cfg.name}'s PID 1 ended (status ${exited})`);
    return exited;
  } finally {
    for (const step of undo.reverse()) await step().catch((e: Error) => opts.say(`ramboot: warning: cleanup of ${cfg.name}: ${e.message}`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface StartPlan {
  lowerKind: 'dir' | 'squashfs';
  upper: string;
  runDir: string;
  reaper: string | undefined;
  busybox: string;
  logFd: number;
}

/** nsenter --net=NETNS unshare ... [tini --] /bin/sh -c BOOT_SCRIPT, in its own session so a
 * terminal's Ctrl-C reaches ramboot only (which then stops the subhost in order). */
function startNamespaces(cfg: SubhostConfig, plan: StartPlan): ChildProcess {
  const shell = ['/bin/sh', '-c', BOOT_SCRIPT, 'ramboot-subhost'];
  const args = [
    `--net=${netnsPath(cfg.name)}`, '--', 'unshare', '--mount', '--pid', '--uts', '--ipc', '--fork', '--kill-child=SIGKILL', '--propagation', 'private', '--',
    ...(plan.reaper ? [plan.reaper, '--'] : []), ...shell,
  ];
  return spawn('nsenter', args, {
    detached: true,
    stdio: ['pipe', plan.logFd, plan.logFd, 'pipe'],
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      RB_NAME: cfg.name, RB_LOWER: cfg.lower, RB_LOWER_KIND: plan.lowerKind, RB_LOWER_MNT: join(plan.runDir, 'lower'),
      RB_UPPER: plan.upper, RB_WORK: cfg.work, RB_LIVE: cfg.live, RB_RAM_SIZE: cfg.ramSize ?? '', RB_START: cfg.start.join(' '),
      RB_MODE: plan.reaper ? 'services' : 'init', RB_BUSYBOX: plan.busybox,
    },
  });
}

/** Resolve on "ready" from fd 3; throw the script's own error line, or a spawn failure. */
async function waitReady(child: ChildProcess, gone: Promise<void>, stopRequested: () => boolean, logPath: string): Promise<void> {
  const status = child.stdio[3] as NodeJS.ReadableStream;
  let text = '';
  const ready = new Promise<boolean>((resolve) => {
    status.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (/^ready$/m.test(text)) resolve(true);
    });
    status.on('end', () => resolve(false));
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (e: NodeJS.ErrnoException) => {
    reject(e.code === 'ENOENT' ? toolError('nsenter not found', 'apt-get install util-linux') : e);
  }));
  const ok = await Promise.race([ready, gone.then(() => false), spawnFailed]);
  if (ok) return;
  if (stopRequested()) return;
  const line = /ramboot: error: (.*)/.exec(text)?.[1];
  if (line) throw new RambootError('tool', line);
  // A command of the boot-up failed on its own (set -e): its message is the LOG's last line.
  const last = readFileSync(logPath, 'utf8').trim().split('\n').pop() ?? '';
  throw new RambootError('tool', `the subhost ended while starting${last ? `: ${last}` : ''}`, `read ${logPath}`);
}
