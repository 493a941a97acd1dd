// Which kernel a root tree boots: /boot/vmlinuz-KVER with /lib/modules/KVER (or the merged-/usr
// /usr/lib/modules/KVER). Two kernels and no --kver is an error that lists them, because
// guessing the newest is how an image set ends up with modules that do not match its kernel.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../errors.js';

export interface KernelChoice {
  kver: string;
  vmlinuz: string;
  modulesDir: string;
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

export async function modulesDirOf(root: string, kver: string): Promise<string | undefined> {
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    const dir = join(root, base, kver);
    if (await isDir(dir)) return dir;
  }
  return undefined;
}

/** Kernel versions with a vmlinuz in /boot of the root, sorted. */
export async function listRootKernels(root: string): Promise<string[]> {
  const names = await readdir(join(root, 'boot')).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .sort();
}

export async function findKernel(root: string, opts: { kver?: string; kernel?: string } = {}): Promise<KernelChoice> {
  if (!(await isDir(root))) throw inputError(`root tree ${root} is not a directory`, 'give --root the top of an unpacked root tree');
  let kver = opts.kver;
  if (!kver) {
    const found = await listRootKernels(root);
    if (found.length === 0) {
      throw inputError(`no /boot/vmlinuz-* in ${root}`, 'install a kernel package into the root, or give --kernel FILE and --kver VER');
    }
    if (found.length > 1) throw inputError(`${root} has ${found.length} kernels: ${found.join(', ')}`, 'choose one with --kver');
    kver = found[0]!;
  }
  const vmlinuz = opts.kernel ?? join(root, 'boot', `vmlinuz-${kver}`);
  if (!(await isFile(vmlinuz))) {
    throw inputError(`kernel image ${vmlinuz} not found`, opts.kernel ? 'check the --kernel path' : `install the ${kver} kernel into the root or give --kernel FILE`);
  }
  const modulesDir = await modulesDirOf(root, kver);
  if (!modulesDir) throw inputError(`no /lib/modules/${kver} in ${root}`, `install the modules of ${kver} into the root or pick another --kver`);
  return { kver, vmlinuz, modulesDir };
}
