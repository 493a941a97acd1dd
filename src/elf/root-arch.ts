// Which architecture a root tree is for, read from its own ELF files: the first of a few
// programs every root has (its init, its shell), else one of the kernel's modules. Paths are
// resolved inside the root (a link to /bin/sh names the root's shell, never the host's), and
// only ELF headers are read: nothing of the root runs here.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../errors.js';
import { RootResolver } from '../rootfs/root-path.js';
import { archOfMachine, hostArch, machineName, readElfMachine, type Arch } from './machine.js';

/** Programs nearly every root has; /sbin/init is often a script or a link to systemd. */
const PROGRAMS = ['sbin/init', 'lib/systemd/systemd', 'bin/sh', 'bin/busybox', 'bin/bash', 'usr/bin/env', 'bin/ls'];

export interface ArchEvidence {
  /** undefined when the machine is neither amd64 nor arm64. */
  arch: Arch | undefined;
  machine: number;
  /** What was read, e.g. `/bin/sh` or `module virtio_net.ko`. */
  file: string;
}

async function firstModule(dir: string, depth = 0): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const module = entries.find((e) => e.isFile() && e.name.endsWith('.ko'));
  if (module) return join(dir, module.name);
  if (depth > 8) return undefined;
  for (const e of entries.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const found = await firstModule(join(dir, e.name), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The first ELF file that tells the root's architecture, or undefined when it has none. */
export async function rootArchEvidence(root: string, modulesDir?: string): Promise<ArchEvidence | undefined> {
  const paths = new RootResolver(root);
  for (const program of PROGRAMS) {
    const entry = await paths.lookup(program).catch(() => undefined);
    if (!entry?.stat.isFile()) continue;
    const machine = await readElfMachine(entry.hostPath).catch(() => undefined);
    if (machine !== undefined) return { arch: archOfMachine(machine), machine, file: `/${program}` };
  }
  const module = modulesDir ? await firstModule(join(modulesDir, 'kernel')) : undefined;
  const machine = module ? await readElfMachine(module).catch(() => undefined) : undefined;
  if (module && machine !== undefined) return { arch: archOfMachine(machine), machine, file: `module ${module.slice(modulesDir!.length + 1)}` };
  return undefined;
}

/** The architecture to build for: `given` (--arch), checked against the root's files, else
 * what the root's files say, else this host's (a root with no ELF file, as in tests). */
export async function resolveArch(root: string, given: Arch | undefined, modulesDir?: string): Promise<Arch> {
  const evidence = await rootArchEvidence(root, modulesDir);
  if (evidence && !evidence.arch) {
    throw inputError(`the root's ${evidence.file} is a ${machineName(evidence.machine)} binary; ramboot builds amd64 and arm64 sets`, 'give a Debian amd64 or arm64 root');
  }
  if (given && evidence && evidence.arch !== given) {
    throw inputError(`--arch ${given}, but the root's ${evidence.file} is ${evidence.arch}`, `drop --arch (the root is ${evidence.arch}) or give an ${given} root`);
  }
  return given ?? evidence?.arch ?? hostArch();
}
