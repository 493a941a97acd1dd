// Writes cpio entries under a target directory without ever touching anything outside it.
// The target starts empty, so everything below it was created here, and `nodes` (what each
// path is) is the whole truth about it: a parent that is a symlink is refused before any system
// call could follow it (E-PATH-SYMLINK), '..' never gets this far (entry-path.ts).
// Each entry is created under a fresh temporary name (O_CREAT|O_EXCL|O_NOFOLLOW for files),
// given its owner, mode and mtime, and renamed into place when complete: a failed or truncated
// entry never appears under its real name, and rename() replaces a duplicate (even a symlink)
// without following it. Directories are made 0700 and get their own mode and mtime last,
// deepest first, so a read-only directory cannot block its children and adding a child
// cannot bump an mtime already set.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, link, lutimes, mkdir, open, rename, rmdir, symlink, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CpioEntryType } from '../cpio/entry.js';
import type { NewcHeader } from '../cpio/newc-reader.js';
import { RambootError } from '../errors.js';
import { runTool } from '../util/run-tool.js';
import { normalizeEntryPath } from './entry-path.js';
import { ExtractError, type Warnings } from './problems.js';
import { segmentLabel, type SegmentInfo } from './read-initrd.js';

export interface TreeWriterOptions {
  /** The target: a real path (no symlinks) to an empty directory. */
  dir: string;
  warnings: Warnings;
  /** Running as root: ownership is restored, and devices and setuid bits become possible. */
  asRoot: boolean;
  devices: boolean;
  keepSetuid: boolean;
}

interface Node {
  type: CpioEntryType;
  children: number;
  linkTarget?: string;
}

interface DirAttrs {
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

interface OpenFile {
  rel: string;
  full: string;
  temp: string;
  handle: FileHandle;
  header: NewcHeader;
  mode: number;
  linkKey?: string;
}

const O_CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Directories the archive implies but does not list get the mode GNU cpio -d gives them. */
const IMPLICIT_DIR_MODE = 0o755;

export class TreeWriter {
  /** Entries created (directories, files, links, nodes). */
  written = 0;
  private readonly nodes = new Map<string, Node>([['', { type: 'dir', children: 0 }]]);
  private readonly dirAttrs = new Map<string, DirAttrs>();
  /** Hard-link groups of the current archive: key -> member paths (init/initramfs.c maybe_link). */
  private readonly links = new Map<string, string[]>();
  private readonly memberOf = new Map<string, string>();
  private open: OpenFile | undefined;
  private absoluteSeen = false;
  private tempCount = 0;
  private readonly tempTag = `${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(private readonly options: TreeWriterOptions) {}

  async entry(h: NewcHeader, segment: SegmentInfo): Promise<void> {
    const where = `${segmentLabel(segment)}: entry '${h.path}' at byte ${h.offset}${segment.compression === 'none' ? '' : ' of its decompressed data'}`;
    try {
      await this.create(h, where);
    } catch (err) {
      throw ioError(err, where);
    }
  }

  async data(chunk: Buffer): Promise<void> {
    const file = this.open;
    if (!file) return; // symlink targets, skipped entries
    try {
      for (let done = 0; done < chunk.length; ) {
        const { bytesWritten } = await file.handle.write(chunk, done, chunk.length - done, null);
        done += bytesWritten;
      }
    } catch (err) {
      throw ioError(err, `writing ${file.rel}`);
    }
  }

  async entryEnd(h: NewcHeader): Promise<void> {
    const file = this.open;
    if (!file || file.header !== h) return;
    try {
      try {
        if (this.options.asRoot) await file.handle.chown(h.uid, h.gid);
        await file.handle.chmod(file.mode);
        await file.handle.utimes(h.mtime, h.mtime);
      } finally {
        await file.handle.close();
      }
      await rename(file.temp, file.full);
      this.open = undefined;
      this.addNode(file.rel, 'file');
      if (file.linkKey) await this.joinLinkGroup(file.rel, file.linkKey, true);
    } catch (err) {
      throw ioError(err, `finishing ${file.rel}`);
    }
  }

  /** A TRAILER!!!: the kernel forgets hard-link inodes there (free_hash). */
  archiveEnd(): void {
    this.links.clear();
    this.memberOf.clear();
  }

  /** Directory modes and mtimes, deepest first, once every entry is in place. */
  async finish(): Promise<void> {
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    const dirs = [...this.dirAttrs].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, attrs] of dirs) {
      const full = rel === '' ? this.options.dir : join(this.options.dir, rel);
      try {
        if (this.options.asRoot && attrs.uid !== undefined) await chown(full, attrs.uid, attrs.gid!);
        await chmod(full, attrs.mode);
        if (attrs.mtime !== undefined) await utimes(full, attrs.mtime, attrs.mtime);
      } catch (err) {
        throw ioError(err, `setting the mode of ${rel || '.'}`);
      }
    }
  }

  /** After a failure: the entry being written is removed, never left under a real name. */
  async abort(): Promise<void> {
    const file = this.open;
    this.open = undefined;
    if (!file) return;
    await file.handle.close().catch(() => undefined);
    await unlink(file.temp).catch(() => undefined);
  }

  private async create(h: NewcHeader, where: string): Promise<void> {
    const { warnings } = this.options;
    const { path: rel, absolute } = normalizeEntryPath(h.path, where);
    if (absolute && !this.absoluteSeen) {
      this.absoluteSeen = true;
      warnings.warn('W-ABSOLUTE-PATH', `${where} is absolute; extracted as '${rel || '.'}', where the kernel puts it too (later absolute paths are not reported)`);
    }
    if (rel === '') {
      if (h.type !== 'dir') throw new ExtractError('E-PATH-INVALID', `${where} is a ${h.type} named like the target directory itself`);
      this.dirAttrs.set('', this.dirAttrsOf(h));
      return;
    }
    if (!(await this.makeParents(rel, where))) return;
    if (!(await this.clearPlace(rel, h, where))) return;
    const full = join(this.options.dir, rel);
    switch (h.type) {
      case 'dir':
        await mkdir(full, 0o700);
        this.addNode(rel, 'dir');
        this.dirAttrs.set(rel, this.dirAttrsOf(h));
        return;
      case 'file':
        return this.startFile(rel, full, h, where);
      case 'symlink': {
        const target = h.linkTarget ?? '';
        if (target === '' || target.includes('\0')) {
          throw new ExtractError('E-CORRUPT', `${where} is a symlink with ${target === '' ? 'an empty target' : 'a NUL byte in its target'}`);
        }
        await this.createThenRename(full, async (temp) => {
          await symlink(target, temp);
          if (this.options.asRoot) await lchown(temp, h.uid, h.gid);
          await lutimes(temp, h.mtime, h.mtime);
        });
        this.addNode(rel, 'symlink', target);
        return;
      }
      case 'chardev':
      case 'blockdev': {
        const { asRoot, devices } = this.options;
        const dev = `${h.rdevMajor}:${h.rdevMinor}`;
        if (!(asRoot && devices)) {
          const why = asRoot ? 'give --devices to create it' : devices ? 'only root can create device nodes' : 'needs root and --devices';
          warnings.warn('W-DEVICE-SKIPPED', `${where} is a ${h.type === 'chardev' ? 'character' : 'block'} device ${dev}, not created (${why})`);
          return;
        }
        const mode = this.fileMode(h, where);
        await this.createThenRename(full, async (temp) => {
          await runTool('mknod', ['-m', '600', '--', temp, h.type === 'chardev' ? 'c' : 'b', String(h.rdevMajor), String(h.rdevMinor)]);
          await this.setAttrs(temp, h, mode);
        });
        this.addNode(rel, h.type);
        return;
      }
      case 'fifo': {
        const mode = this.fileMode(h, where);
        await this.createThenRename(full, async (temp) => {
          await runTool('mkfifo', ['-m', '600', '--', temp]);
          await this.setAttrs(temp, h, mode);
        });
        this.addNode(rel, 'fifo');
        return;
      }
      case 'socket':
        warnings.warn('W-SOCKET-SKIPPED', `${where} is a socket, which an archive cannot recreate; skipped`);
        return;
    }
  }

  private async startFile(rel: string, full: string, h: NewcHeader, where: string): Promise<void> {
    const mode = this.fileMode(h, where);
    // newc marks hard links by a shared inode and nlink >= 2; GNU cpio stores the data once,
    // with the group's last member, and the others empty (init/initramfs.c maybe_link).
    const linkKey = h.nlink >= 2 ? `${h.devMajor}:${h.devMinor}:${h.ino}:${h.mode}` : undefined;
    const first = linkKey ? this.links.get(linkKey)?.find((m) => this.memberOf.get(m) === linkKey) : undefined;
    if (first !== undefined && h.size === 0) {
      await this.createThenRename(full, (temp) => link(join(this.options.dir, first), temp));
      this.addNode(rel, 'file');
      await this.joinLinkGroup(rel, linkKey!, false);
      return;
    }
    const temp = this.tempName(full);
    const handle = await open(temp, O_CREATE_NEW, 0o600);
    this.open = { rel, full, temp, handle, header: h, mode, linkKey };
  }

  private async joinLinkGroup(rel: string, key: string, hasData: boolean): Promise<void> {
    const group = this.links.get(key) ?? [];
    this.links.set(key, group);
    if (hasData) {
      // This member holds the data: earlier members are re-pointed at its inode.
      const full = join(this.options.dir, rel);
      for (const member of group) {
        if (member === rel || this.memberOf.get(member) !== key) continue;
        await this.createThenRename(join(this.options.dir, member), (temp) => link(full, temp));
      }
    }
    if (!group.includes(rel)) group.push(rel);
    this.memberOf.set(rel, key);
  }

  /** Creates the directories above `rel` that the archive did not list; false to skip the entry. */
  private async makeParents(rel: string, where: string): Promise<boolean> {
    const parts = rel.split('/');
    let parent = '';
    for (let i = 0; i < parts.length - 1; i++) {
      parent = parent ? `${parent}/${parts[i]}` : parts[i]!;
      const node = this.nodes.get(parent);
      if (!node) {
        await mkdir(join(this.options.dir, parent), 0o700);
        this.addNode(parent, 'dir');
        this.dirAttrs.set(parent, { mode: IMPLICIT_DIR_MODE });
        continue;
      }
      if (node.type === 'dir') continue;
      if (node.type === 'symlink') {
        throw new ExtractError(
          'E-PATH-SYMLINK',
          `${where}: its parent '${parent}' is a symlink (-> ${node.linkTarget}); writing through it could leave the target directory`,
          'a hostile or broken archive; nothing outside the target directory was written',
        );
      }
      this.options.warnings.warn('W-PARENT-NOT-DIR', `${where}: '${parent}' is a ${node.type}, not a directory; skipped`);
      return false;
    }
    return true;
  }

  /** Handles a path seen before; false to skip the new entry. */
  private async clearPlace(rel: string, h: NewcHeader, where: string): Promise<boolean> {
    const existing = this.nodes.get(rel);
    if (!existing) return true;
    if (existing.type === 'dir' && h.type === 'dir') {
      // Normal across segments (both hold usr/, lib/...): the kernel's mkdir fails and its
      // chmod applies, so the later mode and mtime win. Not worth a warning.
      this.dirAttrs.set(rel, this.dirAttrsOf(h));
      return false;
    }
    const { warnings } = this.options;
    if (existing.type === 'dir' && existing.children > 0) {
      warnings.warn('W-DUPLICATE', `${where}: '${rel}' is already a directory with entries; kept it and skipped this ${h.type}`);
      return false;
    }
    warnings.warn('W-DUPLICATE', `${where}: '${rel}' was already extracted as a ${existing.type}; this ${h.type} replaces it, as in the kernel`);
    const full = join(this.options.dir, rel);
    if (existing.type === 'dir') {
      await rmdir(full);
      this.dirAttrs.delete(rel);
      this.removeNode(rel);
    } else if (h.type === 'dir') {
      await unlink(full);
      this.removeNode(rel);
    } else {
      // Replaced by rename() once the new entry is complete.
      this.memberOf.delete(rel);
    }
    return true;
  }

  private fileMode(h: NewcHeader, where: string): number {
    const special = h.mode & 0o6000;
    if (!special || (this.options.asRoot && this.options.keepSetuid)) return h.mode;
    const bits = special === 0o6000 ? 'setuid and setgid bits' : special === 0o4000 ? 'setuid bit' : 'setgid bit';
    const why = this.options.asRoot ? 'give --keep-setuid to keep it' : 'kept only as root with --keep-setuid';
    this.options.warnings.warn('W-SETUID-DROPPED', `${where}: ${bits} dropped, mode 0${oct(h.mode)} -> 0${oct(h.mode & ~0o6000)} (${why})`);
    return h.mode & ~0o6000;
  }

  private dirAttrsOf(h: NewcHeader): DirAttrs {
    return { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime };
  }

  private async setAttrs(path: string, h: NewcHeader, mode: number): Promise<void> {
    if (this.options.asRoot) await chown(path, h.uid, h.gid);
    await chmod(path, mode);
    await utimes(path, h.mtime, h.mtime);
  }

  private async createThenRename(full: string, make: (temp: string) => Promise<unknown>): Promise<void> {
    const temp = this.tempName(full);
    try {
      await make(temp);
      await rename(temp, full);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  private tempName(full: string): string {
    return join(dirname(full), `.ramboot-${this.tempTag}-${++this.tempCount}.tmp`);
  }

  private addNode(rel: string, type: CpioEntryType, linkTarget?: string): void {
    const had = this.nodes.has(rel);
    this.nodes.set(rel, { type, children: 0, linkTarget });
    this.written++;
    if (!had) this.nodes.get(parentOf(rel))!.children++;
  }

  private removeNode(rel: string): void {
    if (!this.nodes.delete(rel)) return;
    this.nodes.get(parentOf(rel))!.children--;
    this.memberOf.delete(rel);
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function oct(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

function ioError(err: unknown, where: string): unknown {
  if (err instanceof RambootError) return err;
  const e = err as NodeJS.ErrnoException;
  return new RambootError('io', `${where}: ${e.code ? `${e.code} ` : ''}${e.message}`, undefined, { cause: err });
}
