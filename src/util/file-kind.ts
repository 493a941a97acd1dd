// What a non-regular path is, in words, for one-line errors about inputs and outputs that must
// be regular files or directories ("-o /dev/null is a character device, not a regular file").
import type { Stats } from 'node:fs';

export function describeFileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}
