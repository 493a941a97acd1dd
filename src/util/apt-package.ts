// One file out of a Debian package for another architecture than this machine's (an arm64
// busybox-static, an arm64 systemd-stub), through apt on this machine, so its mirror, proxy and
// signed indexes are the ones apt already trusts: apt-cache gives the candidate's version and the
// .deb's sha256 from the (InRelease-verified) Packages index, `apt-get download` fetches it from
// the pool, and the sha256 is checked again here before the file is unpacked. Needs the
// architecture added once (dpkg --add-architecture arm64 && apt-get update). The file is cached
// under CACHE/<arch>/<sha256 of the .deb>/, so a rebuild asks apt-cache (local) and reuses it
// without the network.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch } from '../elf/machine.js';
import { RambootError, toolError } from '../errors.js';
import { runTool } from './run-tool.js';

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

export interface AptFileRequest {
  /** The package name without the architecture, e.g. busybox-static. */
  name: string;
  arch: Arch;
  /** Where the file may be inside the .deb, first match wins (e.g. bin/busybox, usr/bin/busybox). */
  pathsInDeb: string[];
  /** The cached file's name. */
  fileName: string;
  /** The cache's top directory. */
  cacheDir: string;
  /** What it is for, ending the "knows no" error: "to put in an arm64 initrd". */
  purpose: string;
  /** The hint of every error but a checksum mismatch. */
  fixHint: string;
}

export interface AptFile {
  path: string;
  version: string;
  /** sha256 of the .deb, as the Packages index gives it. */
  debSha256: string;
}

/** The file `pathsInDeb` names in Debian's package `name:arch`, from the cache or through apt. */
export async function aptPackageFile(req: AptFileRequest): Promise<AptFile> {
  const pkg = `${req.name}:${req.arch}`;
  const shown = await runTool('apt-cache', ['show', '--no-all-versions', pkg]).catch((error: unknown) => {
    if (error instanceof RambootError && /not found|No packages found|Unable to locate/i.test(error.message)) return undefined;
    throw error;
  });
  const found = shown ? parseAptShow(shown.stdout) : undefined;
  if (!found) throw toolError(`apt on this machine knows no ${pkg} ${req.purpose}`, req.fixHint);
  const { version, sha256 } = found;
  const dir = join(req.cacheDir, req.arch, sha256);
  const path = join(dir, req.fileName);
  if (existsSync(path)) return { path, version, debSha256: sha256 };

  await mkdir(join(req.cacheDir, req.arch), { recursive: true });
  const work = await mkdtemp(join(req.cacheDir, req.arch, '.fetch-'));
  try {
    await runTool('apt-get', ['download', '-q', `${pkg}=${version}`], { cwd: work });
    const debs = (await readdir(work)).filter((f) => f.endsWith('.deb'));
    if (debs.length !== 1) throw toolError(`apt-get download ${pkg}=${version} gave ${debs.length} .deb files`, req.fixHint);
    const got = createHash('sha256').update(await readFile(join(work, debs[0]!))).digest('hex');
    if (got !== sha256) throw toolError(`${pkg} ${version}: sha256 ${got}, apt's index says ${sha256}`, 'apt-get update, then build again');
    await runTool('dpkg-deb', ['-x', join(work, debs[0]!), join(work, 'tree')]);
    const inDeb = req.pathsInDeb.map((p) => join(work, 'tree', p)).find((p) => existsSync(p));
    if (!inDeb) throw toolError(`${pkg} ${version} holds no ${req.pathsInDeb.join(' or ')}`, req.fixHint);
    await mkdir(dir, { recursive: true });
    await rename(inDeb, path);
    return { path, version, debSha256: sha256 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
