// The initrd's userland is one static busybox. It comes from the target root when the root has a
// static one (so the initrd matches the distribution being booted), else from the host's
// busybox-static package. Applet links are made at build time from `busybox --list-full`, and
// every applet a hook says the boot side calls is checked here, so a missing one fails the
// build instead of the boot.
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { inputError, toolError } from '../errors.js';
import { readElfKind } from '../elf/interp.js';
import { runTool } from '../util/run-tool.js';
import type { InitrdPlan } from './plan.js';

const CANDIDATES = ['bin/busybox', 'usr/bin/busybox', 'sbin/busybox', 'usr/sbin/busybox'];
const HOST_BUSYBOX = '/bin/busybox';

export interface BusyboxChoice {
  path: string;
  origin: 'root' | 'host';
  applets: string[];
  size: number;
}

async function isStaticBusybox(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const kind = await readElfKind(path).catch(() => undefined);
  return kind !== undefined && kind.elf && kind.interpreter === undefined;
}

/** Find a static busybox: the root's first, then the host's; list its applets. */
export async function findBusybox(root: string, override?: string): Promise<BusyboxChoice> {
  let path: string | undefined;
  let origin: BusyboxChoice['origin'] = 'root';
  if (override) {
    if (!(await isStaticBusybox(override))) throw inputError(`${override} is not a static busybox executable`, 'give a statically linked busybox (Debian: busybox-static)');
    path = override;
    origin = 'host';
  }
  for (const rel of override ? [] : CANDIDATES) {
    if (await isStaticBusybox(join(root, rel))) {
      path = join(root, rel);
      break;
    }
  }
  if (!path) {
    if (!(await isStaticBusybox(HOST_BUSYBOX))) {
      throw toolError('no static busybox in the root or on this machine', 'apt-get install busybox-static (or install it into the root)');
    }
    path = HOST_BUSYBOX;
    origin = 'host';
  }
  const { stdout } = await runTool(path, ['--list-full']);
  const applets = stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  return { path, origin, applets, size: (await stat(path)).size };
}

/** Applets the hooks need that this busybox lacks. */
export function missingApplets(choice: BusyboxChoice, wanted: Iterable<string>): string[] {
  const have = new Set(choice.applets.map((a) => posix.basename(a)));
  return [...new Set(wanted)].filter((a) => !have.has(a)).sort();
}

/** /bin/busybox plus a symlink for each applet at its usual path. */
export function addBusybox(plan: InitrdPlan, choice: BusyboxChoice): void {
  const requestedBy = `busybox (${choice.origin === 'root' ? 'from the root' : 'from this machine'})`;
  plan.add({ path: 'bin/busybox', mode: 0o755, content: { kind: 'disk-file', path: choice.path, size: choice.size }, requestedBy });
  for (const applet of choice.applets) {
    const path = applet.replace(/^\/+/, '');
    if (path === 'bin/busybox' || plan.has(path)) continue;
    plan.addSymlink(path, posix.relative(posix.dirname(`/${path}`), '/bin/busybox'), requestedBy);
  }
}
