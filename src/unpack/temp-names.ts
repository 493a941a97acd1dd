// Every node the tree writer makes starts under a temporary name in the target's top
// directory and is renamed into place when complete (tree-writer.ts): a failed or cut-short
// entry never shows under its real name, and rename(2) replaces a duplicate, even a symlink,
// without following it. The names are ASCII (mknod(1) and mkfifo(1) take them as text) and
// on the target's filesystem, so one rename moves a node anywhere below the target.
import { randomBytes } from 'node:crypto';
import { renameSync, unlinkSync } from 'node:fs';

export class TempNames {
  private count = 0;
  private readonly tag = `${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(private readonly root: Buffer) {}

  /** A fresh name: nothing else writes `.ramboot-PID-RANDOM-N.tmp` in a target that started empty. */
  next(): Buffer {
    return Buffer.concat([this.root, Buffer.from(`/.ramboot-${this.tag}-${++this.count}.tmp`)]);
  }

  /** `make` creates the node at the temporary name; it is then renamed to `full`, or removed. */
  createThenRename(full: Buffer, make: (temp: Buffer) => void): void {
    const temp = this.next();
    try {
      make(temp);
      renameSync(temp, full);
    } catch (err) {
      ignoreFailure(() => unlinkSync(temp));
      throw err;
    }
  }

  /** The same for nodes a tool makes (mknod(1), mkfifo(1)), which is awaited. */
  async createWithToolThenRename(full: Buffer, make: (temp: Buffer) => Promise<void>): Promise<void> {
    const temp = this.next();
    try {
      await make(temp);
      renameSync(temp, full);
    } catch (err) {
      ignoreFailure(() => unlinkSync(temp));
      throw err;
    }
  }
}

/** Cleanup after a failure that is already being reported. */
export function ignoreFailure(action: () => void): void {
  try {
    action();
  } catch {
    // The first failure is the one worth reporting.
  }
}
