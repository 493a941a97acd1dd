// The xattrs of an unpacked tarball, applied in one `setfattr -h --restore` run. It runs last,
// after every chown (a chown clears security.capability); -h never follows a symlink, and only
// paths still holding the entry that carried the xattrs are listed. Values go through setfattr's
// dump format as hex, so binary ones (capabilities) stay byte-exact.
import { rm, writeFile } from 'node:fs/promises';
import { RambootError } from '../errors.js';
import { runTool } from '../util/run-tool.js';

/** Which xattrs go where: only the last entry at a path counts, symlinks get none (Linux has
 * no user.* xattrs on symlinks, and -h is the only safe way to name one), and without root only
 * user.* ones can be set. */
export class XattrPlan {
  private readonly byPath = new Map<string, { path: Buffer; list: Array<[string, Buffer]> }>();
  /** How many could not be applied (on symlinks, or not user.* when not root). */
  skipped = 0;

  constructor(private readonly asRoot: boolean) {}

  /** `key` (the normalized relative path) now holds a new entry, stored at `path` (bytes, empty
   * for the root itself), carrying `list`: whatever an earlier entry there carried is void. */
  set(key: string, path: Buffer, list: Array<[string, Buffer]>, symlink: boolean): void {
    this.byPath.delete(key);
    const kept = this.asRoot ? list : list.filter(([name]) => name.startsWith('user.'));
    this.skipped += list.length - kept.length;
    if (symlink) this.skipped += kept.length;
    else if (kept.length > 0) this.byPath.set(key, { path, list: kept });
  }

  /** Sets them all under `dir`. `dump` is a path outside `dir` for the list (removed
   * afterwards); `label` names the tarball in errors. */
  async apply(dir: string, dump: string, label: string): Promise<void> {
    if (this.byPath.size === 0) return;
    const lines: string[] = [];
    for (const { path, list } of this.byPath.values()) {
      lines.push(`# file: ${quoteDumpPath(path.length > 0 ? path : Buffer.from('.'))}`);
      for (const [name, value] of list) lines.push(`${name}=0x${value.toString('hex')}`);
      lines.push('');
    }
    await writeFile(dump, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await runTool('setfattr', ['-h', `--restore=${dump}`], { cwd: dir });
    } catch (err) {
      const msg = err instanceof RambootError ? err.message : String(err);
      throw new RambootError('io', `${label}: setting xattrs in ${dir} failed: ${msg}`, err instanceof RambootError && err.hint ? err.hint : 'set RAMBOOT_TMPDIR to a filesystem with xattr support (ext4, xfs, btrfs)', { cause: err });
    } finally {
      await rm(dump, { force: true });
    }
  }
}

/** getfattr/setfattr dump quoting (attr's libmisc quote.c): bytes outside graphic ASCII and
 * the backslash as \ooo. Working on bytes keeps a name that is not UTF-8 exact. */
export function quoteDumpPath(path: Buffer): string {
  let out = '';
  for (const b of path) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}
