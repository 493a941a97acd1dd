// Writes entries under a target directory without ever touching anything outside it.
// The target starts empty, so everything below it was created here, and `nodes` (what each
// path is, tree-nodes.ts) is the whole truth about it: a parent that is a symlink is refused before any system
// call could follow it (E-PATH-SYMLINK), '..' never gets this far (entry-path.ts).
// Each entry is created under a fresh temporary name in the target's top directory
// (O_CREAT|O_EXCL|O_NOFOLLOW for files), given its owner, mode and mtime, and renamed into
// place when complete: a failed or truncated entry never appears under its real name, and
// rename() replaces a duplicate (even a symlink) without following it. Directories are made
// 0700 and get their own mode and mtime last, deepest first, so a read-only directory cannot
// block its children and adding a child cannot bump an mtime already set.
// Paths are bytes end to end (Buffer paths in every system call), so any name comes out as
// it went in; messages show them escaped (display-name.ts).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, link, lutimes, mkdir, open, rename, rmdir, symlink, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { runTool } from '../util/run-tool.js';
import { escapeName } from './display-name.js';
import type { UnpackEntry } from './entry.js';
import { normalizeEntryPath, pathBytes } from './entry-path.js';
import { ExtractError, type Warnings } from './problems.js';
import { LinkGroups, TreeNodes } from './tree-nodes.js';
import { writeFailure } from './write-errors.js';

export interface TreeWriterOptions {
  /** The target: a real path (no symlinks) to an empty directory. */
  dir: string;
  warnings: Warnings;
  /** Running as root: ownership is restored, and devices and setuid bits become possible. */
  asRoot: boolean;
  devices: boolean;
  keepSetuid: boolean;
  /**
   * What an entry for the target itself ('.', '/') does. 'keep' (extract): the directory the
   * user named keeps its mode and owner. 'apply' (a root tree): the archive's root entry sets them.
   */
  rootEntry?: 'keep' | 'apply';
}

interface DirAttrs {
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

interface OpenFile {
  rel: string;
  temp: Buffer;
  handle: FileHandle;
  entry: UnpackEntry;
  mode: number;
  written: number;
}

const O_CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Directories the archive implies but does not list get the mode GNU cpio -d gives them. */
const IMPLICIT_DIR_MODE = 0o755;

export class TreeWriter {
  /** Entries created (directories, files, links, nodes). */
  get written(): number {
    return this.nodes.created;
  }

  private readonly nodes = new TreeNodes();
  private readonly dirAttrs = new Map<string, DirAttrs>();
  private readonly links = new LinkGroups();
  private open: OpenFile | undefined;
  private absoluteSeen = false;
  private tempCount = 0;
  private readonly tempTag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly root: Buffer;

  constructor(private readonly options: TreeWriterOptions) {
    this.root = Buffer.from(options.dir);
  }

  /** Creates the entry (a file is opened: its bytes come through data(), then entryEnd()). */
  async entry(e: UnpackEntry): Promise<void> {
    try {
      await this.create(e);
    } catch (err) {
      throw await writeFailure(err, { where: e.where, target: this.options.dir, needed: e.kind === 'file' ? e.size : undefined });
    }
  }

  async data(chunk: Buffer): Promise<void> {
    const file = this.open;
    if (!file) return; // symlink targets, skipped entries
    try {
      for (let done = 0; done < chunk.length; ) {
        const { bytesWritten } = await file.handle.write(chunk, done, chunk.length - done, null);
        done += bytesWritten;
        file.written += bytesWritten;
      }
    } catch (err) {
      throw await writeFailure(err, { where: `writing ${escapeName(pathBytes(file.rel))}`, target: this.options.dir, needed: file.entry.size });
    }
  }

  async entryEnd(e: UnpackEntry): Promise<void> {
    const file = this.open;
    if (!file || file.entry !== e) return;
    try {
      try {
        if (this.options.asRoot) await file.handle.chown(e.uid, e.gid);
        await file.handle.chmod(file.mode);
        await file.handle.utimes(e.mtime, e.mtime);
      } finally {
        await file.handle.close();
      }
      await rename(file.temp, this.full(file.rel));
      this.open = undefined;
      this.addNode(file.rel, 'file');
      if (e.linkGroup !== undefined) await this.joinLinkGroup(file.rel, e.linkGroup, true);
    } catch (err) {
      throw await writeFailure(err, { where: `finishing ${escapeName(pathBytes(file.rel))}`, target: this.options.dir });
    }
  }

  /** The end of one archive (a newc TRAILER!!!): the kernel forgets hard-link inodes there (free_hash). */
  archiveEnd(): void {
    this.links.clear();
  }

  /** Directory modes and mtimes, deepest first, once every entry is in place. */
  async finish(): Promise<void> {
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    const dirs = [...this.dirAttrs].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, attrs] of dirs) {
      const full = this.full(rel);
      try {
        if (this.options.asRoot && attrs.uid !== undefined) await chown(full, attrs.uid, attrs.gid!);
        await chmod(full, attrs.mode);
        if (attrs.mtime !== undefined) await utimes(full, attrs.mtime, attrs.mtime);
      } catch (err) {
        throw await writeFailure(err, { where: `setting the mode of ${escapeName(pathBytes(rel)) || '.'}`, target: this.options.dir });
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

  private async create(e: UnpackEntry): Promise<void> {
    const { warnings } = this.options;
    const { where } = e;
    const { path: rel, absolute } = normalizeEntryPath(e.path, where);
    if (absolute && !this.absoluteSeen) {
      this.absoluteSeen = true;
      warnings.warn('W-ABSOLUTE-PATH', `${where} is absolute; extracted as '${escapeName(pathBytes(rel)) || '.'}', where the kernel puts it too (later absolute paths are not reported)`);
    }
    if (rel === '') {
      if (e.kind !== 'dir') throw new ExtractError('E-PATH-INVALID', `${where} is a ${e.kind} named like the target directory itself`);
      if (this.options.rootEntry === 'apply') this.dirAttrs.set('', this.dirAttrsOf(e));
      return;
    }
    // A hard link is checked before anything is created for it.
    const linkTo = e.hardLinkTo !== undefined ? this.hardLinkTarget(rel, e) : undefined;
    if (!(await this.makeParents(rel, where))) return;
    if (!(await this.clearPlace(rel, e))) return;
    const full = this.full(rel);
    if (linkTo !== undefined) return this.hardLink(rel, linkTo);
    switch (e.kind) {
      case 'dir':
        await mkdir(full, 0o700);
        this.addNode(rel, 'dir');
        this.dirAttrs.set(rel, this.dirAttrsOf(e));
        return;
      case 'file':
        return this.startFile(rel, e);
      case 'symlink': {
        const target = e.linkTarget ?? Buffer.alloc(0);
        if (target.length === 0 || target.includes(0)) {
          throw new ExtractError('E-CORRUPT', `${where} is a symlink with ${target.length === 0 ? 'an empty target' : 'a NUL byte in its target'}`);
        }
        await this.createThenRename(full, async (temp) => {
          await symlink(target, temp);
          if (this.options.asRoot) await lchown(temp, e.uid, e.gid);
          await lutimes(temp, e.mtime, e.mtime);
        });
        this.addNode(rel, 'symlink', target);
        return;
      }
      case 'chardev':
      case 'blockdev': {
        const { asRoot, devices } = this.options;
        const dev = `${e.rdevMajor ?? 0}:${e.rdevMinor ?? 0}`;
        if (!(asRoot && devices)) {
          const why = asRoot ? 'give --devices to create it' : devices ? 'only root can create device nodes' : 'needs root and --devices';
          warnings.warn('W-DEVICE-SKIPPED', `${where} is a ${e.kind === 'chardev' ? 'character' : 'block'} device ${dev}, not created (${why})`);
          return;
        }
        const mode = this.fileMode(e);
        // mknod(1) takes a text argument: the temporary name is ASCII, in the target's top directory.
        await this.createThenRename(full, async (temp) => {
          await runTool('mknod', ['-m', '600', '--', temp.toString('latin1'), e.kind === 'chardev' ? 'c' : 'b', String(e.rdevMajor ?? 0), String(e.rdevMinor ?? 0)]);
          await this.setAttrs(temp, e, mode);
        });
        this.addNode(rel, e.kind);
        return;
      }
      case 'fifo': {
        const mode = this.fileMode(e);
        await this.createThenRename(full, async (temp) => {
          await runTool('mkfifo', ['-m', '600', '--', temp.toString('latin1')]);
          await this.setAttrs(temp, e, mode);
        });
        this.addNode(rel, 'fifo');
        return;
      }
      case 'socket':
        warnings.warn('W-SOCKET-SKIPPED', `${where} is a socket, which an archive cannot recreate; skipped`);
        return;
    }
  }

  private async startFile(rel: string, e: UnpackEntry): Promise<void> {
    const mode = this.fileMode(e);
    // newc marks hard links by a shared inode and nlink >= 2; GNU cpio stores the data once,
    // with the group's last member, and the others empty (init/initramfs.c maybe_link).
    const group = e.linkGroup;
    const first = group !== undefined ? this.links.first(group) : undefined;
    if (first !== undefined && e.size === 0) {
      await this.createThenRename(this.full(rel), (temp) => link(this.full(first), temp));
      this.addNode(rel, 'file');
      await this.joinLinkGroup(rel, group!, false);
      return;
    }
    const temp = this.tempName();
    const handle = await open(temp, O_CREATE_NEW, 0o600);
    this.open = { rel, temp, handle, entry: e, mode, written: 0 };
  }

  /** A tar hard link: the target must be an earlier entry of the archive that is not a directory. */
  private hardLinkTarget(rel: string, e: UnpackEntry): string {
    const shown = escapeName(e.hardLinkTo!);
    const target = normalizeEntryPath(e.hardLinkTo!, `${e.where}: its hard link target '${shown}'`).path;
    const node = this.nodes.get(target);
    if (!node || node.kind === 'dir' || target === rel) {
      throw new ExtractError(
        'E-CORRUPT',
        `${e.where} is a hard link to '${shown}', which ${target === rel ? 'is the entry itself' : 'is not an earlier file of the archive'}`,
        'a hostile or broken archive; nothing outside the target directory was written',
      );
    }
    return target;
  }

  private async hardLink(rel: string, target: string): Promise<void> {
    const node = this.nodes.get(target)!;
    // link(2) does not follow a symlink: linking to one links the symlink itself.
    await this.createThenRename(this.full(rel), (temp) => link(this.full(target), temp));
    this.addNode(rel, node.kind, node.linkTarget);
  }

  private async joinLinkGroup(rel: string, group: string, hasData: boolean): Promise<void> {
    const earlier = this.links.join(rel, group);
    if (!hasData) return;
    // This member holds the data: earlier members are re-pointed at its inode.
    const full = this.full(rel);
    for (const member of earlier) await this.createThenRename(this.full(member), (temp) => link(full, temp));
  }

  /** Creates the directories above `rel` that the archive did not list; false to skip the entry. */
  private async makeParents(rel: string, where: string): Promise<boolean> {
    const parts = rel.split('/');
    let parent = '';
    for (let i = 0; i < parts.length - 1; i++) {
      parent = parent ? `${parent}/${parts[i]}` : parts[i]!;
      const node = this.nodes.get(parent);
      if (!node) {
        await mkdir(this.full(parent), 0o700);
        this.addNode(parent, 'dir');
        this.dirAttrs.set(parent, { mode: IMPLICIT_DIR_MODE });
        continue;
      }
      if (node.kind === 'dir') continue;
      if (node.kind === 'symlink') {
        throw new ExtractError(
          'E-PATH-SYMLINK',
          `${where}: its parent '${escapeName(pathBytes(parent))}' is a symlink (-> ${escapeName(node.linkTarget ?? Buffer.alloc(0))}); writing through it could leave the target directory`,
          'a hostile or broken archive; nothing outside the target directory was written',
        );
      }
      this.options.warnings.warn('W-PARENT-NOT-DIR', `${where}: '${escapeName(pathBytes(parent))}' is a ${node.kind}, not a directory; skipped`);
      return false;
    }
    return true;
  }

  /** Handles a path seen before; false to skip the new entry. */
  private async clearPlace(rel: string, e: UnpackEntry): Promise<boolean> {
    const existing = this.nodes.get(rel);
    if (!existing) return true;
    const { where } = e;
    const shown = escapeName(pathBytes(rel));
    if (existing.kind === 'dir' && e.kind === 'dir' && e.hardLinkTo === undefined) {
      // Normal across segments (both hold usr/, lib/...): the kernel's mkdir fails and its
      // chmod applies, so the later mode and mtime win. Not worth a warning.
      this.dirAttrs.set(rel, this.dirAttrsOf(e));
      return false;
    }
    const { warnings } = this.options;
    if (existing.kind === 'dir' && existing.children > 0) {
      warnings.warn('W-DUPLICATE', `${where}: '${shown}' is already a directory with entries; kept it and skipped this ${e.kind}`);
      return false;
    }
    warnings.warn('W-DUPLICATE', `${where}: '${shown}' was already extracted as a ${existing.kind}; this ${e.kind} replaces it, as in the kernel`);
    const full = this.full(rel);
    if (existing.kind === 'dir') {
      await rmdir(full);
      this.dirAttrs.delete(rel);
      this.removeNode(rel);
    } else if (e.kind === 'dir') {
      await unlink(full);
      this.removeNode(rel);
    } else {
      // Replaced by rename() once the new entry is complete.
      this.links.forget(rel);
    }
    return true;
  }

  private fileMode(e: UnpackEntry): number {
    const special = e.mode & 0o6000;
    if (!special || (this.options.asRoot && this.options.keepSetuid)) return e.mode;
    const bits = special === 0o6000 ? 'setuid and setgid bits' : special === 0o4000 ? 'setuid bit' : 'setgid bit';
    const why = this.options.asRoot ? 'give --keep-setuid to keep it' : 'kept only as root with --keep-setuid';
    this.options.warnings.warn('W-SETUID-DROPPED', `${e.where}: ${bits} dropped, mode 0${oct(e.mode)} -> 0${oct(e.mode & ~0o6000)} (${why})`);
    return e.mode & ~0o6000;
  }

  private dirAttrsOf(e: UnpackEntry): DirAttrs {
    return { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
  }

  private async setAttrs(path: Buffer, e: UnpackEntry, mode: number): Promise<void> {
    if (this.options.asRoot) await chown(path, e.uid, e.gid);
    await chmod(path, mode);
    await utimes(path, e.mtime, e.mtime);
  }

  private async createThenRename(full: Buffer, make: (temp: Buffer) => Promise<unknown>): Promise<void> {
    const temp = this.tempName();
    try {
      await make(temp);
      await rename(temp, full);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  /** An ASCII name in the target's top directory: same filesystem, so rename() moves it anywhere below. */
  private tempName(): Buffer {
    return this.full(`.ramboot-${this.tempTag}-${++this.tempCount}.tmp`);
  }

  private full(rel: string): Buffer {
    return rel === '' ? this.root : Buffer.concat([this.root, Buffer.from('/'), pathBytes(rel)]);
  }

  private addNode(rel: string, kind: UnpackEntry['kind'], linkTarget?: Buffer): void {
    this.nodes.add(rel, kind, linkTarget);
  }

  private removeNode(rel: string): void {
    this.nodes.remove(rel);
    this.links.forget(rel);
  }
}

function oct(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

