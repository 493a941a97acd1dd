// Fetch and unpack a Debian kernel package for tests and the demo. The bookworm mirror moves
// (the cloud kernel went from 6.1.0-50 to 6.1.0-56 within an hour), so the version is always
// resolved from the metapackage (linux-image-cloud-amd64 -> linux-image-<kver>-cloud-amd64),
// never hard-coded. The unpacked tree is cached per exact package file name.
// An arm64 flavour on an amd64 host is asked of apt with the :arm64 qualifier (apt needs
// `dpkg --add-architecture arm64 && apt-get update` once; scripts/setup.sh does it).
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inputError } from '../errors.js';
import { hostArch, type Arch } from '../elf/machine.js';
import { runTool } from '../util/run-tool.js';

export type KernelFlavour = 'cloud-amd64' | 'amd64' | 'cloud-arm64' | 'arm64';

/** The Debian architecture a flavour's packages are built for. */
export const archOfFlavour = (flavour: KernelFlavour): Arch => (flavour.endsWith('arm64') ? 'arm64' : 'amd64');

/** apt's name for a package of the flavour's architecture: qualified when it is not this host's. */
const aptName = (pkg: string, flavour: KernelFlavour) => (archOfFlavour(flavour) === hostArch() ? pkg : `${pkg}:${archOfFlavour(flavour)}`);

export interface DebianKernel {
  /** e.g. 6.1.0-28-cloud-amd64 */
  kver: string;
  /** Directory the package was unpacked into (has boot/ and lib/modules/). */
  root: string;
  vmlinuz: string;
  modulesDir: string;
  packageName: string;
}

export function cacheDir(): string {
  return process.env.RAMBOOT_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ramboot');
}

/** linux-image-cloud-amd64 -> linux-image-6.1.0-28-cloud-amd64 (from the apt cache). */
export async function resolveKernelPackage(flavour: KernelFlavour): Promise<string> {
  const meta = `linux-image-${flavour}`;
  const { stdout } = await runTool('apt-cache', ['depends', '--no-recommends', '--no-suggests', aptName(meta, flavour)]);
  const pattern = new RegExp(`Depends:\\s*(linux-image-[0-9][^\\s:]*-${flavour})\\b`);
  const match = stdout.match(pattern);
  if (!match?.[1]) {
    const fix = archOfFlavour(flavour) === hostArch() ? 'run apt-get update on a Debian machine' : `dpkg --add-architecture ${archOfFlavour(flavour)} && apt-get update`;
    throw inputError(`cannot resolve the kernel package behind ${meta}`, fix);
  }
  return match[1];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Download (apt-get download) and unpack (dpkg -x) the current Debian kernel of a flavour. */
export async function fetchDebianKernel(flavour: KernelFlavour = 'cloud-amd64'): Promise<DebianKernel> {
  const packageName = await resolveKernelPackage(flavour);
  const kver = packageName.replace(/^linux-image-/, '');
  const base = join(cacheDir(), 'kernels');
  const root = join(base, packageName);
  if (!(await exists(join(root, 'boot', `vmlinuz-${kver}`)))) {
    const work = `${root}.tmp-${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(join(work, 'deb'), { recursive: true });
    await runTool('apt-get', ['download', aptName(packageName, flavour)], { cwd: join(work, 'deb') });
    const debs = (await readdir(join(work, 'deb'))).filter((f) => f.endsWith('.deb'));
    if (debs.length !== 1 || !debs[0]) throw inputError(`apt-get download ${packageName} gave no single .deb`);
    await runTool('dpkg', ['-x', join(work, 'deb', debs[0]), join(work, 'tree')]);
    await rm(root, { recursive: true, force: true });
    await rename(join(work, 'tree'), root);
    await rm(work, { recursive: true, force: true });
  }
  return {
    kver,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${kver}`),
    modulesDir: join(root, 'lib', 'modules', kver),
    packageName,
  };
}
