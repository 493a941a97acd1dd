// An image set is replaced as one: every output is written into a hidden staging directory
// inside the output directory (the same filesystem, so rename(2) is atomic), and only when all
// are complete are they renamed over the previous set, SHA256SUMS last. A failure or a signal
// before that removes the staging directory and leaves the previous set exactly as it was; an
// initrd never ends up pinning a rootfs that is not beside it.
import { renameSync, rmSync, rmdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { removeOnSignal } from '../util/atomic-file.js';

export class Staging {
  private constructor(
    readonly outDir: string,
    readonly dir: string,
    /** The output directory did not exist before: a failed first build removes it again. */
    private readonly createdOutDir: boolean,
    private readonly release: () => void,
  ) {}

  static async open(outDir: string): Promise<Staging> {
    const existed = await stat(outDir).then(() => true, () => false);
    await mkdir(outDir, { recursive: true });
    await removeDeadStaging(outDir);
    const dir = await mkdtemp(join(outDir, `.ramboot-stage-${process.pid}-`));
    return new Staging(outDir, dir, !existed, removeOnSignal(dir));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Rename the staged files over the set, in order (SHA256SUMS last). Synchronous on purpose:
   * no signal handler or other callback can run between two renames, so the set flips in one
   * turn of the event loop. */
  commit(names: readonly string[], stale: readonly string[] = []): void {
    for (const name of names) {
      // A file of the previous set this one does not have goes before SHA256SUMS lands.
      if (name === names[names.length - 1]) for (const old of stale) rmSync(join(this.outDir, old), { force: true });
      renameSync(this.path(name), join(this.outDir, name));
    }
    rmdirSync(this.dir);
    this.release();
  }

  /** Remove everything staged; resolves to the bytes it held (for a disk-full message). */
  async abort(): Promise<number> {
    let bytes = 0;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      bytes += (await stat(join(this.dir, name)).catch(() => undefined))?.size ?? 0;
    }
    await rm(this.dir, { recursive: true, force: true });
    if (this.createdOutDir) await rmdir(this.outDir).catch(() => {});
    this.release();
    return bytes;
  }
}

/** A build killed with SIGKILL (or a power cut) leaves its staging directory behind; the next
 * build into the same directory removes those whose process is gone. */
async function removeDeadStaging(outDir: string): Promise<void> {
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    const pid = /^\.ramboot-stage-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    await rm(join(outDir, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
