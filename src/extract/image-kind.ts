// Which kind of image a file is, by its first bytes: squashfs ("hsqs") or else an initrd,
// whose segments read-initrd.ts sniffs one by one.
import { openImageFile, readImageAt } from './open-image.js';

export type ImageKind = 'initrd' | 'squashfs';

export async function detectImageKind(path: string): Promise<ImageKind> {
  const { handle } = await openImageFile(path);
  try {
    const head = Buffer.alloc(4);
    const bytesRead = await readImageAt(handle, path, head, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'hsqs' ? 'squashfs' : 'initrd';
  } finally {
    await handle.close();
  }
}
