// The initrd's userland is one static busybox: this machine's busybox-static (/bin/busybox), or
// the file --busybox names. Never one from the root: a root may come from anywhere, and finding
// its applets means running the binary (`--list-full`) on the build host, as the user running
// the build (issue 9: a root is data, nothing of it is executed). Applet links are made at build
// time from that list, and every applet a hook says the boot side calls is checked here, so a
// missing one fails the build instead of the boot.
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { inputError, toolError } from '../errors.js';
import { readElfKind } from '../elf/interp.js';
import { runTool } from '../util/run-tool.js';
import type { InitrdPlan } from './plan.js';

/** Where Debian's busybox-static installs it. */
export const HOST_BUSYBOX = '/bin/busybox';

export interface BusyboxChoice {
  path: string;
  /** 'host': this machine's busybox-static; 'option': the file --busybox named. */
  origin: 'host' | 'option';
  applets: string[];
  size: number;
}

async function isStaticBusybox(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const kind = await readElfKind(path).catch(() => undefined);
  return kind !== undefined && kind.elf && kind.interpreter === undefined;
}

/** The static busybox to pack: `override` (--busybox) or this machine's; lists its applets. */
export async function findBusybox(override?: string): Promise<BusyboxChoice> {
  if (override !== undefined && !(await isStaticBusybox(override))) {
    throw inputError(`${override} is not a static busybox executable`, 'give a statically linked busybox (Debian: busybox-static)');
  }
  if (override === undefined && !(await isStaticBusybox(HOST_BUSYBOX))) {
    throw toolError(`no static busybox at ${HOST_BUSYBOX} on this machine`, 'apt-get install busybox-static, or give --busybox FILE');
  }
  const path = override ?? HOST_BUSYBOX;
  const { stdout } = await runTool(path, ['--list-full']);
  const applets = stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  return { path, origin: override === undefined ? 'host' : 'option', applets, size: (await stat(path)).size };
}

/** Applets the hooks need that this busybox lacks. */
export function missingApplets(choice: BusyboxChoice, wanted: Iterable<string>): string[] {
  const have = new Set(choice.applets.map((a) => posix.basename(a)));
  return [...new Set(wanted)].filter((a) => !have.has(a)).sort();
}

/** /bin/busybox plus a symlink for each applet at its usual path. */
export function addBusybox(plan: InitrdPlan, choice: BusyboxChoice): void {
  const requestedBy = `busybox (${choice.origin === 'host' ? `this machine's ${choice.path}` : `--busybox ${choice.path}`})`;
  plan.add({ path: 'bin/busybox', mode: 0o755, content: { kind: 'disk-file', path: choice.path, size: choice.size }, requestedBy });
  for (const applet of choice.applets) {
    const path = applet.replace(/^\/+/, '');
    if (path === 'bin/busybox' || plan.has(path)) continue;
    plan.addSymlink(path, posix.relative(posix.dirname(`/${path}`), '/bin/busybox'), requestedBy);
  }
}
