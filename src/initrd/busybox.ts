// The initrd's userland is one static busybox: this machine's busybox-static (/bin/busybox), or
// the file --busybox names. Never one from the root: a root may come from anywhere, and finding
// its applets means running the binary (`--list-full`) on the build host, as the user running
// the build (issue 9: a root is data, nothing of it is executed). Applet links are made at build
// time from that list, and every applet a hook says the boot side calls is checked here, so a
// missing one fails the build instead of the boot.
// A set for another architecture (--arch arm64 on an amd64 host) cannot run its busybox here:
// it is --busybox FILE or Debian's busybox-static for that architecture through apt
// (apt-busybox.ts), and its applets are read from the binary's tables (busybox-applets.ts).
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { inputError, toolError } from '../errors.js';
import { readElfKind } from '../elf/interp.js';
import { hostArch, machineName, MACHINE_OF, type Arch } from '../elf/machine.js';
import { aptBusybox } from './apt-busybox.js';
import { readAppletTable } from './busybox-applets.js';
import { runToolDirect } from '../util/run-tool.js';
import type { InitrdPlan } from './plan.js';

/** Where Debian's busybox-static installs it. */
export const HOST_BUSYBOX = '/bin/busybox';

export interface BusyboxChoice {
  path: string;
  /** 'host': this machine's busybox-static; 'option': the file --busybox named; 'debian':
   * Debian's busybox-static of a foreign architecture, through apt. */
  origin: 'host' | 'option' | 'debian';
  arch: Arch;
  applets: string[];
  size: number;
}

/** e_machine of a static ELF executable at `path`, undefined for anything else. */
async function staticMachine(path: string): Promise<number | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const kind = await readElfKind(path).catch(() => undefined);
  return kind?.elf && kind.interpreter === undefined ? kind.machine : undefined;
}

/** The applets as `--list-full` names them: by running it when it runs here, else read from
 * the binary (it is another architecture's). */
export async function listApplets(path: string, machine: number): Promise<string[]> {
  if (machine !== MACHINE_OF[hostArch()]) return readAppletTable(await readFile(path), path);
  const { stdout } = await runToolDirect(path, ['--list-full']);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** The static busybox to pack for `arch`: `override` (--busybox), this machine's when `arch` is
 * this machine's, else Debian's through apt; lists its applets. */
export async function findBusybox(override?: string, arch: Arch = hostArch()): Promise<BusyboxChoice> {
  const want = MACHINE_OF[arch];
  let path = override ?? HOST_BUSYBOX;
  let origin: BusyboxChoice['origin'] = override === undefined ? 'host' : 'option';
  if (override === undefined && arch !== hostArch()) {
    path = (await aptBusybox(arch)).path;
    origin = 'debian';
  }
  const machine = await staticMachine(path);
  if (machine === undefined && origin === 'option') {
    throw inputError(`${override} is not a static busybox executable`, 'give a statically linked busybox (Debian: busybox-static)');
  }
  if (machine === undefined) {
    throw toolError(`no static busybox at ${path} on this machine`, 'apt-get install busybox-static, or give --busybox FILE');
  }
  if (machine !== want) {
    throw inputError(`busybox ${path} is ${machineName(machine)}, the set is ${arch}`, `give --busybox a static ${arch} busybox (Debian: busybox-static:${arch})`);
  }
  const applets = (await listApplets(path, machine)).sort();
  return { path, origin, arch, applets, size: (await stat(path)).size };
}

/** Applets the hooks need that this busybox lacks. */
export function missingApplets(choice: BusyboxChoice, wanted: Iterable<string>): string[] {
  const have = new Set(choice.applets.map((a) => posix.basename(a)));
  return [...new Set(wanted)].filter((a) => !have.has(a)).sort();
}

/** /bin/busybox plus a symlink for each applet at its usual path. */
export function addBusybox(plan: InitrdPlan, choice: BusyboxChoice): void {
  const from = { host: `this machine's ${choice.path}`, option: `--busybox ${choice.path}`, debian: `Debian's busybox-static:${choice.arch}, ${choice.path}` }[choice.origin];
  const requestedBy = `busybox (${from})`;
  plan.add({ path: 'bin/busybox', mode: 0o755, content: { kind: 'disk-file', path: choice.path, size: choice.size }, requestedBy });
  for (const applet of choice.applets) {
    const path = applet.replace(/^\/+/, '');
    if (path === 'bin/busybox' || plan.has(path)) continue;
    plan.addSymlink(path, posix.relative(posix.dirname(`/${path}`), '/bin/busybox'), requestedBy);
  }
}
