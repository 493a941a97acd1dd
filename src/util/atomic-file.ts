// Outputs are written to a temporary file beside the target and renamed into place, so a failed
// or interrupted build never leaves a partial image under the final name (and never destroys the
// previous good one). Every writer comes through here, so every writer gets the same guards:
// the target is checked first (only a regular file is ever replaced, see output-path.ts), the
// temp file is removed on failure and on SIGINT/SIGTERM, and a full or read-only disk is one line.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RambootError } from '../errors.js';
import { freeBytes, isNoSpace, neededBytesOf, noSpaceError } from './disk-space.js';
import { checkOutputPath } from './output-path.js';

// Temp files must not outlive an interrupted build. On SIGINT/SIGTERM/SIGHUP Node exits at once
// by default (no finally block runs), so writers register their temp paths here; the handler
// removes them synchronously, then raises the signal again so the process still dies of it (exit
// status 128+n, as a shell expects). execa's own exit hook (signal-exit) then kills the child
// tools: it stays passive while another listener exists and acts once ours is gone.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const liveTemps = new Set<string>();

function removeTempsAndDie(signal: NodeJS.Signals): void {
  for (const path of liveTemps) rmSync(path, { recursive: true, force: true });
  liveTemps.clear();
  for (const s of SIGNALS) process.removeListener(s, removeTempsAndDie);
  process.kill(process.pid, signal);
}

/** Remove `path` (a file or a whole directory) if a signal ends the process; call the returned
 * function once the path is renamed into place or cleaned up. */
export function removeOnSignal(path: string): () => void {
  if (liveTemps.size === 0) for (const s of SIGNALS) process.on(s, removeTempsAndDie);
  liveTemps.add(path);
  return () => {
    if (!liveTemps.delete(path)) return;
    if (liveTemps.size === 0) for (const s of SIGNALS) process.removeListener(s, removeTempsAndDie);
  };
}

export interface AtomicWriteOptions {
  /** The option that named the target, for hints (`-o`, `--out`). */
  flag?: string;
}

/** Errno failures of writing, as one line; anything else is returned as it is. */
export function describeWriteFailure(error: unknown, target: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof RambootError || typeof e?.code !== 'string') return error;
  const why: Record<string, string> = {
    EROFS: 'the filesystem is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EIO: 'I/O error',
    EFBIG: 'file too large for this filesystem',
    ENAMETOOLONG: 'name too long',
  };
  const text = why[e.code];
  return text ? new RambootError('io', `cannot write ${target}: ${text}`, undefined, { cause: error }) : error;
}

export async function writeAtomically<T>(target: string, write: (tmpPath: string) => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  const flag = opts.flag ?? '-o';
  await checkOutputPath(target, 'file', flag);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  // To fill the disk, a write needed more than was free when it started: the lower bound for a
  // tool like mksquashfs, which removes its output when a write fails.
  const freeBefore = (await freeBytes(dirname(target))) ?? 0;
  const release = removeOnSignal(tmp);
  try {
    const result = await write(tmp);
    await rename(tmp, target);
    return result;
  } catch (error) {
    const written = (await lstat(tmp).catch(() => undefined))?.size ?? 0;
    await rm(tmp, { force: true, recursive: true });
    if (isNoSpace(error)) throw await noSpaceError(dirname(target), basename(target), Math.max(written, freeBefore, neededBytesOf(error) ?? 0), flag);
    throw describeWriteFailure(error, target);
  } finally {
    release();
  }
}
