// The one entry type the safe unpacker takes, whatever archive it came from (u-root's
// cpio.Record idea): a cpio header, a tar header or anything else is turned into this by its
// reader, and the writer never sees a format. Names and link targets are bytes, as the
// archive stored them: Linux file names are bytes, and decoding them as UTF-8 would merge two
// distinct names into one U+FFFD name.

export type EntryKind = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

export interface UnpackEntry {
  /** The path as stored in the archive; normalized by entry-path.ts. */
  path: Buffer;
  kind: EntryKind;
  /** Permission bits only (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of data that follow (regular files). */
  size: number;
  /** Symlinks: the target bytes. */
  linkTarget?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
  /**
   * Hard links the newc way: entries with the same group share one inode, and the member
   * that carries data (GNU cpio stores it with the last one) fills it.
   */
  linkGroup?: string;
  /** Hard links the tar way: this entry is a link to an earlier entry's path. */
  hardLinkTo?: Buffer;
  /** Where the entry is, as every message about it begins: "segment 1 (xz at byte 276): entry 'x' at byte 4". */
  where: string;
}

export function isDeviceKind(kind: EntryKind): boolean {
  return kind === 'chardev' || kind === 'blockdev';
}
