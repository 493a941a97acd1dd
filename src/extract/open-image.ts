// Opening an image to read (ls, extract, diff). Only a regular file is an image: a FIFO would
// block open() and read() forever, a directory or device gives EISDIR/EIO or endless bytes.
// open() uses O_NONBLOCK so that a FIFO opens at once (instead of waiting for a writer), then
// fstat() on the open descriptor decides, so a path swapped between a stat and the open
// cannot slip past the check. Read errors (EIO from /proc/self/mem, a failing disk) become
// one-line input errors instead of stack traces.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { RambootError } from '../errors.js';
import { describeFileKind } from '../util/file-kind.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface OpenedImage {
  handle: FileHandle;
  size: number;
}

export async function openImageFile(path: string): Promise<OpenedImage> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    throw new RambootError('input', `cannot open ${path}: ${errnoText(err)}`, 'give the path of an initrd or squashfs image file', { cause: err });
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new RambootError('input', `${path} is ${describeFileKind(st)}${st.isBlockDevice() ? ' (copy it to a file first)' : ''}, not a regular file`, 'give the path of an initrd or squashfs image file');
  }
  return { handle, size: st.size };
}

/** `handle.read` with its failures (EIO, ...) turned into one-line input errors naming the file. */
export async function readImageAt(handle: FileHandle, path: string, buf: Buffer, length: number, position: number): Promise<number> {
  try {
    const { bytesRead } = await handle.read(buf, 0, length, position);
    return bytesRead;
  } catch (err) {
    throw new RambootError('input', `cannot read ${path} at byte ${position}: ${errnoText(err)}`, 'give the path of an initrd or squashfs image file', { cause: err });
  }
}

export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ .*$/, '')})` : String(e.message ?? err);
}
