// Runs `ramboot run` for the subhost tests inside a test network namespace of their own (with a
// bridge and the "host" address), so every packet stays in namespaces the test made, and checks
// from the host what a subhost leaves behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATE_DIR, type SubhostState } from '../../src/subhost/state.ts';

export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A network namespace with bridge rbbr0 holding `hostIp`/24; removed by the returned function. */
export function makeTestNet(name: string, hostIp: string): () => void {
  for (const args of [
    ['netns', 'add', name],
    ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, 'link', 'add', 'rbbr0', 'type', 'bridge'],
    ['-n', name, 'addr', 'add', `${hostIp}/24`, 'dev', 'rbbr0'],
    ['-n', name, 'link', 'set', 'rbbr0', 'up'],
  ]) {
    const r = sh('ip', args);
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  return () => void sh('ip', ['netns', 'del', name]);
}

export interface Running {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** `ramboot run ARGS` with the test namespace as its "host" network; resolves once it says the
 * subhost is up (or rejects with its output when it ends first). */
export async function startRun(testNet: string, args: string[], timeoutMs = 90_000): Promise<Running> {
  const child = spawn('nsenter', [`--net=/run/netns/${testNet}`, process.execPath, ...CLI, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const up = await Promise.race([
    (async () => {
      for (let t = 0; t < timeoutMs; t += 100) {
        if (/ is up: /.test(err)) return true;
        await sleep(100);
      }
      return false;
    })(),
    exit.then(() => false),
  ]);
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`ramboot run did not come up: ${err}`);
  }
  return { child, stderr: () => err, exit };
}

export function readStateNow(name: string): SubhostState {
  return JSON.parse(readFileSync(`${STATE_DIR}/${name}.json`, 'utf8')) as SubhostState;
}

export const nsOf = (pid: number | 'self', ns: string) => readlinkSync(`/proc/${pid}/ns/${ns}`);

/** Everything a stopped subhost must not leave: a mount, a loop device on the image, its
 * network namespace, a host end, a process in its PID namespace, its state. Polls briefly:
 * the kernel frees a lazily released loop device asynchronously. */
export async function leftovers(o: { name: string; testNet: string; image?: string; pidNs: string; live: string }): Promise<string[]> {
  let found: string[] = [];
  for (let t = 0; t < 10_000; t += 200) {
    found = [];
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    if (mountinfo.includes(`subhost-${o.name}`) || mountinfo.includes(` ${o.live} `)) found.push('a mount');
    if (o.image) {
      const loops = sh('losetup', ['-j', o.image]).stdout.trim();
      if (loops) found.push(`loop device: ${loops}`);
    }
    if (existsSync(`/run/netns/${o.name}`)) found.push(`/run/netns/${o.name}`);
    if (sh('ip', ['-n', o.testNet, 'link', 'show', `${o.name}0`]).status === 0) found.push(`host end ${o.name}0`);
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/pid`) === o.pidNs) found.push(`process ${pid} in the subhost's PID namespace`);
      } catch {
        /* gone meanwhile */
      }
    }
    if (existsSync(`${STATE_DIR}/${o.name}.json`) || existsSync(`${STATE_DIR}/${o.name}.d`)) found.push('state');
    if (found.length === 0) return found;
    await sleep(200);
  }
  return found;
}
