// Failures of the filesystem we extract into, as one line a user can act on. A raw
// "ENOSPC: no space left on device, write" names neither the disk nor what did not fit, so a
// full disk is reported with its mount point, filesystem type, free bytes and the size the
// entry needed; a read-only filesystem and a permission problem get their own hints.
import { readFile, statfs } from 'node:fs/promises';
import { RambootError } from '../errors.js';

export interface WriteContext {
  /** "writing usr/bin/x", "segment 1 (...): entry 'x' at byte 4" */
  where: string;
  /** The directory being extracted into (a real path). */
  target: string;
  /** Bytes the entry being written needed, when known. */
  needed?: number;
}

export async function writeFailure(err: unknown, ctx: WriteContext): Promise<unknown> {
  if (err instanceof RambootError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT': {
      const disk = await describeDisk(ctx.target);
      const need = ctx.needed !== undefined ? `; it needs ${ctx.needed} bytes` : '';
      const what = e.code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left';
      return new RambootError('io', `${ctx.where}: ${what} on the filesystem at ${disk}${need}`, 'free space there or extract onto a larger filesystem', { cause: err });
    }
    case 'EROFS':
      return new RambootError('io', `${ctx.where}: ${ctx.target} is on a read-only filesystem`, 'extract onto a writable filesystem', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new RambootError('io', `${ctx.where}: permission denied (${e.code})`, 'extract into a directory you can write to, or as root', { cause: err });
    default:
      return new RambootError('io', `${ctx.where}: ${e.code ?? 'error'}: ${shortMessage(e)}`, 'check the target directory and its filesystem', { cause: err });
  }
}

/** "/mnt/small (tmpfs, 4096 bytes free)", from /proc/self/mountinfo and statfs(2). */
export async function describeDisk(path: string): Promise<string> {
  const mount = await mountOf(path);
  let free = '';
  try {
    const st = await statfs(path);
    free = `, ${Number(st.bavail) * Number(st.bsize)} bytes free`;
  } catch {
    // statfs failing too is possible on a broken mount; the mount point still helps.
  }
  return mount ? `${mount.point} (${mount.type}${free})` : `${path}${free ? ` (${free.slice(2)})` : ''}`;
}

async function mountOf(path: string): Promise<{ point: string; type: string } | undefined> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let best: { point: string; type: string } | undefined;
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw" (proc(5))
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || fields.length < 5) continue;
    const point = unescapeMountField(fields[4]!);
    const inside = point === '/' || path === point || path.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length)) best = { point, type: fields[dash + 1] ?? '?' };
  }
  return best;
}

/** mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function shortMessage(e: NodeJS.ErrnoException): string {
  return e.message.replace(/^[A-Z]+: /, '');
}
