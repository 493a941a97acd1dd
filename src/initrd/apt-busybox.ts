// The static busybox for a set of another architecture than this machine's (ramboot build
// --arch arm64 on an amd64 host): Debian's busybox-static for that architecture, through apt
// on this machine, so its mirror, proxy and signed indexes are the ones apt already trusts:
// apt-cache gives the candidate's version and the .deb's sha256 from the (InRelease-verified)
// Packages index, `apt-get download` fetches it from the pool, and the sha256 is checked again
// here before the binary is unpacked. Needs the architecture added once:
//   dpkg --add-architecture arm64 && apt-get update
// The binary is cached under /var/cache/ramboot/busybox-static/<arch>/<sha256 of the .deb>/,
// so a rebuild asks apt-cache (local) and reuses it without the network.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RambootError, toolError } from '../errors.js';
import type { Arch } from '../elf/machine.js';
import { runTool } from '../util/run-tool.js';

export const aptBusyboxCacheDir = () => process.env.RAMBOOT_BUSYBOX_STATIC_CACHE ?? '/var/cache/ramboot/busybox-static';

export interface AptBusybox {
  path: string;
  version: string;
  /** sha256 of the .deb, as the Packages index gives it. */
  debSha256: string;
}

export interface AptCandidate {
  version: string;
  sha256: string;
}

/** Version and SHA256 of the first stanza of `apt-cache show` output. */
export function parseAptShow(text: string): AptCandidate | undefined {
  const stanza = text.split(/\n\n+/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}: (\\S+)$`, 'm').exec(stanza)?.[1];
  const version = field('Version');
  const sha256 = field('SHA256');
  if (!version || !sha256 || !/^[A-Za-z0-9.:+~-]+$/.test(version) || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  return { version, sha256 };
}

const fixHint = (arch: Arch) => `dpkg --add-architecture ${arch} && apt-get update, or give --busybox FILE (a static ${arch} busybox)`;

async function candidate(arch: Arch): Promise<AptCandidate> {
  const pkg = `busybox-static:${arch}`;
  const shown = await runTool('apt-cache', ['show', '--no-all-versions', pkg]).catch((error: unknown) => {
    if (error instanceof RambootError && /not found|No packages found|Unable to locate/i.test(error.message)) return undefined;
    throw error;
  });
  const found = shown ? parseAptShow(shown.stdout) : undefined;
  if (!found) throw toolError(`apt on this machine knows no ${pkg} to put in an ${arch} initrd`, fixHint(arch));
  return found;
}

/** Debian's busybox-static for `arch`, from the cache or through apt. */
export async function aptBusybox(arch: Arch): Promise<AptBusybox> {
  const { version, sha256 } = await candidate(arch);
  const dir = join(aptBusyboxCacheDir(), arch, sha256);
  const path = join(dir, 'busybox');
  if (existsSync(path)) return { path, version, debSha256: sha256 };

  await mkdir(join(aptBusyboxCacheDir(), arch), { recursive: true });
  const work = await mkdtemp(join(aptBusyboxCacheDir(), arch, '.fetch-'));
  try {
    await runTool('apt-get', ['download', '-q', `busybox-static:${arch}=${version}`], { cwd: work });
    const debs = (await readdir(work)).filter((f) => f.endsWith('.deb'));
    if (debs.length !== 1) throw toolError(`apt-get download busybox-static:${arch}=${version} gave ${debs.length} .deb files`, fixHint(arch));
    const got = createHash('sha256').update(await readFile(join(work, debs[0]!))).digest('hex');
    if (got !== sha256) throw toolError(`busybox-static:${arch} ${version}: sha256 ${got}, apt's index says ${sha256}`, 'apt-get update, then build again');
    await runTool('dpkg-deb', ['-x', join(work, debs[0]!), join(work, 'tree')]);
    // bookworm installs it as /bin/busybox, trixie (merged /usr) as /usr/bin/busybox.
    const inDeb = ['bin/busybox', 'usr/bin/busybox'].map((p) => join(work, 'tree', p)).find((p) => existsSync(p));
    if (!inDeb) throw toolError(`busybox-static:${arch} ${version} holds no bin/busybox`, fixHint(arch));
    await mkdir(dir, { recursive: true });
    await rename(inDeb, path);
    return { path, version, debSha256: sha256 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
