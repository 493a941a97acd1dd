// One member of a cpio archive, as the rest of ramboot describes it. This module knows bytes,
// not files on disk (u-root's cpio package draws the same line): a `source` is only a path the
// writer streams from, never something this layer stats or walks.

export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

export interface CpioEntry {
  /** Archive path, no leading '/', e.g. 'bin/busybox'; '.' is allowed. */
  path: string;
  type: CpioEntryType;
  /** Permission bits only (0o7777); the type bits are derived from `type`. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; newc holds 0..0xFFFFFFFF, anything else is an error. */
  mtime: number;
  /** Default 1 (2 for directories). */
  nlink?: number;
  /** Character and block devices only. */
  rdevMajor?: number;
  rdevMinor?: number;
  /** Symlinks only: the target, stored as the entry's data (that is how newc keeps it). */
  linkTarget?: string;
  /** Regular-file content held in memory, or... */
  data?: Buffer;
  /** ...regular-file content streamed from disk at write time; `size` is checked while reading. */
  source?: { path: string; size: number };
}

// The S_IF* values of st_mode. newc's c_mode is st_mode as Linux stat(2) returns it
// (kernel Documentation/driver-api/early-userspace/buffer-format.rst), so these are fixed
// by the kernel's ABI, not by cpio.
export const S_IFMT = 0o170000;
const TYPE_BITS: Record<CpioEntryType, number> = {
  socket: 0o140000,
  symlink: 0o120000,
  file: 0o100000,
  blockdev: 0o060000,
  dir: 0o040000,
  chardev: 0o020000,
  fifo: 0o010000,
};
const TYPE_BY_BITS = new Map<number, CpioEntryType>(
  Object.entries(TYPE_BITS).map(([type, bits]) => [bits, type as CpioEntryType]),
);

/** The full st_mode for an entry: type bits from `type`, permission bits from `mode`. */
export function renderMode(type: CpioEntryType, permissions: number): number {
  return TYPE_BITS[type] | permissions;
}

/** The entry type for an st_mode, or undefined for type bits Linux does not define. */
export function parseModeType(mode: number): CpioEntryType | undefined {
  return TYPE_BY_BITS.get(mode & S_IFMT);
}

export function isDevice(type: CpioEntryType): boolean {
  return type === 'chardev' || type === 'blockdev';
}
