// Stock Debian roots for the distribution boot tests: debootstrap --variant=minbase from the
// archive this machine's apt uses, plus systemd, udev, sshd, a network stack and the release's
// cloud kernel, kept as a .tar.zst under /var/cache/ramboot/roots keyed by everything it was
// built from, so CI builds each once. debootstrap runs the root's maintainer scripts in a chroot:
// this is a test-fixture builder on a lab machine; ramboot's own build never runs root code.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../util/run-tool.js';
import { assertNothingMounted } from '../../bench/chroot.js';
import { archiveMirror, readHostAptSources } from './apt-sources.js';

/** Bump when the steps below change what a cached root holds. */
export const STOCK_ROOT_BUILDER_VERSION = 1;

export interface StockRootSpec {
  suite: string;
  /** Passed to debootstrap --include (dependencies resolved from the suite). */
  packages: readonly string[];
  /** systemd units enabled after install (offline, `systemctl --root`). */
  enable: readonly string[];
}

const BASE = ['systemd-sysv', 'udev', 'openssh-server', 'iproute2', 'linux-image-cloud-amd64'];

/** Debian 12: kernel 6.1 (plain .ko), network by ifupdown (its `inet dhcp` runs dhclient). */
export const BOOKWORM: StockRootSpec = { suite: 'bookworm', packages: [...BASE, 'ifupdown', 'isc-dhcp-client'], enable: [] };
/** Debian 13: kernel 6.12 (.ko.xz), network by systemd-networkd (in the systemd package, off by default). */
export const TRIXIE: StockRootSpec = { suite: 'trixie', packages: BASE, enable: ['systemd-networkd.service'] };
/** Debian 12 with NetworkManager (its package enables it) instead of ifupdown: the third handoff.
 * debootstrap does not resolve virtual packages, so the providers of its dbus-system-bus and
 * logind dependencies are named. */
export const BOOKWORM_NM: StockRootSpec = {
  suite: 'bookworm',
  packages: [...BASE, 'network-manager', 'dbus', 'libpam-systemd'],
  enable: ['NetworkManager.service'],
};

export interface StockRoot {
  /** The root as a tarball: `ramboot build --root` reads it as is. */
  tarball: string;
  stamp: StockRootStamp;
  /** true when this call ran debootstrap. */
  built: boolean;
  seconds: number;
}

export interface StockRootStamp {
  suite: string;
  mirror: string;
  packages: string[];
  enable: string[];
  builder: number;
  key: string;
  kver: string;
  created: string;
}

export function rootsCacheDir(): string {
  return process.env.RAMBOOT_ROOTS_CACHE ?? '/var/cache/ramboot/roots';
}

export function stockRootKey(spec: StockRootSpec, mirror: string): string {
  const what = { builder: STOCK_ROOT_BUILDER_VERSION, suite: spec.suite, mirror, packages: [...spec.packages].sort(), enable: [...spec.enable].sort() };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** debootstrap --variant=minbase SUITE into `dir` (shared with the benchmark's base root). */
export async function debootstrapMinbase(opts: { suite: string; dir: string; mirror: string; include?: readonly string[] }): Promise<void> {
  const include = opts.include && opts.include.length > 0 ? [`--include=${opts.include.join(',')}`] : [];
  await runTool('debootstrap', ['--variant=minbase', ...include, opts.suite, opts.dir, opts.mirror], {
    env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
  });
}

async function readStamp(path: string): Promise<StockRootStamp | undefined> {
  return readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as StockRootStamp,
    () => undefined,
  );
}

/** The cached root for `spec`, built first when missing. */
export async function ensureStockRoot(spec: StockRootSpec, log: (line: string) => void = () => {}): Promise<StockRoot> {
  const started = performance.now();
  const mirror = archiveMirror(await readHostAptSources());
  if (!mirror) throw new Error('this machine has no Debian archive in /etc/apt/sources.list{,.d} to debootstrap from');
  const key = stockRootKey(spec, mirror);
  const dir = rootsCacheDir();
  const tarball = join(dir, `${spec.suite}-${key}.tar.zst`);
  const stampPath = join(dir, `${spec.suite}-${key}.json`);
  const cachedStamp = async () => (existsSync(tarball) ? readStamp(stampPath) : undefined);
  let cached = await cachedStamp();
  if (cached) return { tarball, stamp: cached, built: false, seconds: (performance.now() - started) / 1000 };
  await mkdir(dir, { recursive: true });
  const lock = join(dir, `${spec.suite}-${key}.lock`);
  await takeLock(lock, log);
  try {
    // Another process may have built it while this one waited for the lock.
    cached = await cachedStamp();
    if (cached) return { tarball, stamp: cached, built: false, seconds: (performance.now() - started) / 1000 };
    const stamp = await buildStockRoot(spec, { dir, key, mirror, tarball, stampPath }, log);
    return { tarball, stamp, built: true, seconds: (performance.now() - started) / 1000 };
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** mkdir is atomic: the lock is a directory holding its owner's pid. A lock whose owner is gone
 * (killed mid-build) is taken over; a live owner is waited for. */
async function takeLock(lock: string, log: (line: string) => void): Promise<void> {
  let said = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
    const alive = pid > 0 && (() => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    })();
    if (pid > 0 && !alive) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for ${lock}${pid > 0 ? ` (pid ${pid} is building this root)` : ''}`);
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function buildStockRoot(
  spec: StockRootSpec,
  where: { dir: string; key: string; mirror: string; tarball: string; stampPath: string },
  log: (line: string) => void,
): Promise<StockRootStamp> {
  const { dir, key, mirror, tarball, stampPath } = where;
  const work = join(dir, `${spec.suite}-${key}.tmp-${process.pid}`);
  // A failed debootstrap can leave /proc and /sys (in a container also /dev) mounted in the
  // tree; rm -r must never walk into those.
  await assertNothingMounted(work);
  await rm(work, { recursive: true, force: true });
  try {
    log(`debootstrap --variant=minbase --include=${spec.packages.join(',')} ${spec.suite} from ${mirror}`);
    await debootstrapMinbase({ suite: spec.suite, dir: work, mirror, include: spec.packages });
    const kver = await finishRoot(work, spec, mirror);
    log(`packing ${tarball}`);
    // --xattrs keeps security.capability (ping) as SCHILY.xattr pax records, which ramboot reads.
    await runTool('sh', ['-c', 'tar --numeric-owner --xattrs --xattrs-include="*" -C "$1" -cf - . | zstd -q -T0 -3 -o "$2"', 'sh', work, `${tarball}.tmp`]);
    const stamp: StockRootStamp = { suite: spec.suite, mirror, packages: [...spec.packages], enable: [...spec.enable], builder: STOCK_ROOT_BUILDER_VERSION, key, kver, created: new Date().toISOString() };
    await writeFile(stampPath, `${JSON.stringify(stamp, null, 2)}\n`);
    await rename(`${tarball}.tmp`, tarball);
    return stamp;
  } finally {
    await assertNothingMounted(work);
    await rm(work, { recursive: true, force: true });
    await rm(`${tarball}.tmp`, { force: true });
  }
}

/** What a user would do after debootstrap: apt sources, a hostname, the network stack enabled;
 * minus the initrd the kernel's postinst made (a netboot set brings its own). Returns the kver. */
async function finishRoot(root: string, spec: StockRootSpec, mirror: string): Promise<string> {
  await writeFile(join(root, 'etc/apt/sources.list'), `deb ${mirror} ${spec.suite} main\n`);
  await writeFile(join(root, 'etc/hostname'), 'debian\n');
  if (spec.packages.includes('ifupdown')) {
    // Debian's installer writes this file; debootstrap does not. The `source` line is what
    // makes ifupdown read interfaces.d.
    await writeFile(join(root, 'etc/network/interfaces'), 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n');
  }
  if (spec.enable.length > 0) await runTool('systemctl', ['--root', root, 'enable', ...spec.enable]);
  const { stdout } = await runTool('sh', ['-c', 'cd "$1/boot" && ls vmlinuz-*', 'sh', root]);
  const kver = stdout.trim().split('\n')[0]?.replace(/^vmlinuz-/, '');
  if (!kver) throw new Error(`debootstrap of ${spec.suite} left no /boot/vmlinuz-*`);
  await rm(join(root, 'boot', `initrd.img-${kver}`), { force: true });
  await runTool('sh', ['-c', 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages', 'sh', root]);
  return kver;
}
