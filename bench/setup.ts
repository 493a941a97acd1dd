// The benchmark's inputs, made once and cached under ${RAMBOOT_CACHE:-~/.cache/ramboot}/bench/:
//   roots/base    debootstrap --variant=minbase bookworm + the cloud kernel (dpkg -x, depmod)
//   roots/dracut  a copy of base + dracut dracut-live dracut-network curl (apt, in a chroot)
//   roots/itools  a copy of base + initramfs-tools live-boot live-boot-initramfs-tools
// Each tree is built under a .tmp name and renamed when complete, with a JSON stamp next to it,
// so an interrupted run resumes at the first missing tree. The mirror is the host's own apt
// mirror (src/lab/apt-sources.ts); the kernel version is resolved from linux-image-cloud-amd64
// once and then pinned by the base stamp (the mirror moves; docs/facts.md).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, resolveKernelPackage } from '../src/lab/debian-kernel.js';
import { debootstrapMinbase } from '../src/lab/stock-root.js';
import { runTool } from '../src/util/run-tool.js';
import { primaryMirror, readHostAptSources, renderSourcesList, selectReleaseSources } from '../src/lab/apt-sources.js';
import { assertNothingMounted, withChrootMounts } from './chroot.js';

export const RELEASE = 'bookworm';

export interface BaseStamp {
  release: string;
  mirror: string;
  sourcesList: string;
  kernelPackage: string;
  kernelDeb: string;
  kver: string;
  created: string;
}

export interface PeerStamp {
  packages: string[];
  versions: Record<string, string>;
  created: string;
}

export interface BenchSetup {
  dir: string;
  base: { root: string; stamp: BaseStamp; versions: Record<string, string> };
  dracut: { root: string; stamp: PeerStamp };
  itools: { root: string; stamp: PeerStamp };
}

export const DRACUT_PACKAGES = ['dracut', 'dracut-live', 'dracut-network', 'curl'];
export const ITOOLS_PACKAGES = ['initramfs-tools', 'live-boot', 'live-boot-initramfs-tools'];
/** Installed alongside both peers: initramfs-tools only *recommends* zstd (its default COMPRESS)
 * and falls back to gzip without it; with --no-install-recommends it has to be named. */
const COMMON_EXTRA = ['zstd'];
/** dracut's network-legacy module needs pgrep (procps, priority important: in every normal
 * install, but not in minbase); without it dracut-network's postinst fails. */
const DRACUT_EXTRA = ['procps'];

const CHROOT_ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'DEBIAN_FRONTEND=noninteractive', 'LC_ALL=C.UTF-8', 'HOME=/root'];

export function benchDir(): string {
  return join(cacheDir(), 'bench');
}

export type Step = (text: string) => void;

async function readJson<T>(path: string): Promise<T | undefined> {
  return readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as T,
    () => undefined,
  );
}

export async function chrootRun(root: string, command: readonly string[]): Promise<string> {
  const { stdout } = await runTool('chroot', [root, ...CHROOT_ENV, ...command]);
  return stdout;
}

/** Package -> version of every installed package in a root. */
export async function readInstalledVersions(root: string): Promise<Record<string, string>> {
  const { stdout } = await runTool('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\n']);
  const versions: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [status, pkg, version] = line.split('\t');
    if (status?.startsWith('ii') && pkg && version) versions[pkg] = version;
  }
  return versions;
}

async function ensureHostTools(step: Step): Promise<void> {
  const wanted: Array<[string, string]> = [
    ['/usr/sbin/debootstrap', 'debootstrap'],
    ['/usr/bin/time', 'time'],
    ['/usr/bin/cpio', 'cpio'],
    ['/usr/bin/mksquashfs', 'squashfs-tools'],
    ['/usr/bin/zstd', 'zstd'],
    ['/usr/bin/qemu-system-x86_64', 'qemu-system-x86'],
  ];
  const missing = wanted.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  step(`installing on this machine: ${missing.join(' ')}`);
  await runTool('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

async function buildBase(dir: string, step: Step): Promise<BaseStamp> {
  const sources = selectReleaseSources(await readHostAptSources(), RELEASE);
  const mirror = primaryMirror(sources, RELEASE);
  if (!mirror) throw new Error(`this machine's apt has no ${RELEASE} main source (looked in /etc/apt/sources.list{,.d})`);
  const kernelPackage = await resolveKernelPackage('cloud-amd64');
  const kver = kernelPackage.replace(/^linux-image-/, '');
  const work = join(dir, 'roots', 'base.tmp');
  await assertNothingMounted(work);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  step(`debootstrap --variant=minbase ${RELEASE} from ${mirror} (a few minutes)`);
  await debootstrapMinbase({ suite: RELEASE, dir: work, mirror });
  const sourcesList = renderSourcesList(sources);
  await writeFile(join(work, 'etc/apt/sources.list'), sourcesList);
  // No daemon may start inside a chroot (invoke-rc.d honours policy-rc.d, exit 101 = forbidden).
  await writeFile(join(work, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });

  step(`kernel ${kernelPackage}: apt-get download + dpkg -x into the root, depmod`);
  const debs = join(dir, 'debs');
  await mkdir(debs, { recursive: true });
  let deb = (await readdir(debs)).find((f) => f.startsWith(`${kernelPackage}_`) && f.endsWith('.deb'));
  if (!deb) {
    await runTool('apt-get', ['download', kernelPackage], { cwd: debs });
    deb = (await readdir(debs)).find((f) => f.startsWith(`${kernelPackage}_`) && f.endsWith('.deb'));
  }
  if (!deb) throw new Error(`apt-get download ${kernelPackage} left no .deb in ${debs}`);
  // Not `dpkg -x`: its tar replaces the root's /lib -> usr/lib symlink (merged /usr) with a real
  // directory holding only modules/, which breaks every binary in the chroot. tar's
  // --keep-directory-symlink follows it, as dpkg itself does when installing.
  await runTool('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x --keep-directory-symlink -C "$2"', 'sh', join(debs, deb), work]);
  // The .deb ships no modules.dep (docs/facts.md); its postinst would run depmod. dracut and
  // mkinitramfs need it, and ramboot reads it when present, so all three see the same tree.
  await runTool('depmod', ['-b', work, kver]);
  await chrootRun(work, ['apt-get', 'clean']);
  await rename(work, join(dir, 'roots', 'base'));
  return { release: RELEASE, mirror, sourcesList, kernelPackage, kernelDeb: deb, kver, created: new Date().toISOString() };
}

async function buildPeer(dir: string, name: string, packages: readonly string[], step: Step): Promise<PeerStamp> {
  const base = join(dir, 'roots', 'base');
  const work = join(dir, 'roots', `${name}.tmp`);
  await assertNothingMounted(work);
  await rm(work, { recursive: true, force: true });
  step(`roots/${name}: copy of base + apt-get install --no-install-recommends ${packages.join(' ')}`);
  await runTool('cp', ['-a', base, work]);
  await withChrootMounts(work, async () => {
    await chrootRun(work, ['apt-get', 'update']);
    await chrootRun(work, ['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
    await chrootRun(work, ['apt-get', 'clean']);
  });
  const all = await readInstalledVersions(work);
  await rename(work, join(dir, 'roots', name));
  return { packages: [...packages], versions: all, created: new Date().toISOString() };
}

export async function ensureSetup(step: Step): Promise<BenchSetup> {
  const dir = benchDir();
  await mkdir(join(dir, 'roots'), { recursive: true });
  await ensureHostTools(step);

  const baseRoot = join(dir, 'roots', 'base');
  const baseStampPath = join(dir, 'roots', 'base.json');
  let baseStamp = existsSync(baseRoot) ? await readJson<BaseStamp>(baseStampPath) : undefined;
  if (!baseStamp) {
    baseStamp = await buildBase(dir, step);
    await writeFile(baseStampPath, JSON.stringify(baseStamp, null, 2));
  } else {
    step(`roots/base cached (kernel ${baseStamp.kver}, mirror ${baseStamp.mirror})`);
  }

  const peer = async (name: string, packages: string[]) => {
    const root = join(dir, 'roots', name);
    const stampPath = join(dir, 'roots', `${name}.json`);
    let stamp = existsSync(root) ? await readJson<PeerStamp>(stampPath) : undefined;
    if (!stamp) {
      stamp = await buildPeer(dir, name, packages, step);
      await writeFile(stampPath, JSON.stringify(stamp, null, 2));
    } else {
      step(`roots/${name} cached`);
    }
    return { root, stamp };
  };
  const dracut = await peer('dracut', [...DRACUT_PACKAGES, ...DRACUT_EXTRA, ...COMMON_EXTRA]);
  const itools = await peer('itools', [...ITOOLS_PACKAGES, ...COMMON_EXTRA]);
  return { dir, base: { root: baseRoot, stamp: baseStamp, versions: await readInstalledVersions(baseRoot) }, dracut, itools };
}
