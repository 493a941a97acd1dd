// Every command that takes --root: a directory is used as is; a tarball is unpacked into a
// temporary root for the duration of the command and removed afterwards, and messages name the
// tarball rather than the temporary path.
import { materializeRoot } from '../rootfs/tar-root.js';
import { progressWanted } from './options.js';

export function warn(text: string): void {
  process.stderr.write(`ramboot: warning: ${text}\n`);
}

/** Run `build` on the root's directory; print its warnings (theirs, as returned) relabelled. */
export async function withRoot<T extends { warnings: readonly string[] }>(path: string, build: (dir: string) => Promise<T>): Promise<T> {
  const root = await materializeRoot(path, { progress: progressWanted() });
  root.warnings.forEach(warn);
  try {
    const result = await build(root.dir);
    result.warnings.forEach((w) => warn(root.relabel(w)));
    return result;
  } catch (error) {
    if (error instanceof Error) error.message = root.relabel(error.message);
    throw error;
  } finally {
    await root.cleanup();
  }
}
