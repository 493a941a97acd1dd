// What `ramboot ps`, `stop` and `enter` know about running subhosts: one JSON file per subhost
// in /run/ramboot/subhosts (a tmpfs on Debian, so a reboot forgets them, as it ends them). The
// file is written by the `ramboot run` that owns the subhost once it is up, and removed by it
// after its clean stop; a file whose owner is gone is stale, and `stop` cleans up after it.
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const STATE_DIR = '/run/ramboot/subhosts';

export interface SubhostState {
  name: string;
  /** The `ramboot run` process that owns the subhost (SIGTERM to it is a clean stop). */
  runPid: number;
  /** PID 1 of the subhost as the host sees it (the reaper, or the image's init with --init). */
  initPid: number;
  mode: 'services' | 'init';
  lower: string;
  upper: string;
  live: string;
  /** Host ends with their bridges, e.g. ["sub0=br0"]. */
  cables: string[];
  /** The host ends alone, for cleanup. */
  hostEnds: string[];
  /** The UPPER script to run with ACTION=teardown, when UPPER was one. */
  upperScript?: string;
  log: string;
  /** ms since the epoch. */
  started: number;
}

const fileOf = (name: string) => join(STATE_DIR, `${name}.json`);

/** A process that runs: a zombie (ended, not yet reaped by its parent) counts as gone. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // proc(5): "pid (comm) state ..."; comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function writeState(state: SubhostState): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true, mode: 0o755 });
  const tmp = `${fileOf(state.name)}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, fileOf(state.name));
}

export async function removeState(name: string): Promise<void> {
  await rm(fileOf(name), { force: true });
}

/** The recorded state of NAME, running or stale; undefined when there is none. */
export async function readStateFile(name: string): Promise<SubhostState | undefined> {
  const text = await readFile(fileOf(name), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SubhostState;
  } catch {
    return undefined;
  }
}

/** NAME's state when its owner is still running. */
export async function readState(name: string): Promise<SubhostState | undefined> {
  const state = await readStateFile(name);
  return state && alive(state.runPid) ? state : undefined;
}

/** Every recorded subhost, with whether its owner still runs. */
export async function listStates(): Promise<(SubhostState & { running: boolean })[]> {
  const names = await readdir(STATE_DIR).catch(() => [] as string[]);
  const states = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readStateFile(n.slice(0, -5))));
  return states.filter((s): s is SubhostState => s !== undefined).map((s) => ({ ...s, running: alive(s.runPid) })).sort((a, b) => a.name.localeCompare(b.name));
}
