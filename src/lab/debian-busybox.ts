// A static busybox with udhcpc6 (DHCPv6), for sets that boot with ip=dhcp6: Debian 12's
// busybox-static 1.35 has none, Debian 13's (trixie, 1.37) has. It is a static binary, so it runs
// on any x86-64 machine and `--busybox FILE` packs it into an initrd built here.
// The chain of trust is apt's: trixie's InRelease checked with gpgv against this machine's
// Debian archive keyring, the sha256 of main/binary-amd64/Packages.xz from it, the .deb's sha256
// from that Packages stanza. The extracted binary is cached under
// /var/cache/ramboot/busybox/<release>/<version>/busybox; a cached one is used without asking
// the mirror again (refresh: true asks), so tests run offline once it is there.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toolError } from '../errors.js';
import { runTool } from '../util/run-tool.js';

export const BUSYBOX_MIRROR = 'http://deb.debian.org/debian';
export const BUSYBOX_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface DebianBusybox {
  /** The extracted static binary. */
  path: string;
  /** The package version, e.g. 1:1.37.0-6+b9. */
  version: string;
  /** Its applets (`busybox --list`). */
  applets: string[];
}

export interface FetchBusyboxOptions {
  release?: string;
  mirror?: string;
  cacheDir?: string;
  /** Resolve the current version from the mirror even when one is cached. */
  refresh?: boolean;
}

export const busyboxCacheDir = () => process.env.RAMBOOT_BUSYBOX_CACHE ?? '/var/cache/ramboot/busybox';

/** One `Package:` stanza's fields from a Packages file (no continuation lines needed here). */
export function findPackageStanza(packages: string, name: string): Map<string, string> | undefined {
  for (const stanza of packages.split(/\n\n+/)) {
    if (!stanza.startsWith(`Package: ${name}\n`)) continue;
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
      if (m) fields.set(m[1]!, m[2]!);
    }
    return fields;
  }
  return undefined;
}

/** The sha256 the (verified) InRelease text gives for `path`, e.g. main/binary-amd64/Packages.xz. */
export function releaseSha256(inRelease: string, path: string): string | undefined {
  const section = inRelease.split(/^SHA256:$/m)[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^ ([0-9a-f]{64})\s+\d+\s+(\S+)$/.exec(line);
    if (m?.[2] === path) return m[1];
    if (line !== '' && !line.startsWith(' ')) break;
  }
  return undefined;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url).catch((error: unknown) => {
    throw toolError(`cannot reach ${url}: ${(error as Error).message}`, 'check the network, or give --busybox a busybox with udhcpc6 you have');
  });
  if (!response.ok) throw toolError(`${url}: ${response.status} ${response.statusText}`, 'the mirror moved on: run again with refresh, or pick another mirror');
  return Buffer.from(await response.arrayBuffer());
}

function checkSha256(what: string, data: Buffer, want: string): void {
  const got = createHash('sha256').update(data).digest('hex');
  if (got !== want) throw toolError(`${what}: sha256 ${got}, the signed index says ${want}`, 'a proxy or mirror served a different file; try again or another mirror');
}

async function listApplets(busybox: string): Promise<string[]> {
  const { stdout } = await runTool(busybox, ['--list']);
  return stdout.split('\n').filter(Boolean);
}

/** Version dirs are the version with ':' as '_' (1:1.37.0-6+b9 -> 1_1.37.0-6+b9). */
const versionDir = (version: string) => version.replaceAll(':', '_');

async function cached(dir: string): Promise<DebianBusybox | undefined> {
  const versions = (await readdir(dir).catch(() => [] as string[])).filter((v) => existsSync(join(dir, v, 'busybox'))).sort();
  const newest = versions.at(-1);
  if (newest === undefined) return undefined;
  const path = join(dir, newest, 'busybox');
  return { path, version: newest.replace(/^(\d+)_/, '$1:'), applets: await listApplets(path) };
}

/** Debian `release`'s busybox-static binary (default trixie), cached; it must have udhcpc6. */
export async function fetchDebianBusybox(opts: FetchBusyboxOptions = {}): Promise<DebianBusybox> {
  const release = opts.release ?? 'trixie';
  const mirror = opts.mirror ?? BUSYBOX_MIRROR;
  const dir = join(opts.cacheDir ?? busyboxCacheDir(), release);
  const have = opts.refresh ? undefined : await cached(dir);
  if (have) return requireUdhcpc6(have);

  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, '.fetch-'));
  try {
    // The signed index: gpgv writes only the text whose signature it checked.
    await writeFile(join(work, 'InRelease'), await download(`${mirror}/dists/${release}/InRelease`));
    await runTool('gpgv', ['--keyring', BUSYBOX_KEYRING, '--output', join(work, 'Release'), join(work, 'InRelease')]);
    const inRelease = await readFile(join(work, 'Release'), 'utf8');
    const indexPath = 'main/binary-amd64/Packages.xz';
    const indexSum = releaseSha256(inRelease, indexPath);
    if (!indexSum) throw toolError(`${release}'s InRelease lists no ${indexPath}`, 'check the release name');
    const index = await download(`${mirror}/dists/${release}/${indexPath}`);
    checkSha256(indexPath, index, indexSum);
    await writeFile(join(work, 'Packages.xz'), index);
    await runTool('xz', ['-d', join(work, 'Packages.xz')]);
    const packages = await readFile(join(work, 'Packages'), 'utf8');
    const stanza = findPackageStanza(packages, 'busybox-static');
    const filename = stanza?.get('Filename');
    const version = stanza?.get('Version');
    const sha256 = stanza?.get('SHA256');
    if (!filename || !version || !sha256 || !/^pool\/[A-Za-z0-9/._+~-]+\.deb$/.test(filename) || !/^[A-Za-z0-9.:+~-]+$/.test(version)) {
      throw toolError(`${release}'s Packages has no usable busybox-static stanza`, 'check the release name');
    }
    const deb = await download(`${mirror}/${filename}`);
    checkSha256(filename, deb, sha256);
    await writeFile(join(work, 'busybox-static.deb'), deb);
    await runTool('dpkg-deb', ['-x', join(work, 'busybox-static.deb'), join(work, 'tree')]);
    const target = join(dir, versionDir(version));
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    await rename(join(work, 'tree', 'usr', 'bin', 'busybox'), join(target, 'busybox'));
    const path = join(target, 'busybox');
    return requireUdhcpc6({ path, version, applets: await listApplets(path) });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function requireUdhcpc6(bb: DebianBusybox): DebianBusybox {
  if (!bb.applets.includes('udhcpc6')) throw toolError(`${bb.path} (busybox-static ${bb.version}) has no udhcpc6`, 'use a busybox built with CONFIG_UDHCPC6 (Debian 13 busybox-static has it)');
  return bb;
}
