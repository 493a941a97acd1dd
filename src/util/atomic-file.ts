// Outputs are written to a temporary file beside the target and renamed into place, so a failed
// or interrupted build never leaves a partial image under the final name (and never destroys the
// previous good one).
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeAtomically<T>(target: string, write: (tmpPath: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const result = await write(tmp);
    await rename(tmp, target);
    return result;
  } catch (error) {
    await rm(tmp, { force: true, recursive: true });
    throw error;
  }
}
