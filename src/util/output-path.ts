// Where an output may go. Outputs are replaced by rename(2), and rename replaces whatever has
// the name: `-o /dev/null` used to turn the null device into a regular file. So every writer
// checks its target first, before any work starts: a file output may only replace a regular
// file (or a symlink to one, which the rename replaces), a directory output must be a directory
// or not exist yet, nothing goes on a kernel pseudo-filesystem (/proc, /sys, ...), and the
// directory that will receive it must be writable (a read-only mount fails here, not after a
// minute of mksquashfs).
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RambootError, usageError } from '../errors.js';
import { mountOf, realpathOfNearest } from './disk-space.js';
import { describeFileKind } from './file-kind.js';

export type OutputKind = 'file' | 'dir';

/** Filesystems the kernel makes up: writing there changes kernel state or fails oddly. */
const PSEUDO_FILESYSTEMS = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'debugfs', 'tracefs', 'securityfs', 'bpf', 'configfs',
  'pstore', 'efivarfs', 'devpts', 'binfmt_misc', 'fusectl', 'mqueue', 'nsfs',
]);

async function statOrNull(path: string, follow: boolean): Promise<Stats | null> {
  try {
    return follow ? await stat(path) : await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw error;
  }
}

/** The nearest existing ancestor of `dir` (itself included), followed through symlinks. */
async function nearestExisting(dir: string): Promise<{ path: string; st: Stats }> {
  for (let path = resolve(dir); ; path = dirname(path)) {
    const st = await statOrNull(path, true);
    if (st) return { path, st };
    if (dirname(path) === path) throw usageError(`no existing directory above ${dir}`);
  }
}

/**
 * Refuse an output path that a build must not replace or cannot write. `flag` names the option
 * in messages (`-o`, `--out`). Throws one-line RambootErrors; resolves when writing may start.
 */
export async function checkOutputPath(path: string, kind: OutputKind, flag = kind === 'file' ? '-o' : '--out'): Promise<void> {
  const name = `${flag} ${path}`;
  const abs = resolve(path);
  const own = await statOrNull(abs, false);
  if (own && kind === 'file') {
    const target = own.isSymbolicLink() ? await statOrNull(abs, true) : own;
    if (target?.isDirectory()) throw usageError(`${name} is a directory`, `${flag} takes the path of the file to write, e.g. DIR/initrd.img`);
    if (target && !target.isFile()) throw usageError(`${name} is ${describeFileKind(target)}, not a regular file`, 'ramboot replaces only regular files; give a file path');
  }
  if (own && kind === 'dir') {
    const target = own.isSymbolicLink() ? await statOrNull(abs, true) : own;
    if (target && !target.isDirectory()) throw usageError(`${name} is ${describeFileKind(target)}, not a directory`, `${flag} takes the directory the image set goes into`);
  }

  // The directory that will hold the output (created if missing) must be under a directory.
  const holder = kind === 'file' ? dirname(abs) : abs;
  const base = await nearestExisting(holder);
  if (!base.st.isDirectory()) {
    throw usageError(`${name}: ${base.path} is ${describeFileKind(base.st)}, not a directory`, 'choose a path whose parents are directories');
  }

  const real = await realpathOfNearest(base.path);
  const mount = await mountOf(real);
  if (PSEUDO_FILESYSTEMS.has(mount.fsType) || /^\/(proc|sys)(\/|$)/.test(real)) {
    throw usageError(`${name} is on ${mount.fsType === 'unknown' ? real.split('/')[1] : mount.fsType} (${mount.mountPoint}), a kernel pseudo-filesystem`, 'write outputs to a directory on a disk or a tmpfs');
  }
  try {
    await access(base.path, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') {
      throw new RambootError('io', `cannot write ${name}: ${mount.mountPoint} is mounted read-only`, `remount it read-write or choose another ${flag}`);
    }
    throw new RambootError('io', `cannot write ${name}: no write permission in ${base.path}`, `choose another ${flag} or fix the directory's permissions`);
  }
}
