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
//
// The system calls are synchronous. Each is a few microseconds into the page cache, where an
// fs/promises call is a thread-pool round trip (futex wake-ups, a promise, an event-loop turn):
// measured on a 700-entry initrd, 27,780 futex calls and most of the wall time went there
// (README "Benchmarks", extraction). A decompressor runs in its own process or zlib's thread
// meanwhile, so blocking the event loop for one write costs it nothing.
import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync } from 'node:fs';
import { openSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { runTool } from '../util/run-tool.js';
import { escapeName } from './display-name.js';
import type { UnpackEntry } from './entry.js';
import { normalizeEntryPath, pathBytes } from './entry-path.js';
import { ExtractError, type Warnings } from './problems.js';
import { TempNames, ignoreFailure } from './temp-names.js';
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
  fd: number;
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
  private readonly temps: TempNames;
  private readonly root: Buffer;
  /** Owner a new node gets without chown(2): ours, unless the target is setgid (its group then). */
  private readonly defaultOwner: { uid: number; gid: number } | undefined;

  constructor(private readonly options: TreeWriterOptions) {
    this.root = Buffer.from(options.dir);
    this.temps = new TempNames(this.root);
    // Every node is made in the target's top directory (temporary names) or in directories made
    // here (0700, no setgid until finish()), so only the top directory's setgid bit matters.
    const setgid = options.asRoot ? (statSync(this.root).mode & 0o2000) !== 0 : true;
    this.defaultOwner = setgid ? undefined : { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
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
        const n = writeSync(file.fd, chunk, done, chunk.length - done, null);
        done += n;
        file.written += n;
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
        if (this.needsChown(e.uid, e.gid)) fchownSync(file.fd, e.uid, e.gid);
        fchmodSync(file.fd, file.mode);
        futimesSync(file.fd, e.mtime, e.mtime);
      } finally {
        closeSync(file.fd);
      }
      renameSync(file.temp, this.full(file.rel));
      this.open = undefined;
      this.addNode(file.rel, 'file');
      if (e.linkGroup !== undefined) this.joinLinkGroup(file.rel, e.linkGroup, true);
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
        // The target itself was not made here, so its owner is not known to be ours.
        const chown = attrs.uid !== undefined && this.options.asRoot && (rel === '' || this.needsChown(attrs.uid, attrs.gid!));
        if (chown) chownSync(full, attrs.uid!, attrs.gid!);
        chmodSync(full, attrs.mode);
        if (attrs.mtime !== undefined) utimesSync(full, attrs.mtime, attrs.mtime);
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
    ignoreFailure(() => closeSync(file.fd));
    ignoreFailure(() => unlinkSync(file.temp));
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
    if (!this.makeParents(rel, where)) return;
    if (!this.clearPlace(rel, e)) return;
    const full = this.full(rel);
    if (linkTo !== undefined) return this.hardLink(rel, linkTo);
    switch (e.kind) {
      case 'dir':
        mkdirSync(full, 0o700);
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
        this.temps.createThenRename(full, (temp) => {
          symlinkSync(target, temp);
          if (this.needsChown(e.uid, e.gid)) lchownSync(temp, e.uid, e.gid);
          lutimesSync(temp, e.mtime, e.mtime);
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
        await this.temps.createWithToolThenRename(full, async (temp) => {
          await runTool('mknod', ['-m', '600', '--', temp.toString('latin1'), e.kind === 'chardev' ? 'c' : 'b', String(e.rdevMajor ?? 0), String(e.rdevMinor ?? 0)]);
          this.setAttrs(temp, e, mode);
        });
        this.addNode(rel, e.kind);
        return;
      }
      case 'fifo': {
        const mode = this.fileMode(e);
        await this.temps.createWithToolThenRename(full, async (temp) => {
          await runTool('mkfifo', ['-m', '600', '--', temp.toString('latin1')]);
          this.setAttrs(temp, e, mode);
        });
        this.addNode(rel, 'fifo');
        return;
      }
      case 'socket':
        warnings.warn('W-SOCKET-SKIPPED', `${where} is a socket, which an archive cannot recreate; skipped`);
        return;
    }
  }

  private startFile(rel: string, e: UnpackEntry): void {
    const mode = this.fileMode(e);
    // newc marks hard links by a shared inode and nlink >= 2; GNU cpio stores the data once,
    // with the group's last member, and the others empty (init/initramfs.c maybe_link).
    const group = e.linkGroup;
    const first = group !== undefined ? this.links.first(group) : undefined;
    if (first !== undefined && e.size === 0) {
      this.temps.createThenRename(this.full(rel), (temp) => linkSync(this.full(first), temp));
      this.addNode(rel, 'file');
      this.joinLinkGroup(rel, group!, false);
      return;
    }
    const temp = this.temps.next();
    const fd = openSync(temp, O_CREATE_NEW, 0o600);
    this.open = { rel, temp, fd, entry: e, mode, written: 0 };
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

  private hardLink(rel: string, target: string): void {
    const node = this.nodes.get(target)!;
    // link(2) does not follow a symlink: linking to one links the symlink itself.
    this.temps.createThenRename(this.full(rel), (temp) => linkSync(this.full(target), temp));
    this.addNode(rel, node.kind, node.linkTarget);
  }

  private joinLinkGroup(rel: string, group: string, hasData: boolean): void {
    const earlier = this.links.join(rel, group);
    if (!hasData) return;
    // This member holds the data: earlier members are re-pointed at its inode.
    const full = this.full(rel);
    for (const member of earlier) this.temps.createThenRename(this.full(member), (temp) => linkSync(full, temp));
  }

  /** Creates the directories above `rel` that the archive did not list; false to skip the entry. */
  private makeParents(rel: string, where: string): boolean {
    const parts = rel.split('/');
    let parent = '';
    for (let i = 0; i < parts.length - 1; i++) {
      parent = parent ? `${parent}/${parts[i]}` : parts[i]!;
      const node = this.nodes.get(parent);
      if (!node) {
        mkdirSync(this.full(parent), 0o700);
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
  private clearPlace(rel: string, e: UnpackEntry): boolean {
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
      rmdirSync(full);
      this.dirAttrs.delete(rel);
      this.removeNode(rel);
    } else if (e.kind === 'dir') {
      unlinkSync(full);
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

  /**
   * Only root restores owners. A new node is already owned by our euid/egid, so chown(2) is
   * skipped when that is the owner asked for (every entry of a typical initrd): one system call
   * fewer per entry. chmod follows chown either way, so setuid bits chown would clear are set.
   */
  private needsChown(uid: number, gid: number): boolean {
    if (!this.options.asRoot) return false;
    const owner = this.defaultOwner;
    return !owner || owner.uid !== uid || owner.gid !== gid;
  }

  private setAttrs(path: Buffer, e: UnpackEntry, mode: number): void {
    if (this.needsChown(e.uid, e.gid)) chownSync(path, e.uid, e.gid);
    chmodSync(path, mode);
    utimesSync(path, e.mtime, e.mtime);
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
