// An archive path -> the path it is extracted to, relative to the target directory, in bytes.
// The kernel's unpacker (init/initramfs.c) creates every name relative to the root of rootfs,
// so '/etc/x', './etc/x' and 'etc//x' all mean 'etc/x'; we say the same. A '..' component is
// never followed, even when it would stay inside ('a/../b'): whether it does depends on what
// 'a' is, and refusing is simpler to trust than resolving (node-tar and GNU cpio refuse too).
//
// Relative paths are kept as "binary strings" (each byte one latin1 char): a Map key that is
// exact for any bytes, '/' and '.' keep their meaning, and Buffer.from(rel, 'latin1') gives
// the bytes back for a system call.
import { ExtractError } from './problems.js';

export interface EntryPath {
  /** '' for the target directory itself, else 'a/b/c' (no '.', no empty components), one char per byte. */
  path: string;
  /** The archive path began with '/'. */
  absolute: boolean;
}

export function normalizeEntryPath(raw: Buffer | string, where: string): EntryPath {
  const text = typeof raw === 'string' ? Buffer.from(raw).toString('latin1') : raw.toString('latin1');
  const parts = text.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new ExtractError(
      'E-PATH-TRAVERSAL',
      `${where} has a '..' component`,
      'a hostile or broken archive; nothing outside the target directory was written',
    );
  }
  return { path: parts.join('/'), absolute: text.startsWith('/') };
}

/** Same normalization for reading only (ls, diff): '..' is kept rather than refused; '' is '.'. */
export function displayEntryPath(raw: Buffer): Buffer {
  const parts = raw.toString('latin1').split('/').filter((part) => part !== '' && part !== '.');
  return Buffer.from(parts.join('/') || '.', 'latin1');
}

export function pathBytes(rel: string): Buffer {
  return Buffer.from(rel, 'latin1');
}
