// Extracting a squashfs image: unsquashfs into a private directory, then every inode checked
// with lstat() before the tree is moved into the target (see extractSquashfs).
import { chmod, lstat, mkdtemp, readdir, rename, rm, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { RambootError } from '../errors.js';
import { escapeName } from '../unpack/display-name.js';
import { ExtractError, type Warnings } from '../unpack/problems.js';
import { describeDisk } from '../unpack/write-errors.js';
import { runTool } from '../util/run-tool.js';
import { corruptUnlessMissing, readSquashfsSuperblock } from './squashfs.js';

export interface SquashfsExtractOptions {
  image: string;
  /** Real path of an empty directory. */
  dir: string;
  warnings: Warnings;
  asRoot: boolean;
  devices: boolean;
  keepSetuid: boolean;
}

/**
 * unsquashfs writes into a private directory inside the target (0700, same filesystem), which
 * is then walked with lstat() and Buffer names: devices and sockets are removed and setuid/
 * setgid bits stripped unless allowed, each with its warning, and only then is the tree moved
 * into the target. Nothing is decided from unsquashfs's text listing, where a name holding a
 * newline or ' -> ' is ambiguous (a device named "x\ny" would slip past a filter built from it);
 * the inodes themselves say what each entry is. A failure (a corrupt data block, a full disk)
 * removes the private directory, so no partly written file is left under its real name. The
 * target directory keeps its own mode and owner: the image's root inode is not applied to it.
 */
export async function extractSquashfs(options: SquashfsExtractOptions): Promise<number> {
  const { image, dir } = options;
  const sb = await readSquashfsSuperblock(image);
  if (sb.bytesUsed < 96) throw new ExtractError('E-CORRUPT', `${image}: the squashfs superblock claims only ${sb.bytesUsed} bytes`);
  const work = await mkdtemp(join(dir, '.ramboot-unsquashfs-'));
  const out = join(work, 'root');
  try {
    const args = ['-d', out, '-n', '-q'];
    if (!options.asRoot) args.push('-no-xattrs');
    args.push(image);
    await runTool('unsquashfs', args).catch(async (err: unknown) => {
      throw await squashfsFailure(err, image, dir);
    });
    const count = await sanitizeTree(Buffer.from(out), Buffer.alloc(0), options);
    for (const name of await readdir(Buffer.from(out), { encoding: 'buffer' })) {
      const from = joinBytes(Buffer.from(out), name);
      const to = joinBytes(Buffer.from(dir), name);
      const st = await lstat(from);
      await rename(from, to);
      // Moving a directory to a new parent rewrites its '..' and so its mtime: put it back.
      if (st.isDirectory()) await utimes(to, st.atime, st.mtime);
    }
    return count;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Removes what may not be created and strips what may not be kept; returns the entries walked. */
async function sanitizeTree(root: Buffer, rel: Buffer, options: SquashfsExtractOptions): Promise<number> {
  const { warnings, asRoot } = options;
  let count = 0;
  let removed = false;
  const here = rel.length ? joinBytes(root, rel) : root;
  const times = await lstat(here);
  for (const name of await readdir(here, { encoding: 'buffer' })) {
    const path = rel.length ? joinBytes(rel, name) : name;
    const full = joinBytes(root, path);
    const st = await lstat(full);
    const where = `squashfs entry '${escapeName(path)}'`;
    count++;
    if (st.isDirectory()) {
      count += await sanitizeTree(root, path, options);
      continue;
    }
    if ((st.isCharacterDevice() || st.isBlockDevice()) && !(asRoot && options.devices)) {
      await unlink(full);
      removed = true;
      const dev = `${deviceMajor(st.rdev)}:${deviceMinor(st.rdev)}`;
      warnings.warn('W-DEVICE-SKIPPED', `${where} is a ${st.isCharacterDevice() ? 'character' : 'block'} device ${dev}, not created (${asRoot ? 'give --devices to create it' : 'needs root and --devices'})`);
      continue;
    }
    if (st.isSocket()) {
      await unlink(full);
      removed = true;
      warnings.warn('W-SOCKET-SKIPPED', `${where} is a socket, which cannot be recreated; skipped`);
      continue;
    }
    if (!st.isSymbolicLink() && st.mode & 0o6000 && !(asRoot && options.keepSetuid)) {
      await chmod(full, st.mode & 0o1777);
      warnings.warn('W-SETUID-DROPPED', `${where}: setuid/setgid bits dropped, mode 0${oct(st.mode)} -> 0${oct(st.mode & 0o1777)} (${asRoot ? 'give --keep-setuid to keep them' : 'kept only as root with --keep-setuid'})`);
    }
  }
  // A removal bumped the directory's mtime; it keeps the image's.
  if (removed) await utimes(here, times.atime, times.mtime);
  return count;
}

function joinBytes(a: Buffer, b: Buffer): Buffer {
  return Buffer.concat([a, Buffer.from('/'), b]);
}

/** glibc's gnu_dev_major/minor for a Linux dev_t. */
function deviceMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function deviceMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/** A full disk or read-only target is about the target; anything else unsquashfs says is the image. */
async function squashfsFailure(err: unknown, image: string, dir: string): Promise<unknown> {
  const text = err instanceof Error ? err.message : String(err);
  if (/No space left on device/i.test(text)) {
    return new RambootError('io', `unsquashfs ${image}: no space left on the filesystem at ${await describeDisk(dir)}`, 'free space there or extract onto a larger filesystem', { cause: err });
  }
  if (/Read-only file system/i.test(text)) return new RambootError('io', `unsquashfs ${image}: ${dir} is on a read-only filesystem`, 'extract onto a writable filesystem', { cause: err });
  return corruptUnlessMissing(err, `unsquashfs cannot extract ${image}`);
}

function oct(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(3, '0');
}
