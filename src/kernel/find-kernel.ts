// Which kernel a root tree boots: /boot/vmlinuz-KVER with /lib/modules/KVER (or the merged-/usr
// /usr/lib/modules/KVER). Two kernels and no --kver is an error that lists them, because
// guessing the newest is how an image set ends up with modules that do not match its kernel.
// Every path is resolved inside the root (src/rootfs/root-path.ts): `vmlinuz-KVER -> /etc/shadow`
// names the root's /etc/shadow, never the build host's.
import { readdir, stat } from 'node:fs/promises';
import { inputError } from '../errors.js';
import { RootResolver } from '../rootfs/root-path.js';

export interface KernelChoice {
  kver: string;
  /** Host path of the kernel image: the root's, symlinks resolved inside the root, or --kernel's. */
  vmlinuz: string;
  /** Host path of the root's modules directory, symlinks resolved inside the root. */
  modulesDir: string;
}

/** Host path of lib/modules/KVER (or usr/lib/modules/KVER) of the root, if it is a directory. */
export async function modulesDirOf(root: string | RootResolver, kver: string): Promise<string | undefined> {
  const paths = typeof root === 'string' ? new RootResolver(root) : root;
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    const entry = await paths.lookup(`${base}/${kver}`);
    if (entry?.stat.isDirectory()) return entry.hostPath;
  }
  return undefined;
}

/** Kernel versions with a vmlinuz in /boot of the root, sorted. */
export async function listRootKernels(root: string | RootResolver): Promise<string[]> {
  const paths = typeof root === 'string' ? new RootResolver(root) : root;
  const boot = await paths.lookup('boot');
  if (!boot?.stat.isDirectory()) return [];
  const names = await readdir(boot.hostPath).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .sort();
}

export async function findKernel(root: string, opts: { kver?: string; kernel?: string } = {}): Promise<KernelChoice> {
  const paths = new RootResolver(root);
  const top = await paths.lookup('/');
  if (!top?.stat.isDirectory()) throw inputError(`root tree ${root} is not a directory`, 'give --root the top of an unpacked root tree');
  let kver = opts.kver;
  if (!kver) {
    const found = await listRootKernels(paths);
    if (found.length === 0) {
      throw inputError(`no /boot/vmlinuz-* in ${root}`, 'install a kernel package into the root, or give --kernel FILE and --kver VER');
    }
    if (found.length > 1) throw inputError(`${root} has ${found.length} kernels: ${found.join(', ')}`, 'choose one with --kver');
    kver = found[0]!;
  }
  const vmlinuz = opts.kernel === undefined ? await rootKernelImage(paths, kver) : await givenKernelImage(opts.kernel);
  const modulesDir = await modulesDirOf(paths, kver);
  if (!modulesDir) throw inputError(`no /lib/modules/${kver} in the root ${root}`, `install the modules of ${kver} into the root or pick another --kver`);
  return { kver, vmlinuz, modulesDir };
}

async function rootKernelImage(paths: RootResolver, kver: string): Promise<string> {
  const entry = await paths.lookup(`boot/vmlinuz-${kver}`);
  if (!entry?.stat.isFile()) {
    throw inputError(`kernel image /boot/vmlinuz-${kver} is not in the root ${paths.root}`, `install the ${kver} kernel into the root or give --kernel FILE`);
  }
  return entry.hostPath;
}

/** --kernel FILE is the user's explicit choice of a host file. */
async function givenKernelImage(file: string): Promise<string> {
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw inputError(`kernel image ${file} not found`, 'check the --kernel path');
  return file;
}
