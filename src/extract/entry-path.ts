// An archive path -> the path it is extracted to, relative to the target directory.
// The kernel's unpacker (init/initramfs.c) creates every name relative to the root of rootfs,
// so '/etc/x', './etc/x' and 'etc//x' all mean 'etc/x'; we say the same. A '..' component is
// never followed, even when it would stay inside ('a/../b'): whether it does depends on what
// 'a' is, and refusing is simpler to trust than resolving (node-tar and GNU cpio refuse too).
import { ExtractError } from './problems.js';

export interface EntryPath {
  /** '' for the target directory itself, else 'a/b/c' (no '.', no empty components). */
  path: string;
  /** The archive path began with '/'. */
  absolute: boolean;
}

export function normalizeEntryPath(raw: string, where: string): EntryPath {
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new ExtractError(
      'E-PATH-TRAVERSAL',
      `${where} has a '..' component`,
      'a hostile or broken archive; nothing outside the target directory was written',
    );
  }
  return { path: parts.join('/'), absolute: raw.startsWith('/') };
}

/** Same normalization for reading only (ls, diff): '..' is kept rather than refused. */
export function displayEntryPath(raw: string): string {
  return raw.split('/').filter((part) => part !== '' && part !== '.').join('/') || '.';
}
