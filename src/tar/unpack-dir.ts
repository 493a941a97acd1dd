// The private directory a tarball is unpacked into: made with mkdtemp (0700, so nobody else's
// names in a shared /tmp reach it) under RAMBOOT_TMPDIR or the system temp dir, removed however
// the command ends — cleanup(), or Ctrl-C / a kill during a build (unpacked roots can be
// gigabytes: one must never be left behind in /tmp) — and its directory times, which must not
// depend on when it was unpacked.
//
// Times: a directory the tarball lists gets its header mtime from the writer, last and deepest first, once every child is in
// place (creating a child would bump it). But a directory the tarball only implies (`a/b/c` with
// no `a/` entry), and the unpack root itself when there is no `./` entry, have no time of their
// own: left alone they carry the unpack time, and mksquashfs copies it into the image, so the
// same tarball gave different bytes a second later. Before the writer sets the listed ones,
// every directory is set to one fixed time (SOURCE_DATE_EPOCH, or 0); the listed ones then get
// theirs over it. Setting a time changes no other directory's mtime, so the order is free.
import { rmSync, type Dirent } from 'node:fs';
import { lutimes, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../util/run-tool.js';

export interface WorkDir {
  /** The directory's real path (no symlinks: the unpacker relies on that). */
  path: string;
  /** Removes it and everything in it; safe to call twice. */
  cleanup(): Promise<void>;
}

export async function createWorkDir(prefix: string): Promise<WorkDir> {
  const path = await realpath(await mkdtemp(join(process.env.RAMBOOT_TMPDIR || tmpdir(), prefix)));
  let removed = false;
  liveWorkDirs.add(path);
  removeOnSignal();
  return {
    path,
    async cleanup() {
      if (removed) return;
      removed = true;
      await removeTree(path);
      liveWorkDirs.delete(path);
    },
  };
}

/** The signal is raised again once the directories are gone, so the exit status stays the
 * signal's. */
const liveWorkDirs = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let signalsHooked = false;

function removeOnSignal(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const onSignal = (signal: NodeJS.Signals) => {
    for (const work of liveWorkDirs) rmSync(work, { recursive: true, force: true });
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };
  for (const s of SIGNALS) process.once(s, onSignal);
}

async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // Not root: a read-only directory from the archive blocks its children. chmod -R does not
    // follow symlinks below its argument.
    await runTool('chmod', ['-R', 'u+rwx', '--', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sets the atime and mtime of `dir` and of every directory below it to `time` (seconds).
 * Symlinks are never followed (lutimes, and only real directories are entered); names are
 * handled as bytes, so a name that is not UTF-8 is reached too. Returns how many were set. */
export async function pinDirectoryTimes(dir: string, time: number): Promise<number> {
  let count = 0;
  const stack: Buffer[] = [Buffer.from(dir)];
  while (stack.length > 0) {
    const path = stack.pop()!;
    await lutimes(path, time, time);
    count++;
    const children: Dirent<Buffer>[] = await readdir(path, { withFileTypes: true, encoding: 'buffer' });
    for (const child of children) {
      if (child.isDirectory()) stack.push(Buffer.concat([path, SLASH, child.name]));
    }
  }
  return count;
}

const SLASH = Buffer.from('/');
