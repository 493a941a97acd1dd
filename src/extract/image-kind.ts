// Which kind of image a file is, by its first bytes: squashfs ("hsqs") or else an initrd,
// whose segments read-initrd.ts sniffs one by one.
import { open } from 'node:fs/promises';
import { RambootError } from '../errors.js';

export type ImageKind = 'initrd' | 'squashfs';

export async function detectImageKind(path: string): Promise<ImageKind> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new RambootError('input', `cannot open ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'hsqs' ? 'squashfs' : 'initrd';
  } finally {
    await handle.close();
  }
}
