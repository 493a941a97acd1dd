// The one list of what goes into the initrd. Hooks, module resolution, busybox and the boot
// scripts all add requests here; the plan detects conflicts (naming which requester asked for
// what), fills in parent directories, and emits entries sorted by path so the archive is the
// same bytes for the same inputs.
import { posix } from 'node:path';
import type { CpioEntry } from '../cpio/entry.js';
import { inputError } from '../errors.js';

export type PlanContent =
  | { kind: 'dir' }
  | { kind: 'file'; data: Buffer }
  | { kind: 'disk-file'; path: string; size: number }
  | { kind: 'symlink'; target: string }
  | { kind: 'chardev'; major: number; minor: number };

export interface PlanItem {
  path: string;
  mode: number;
  content: PlanContent;
  /** Who asked for it, e.g. 'hook zram', 'module resolution', 'busybox'. */
  requestedBy: string;
}

/** 'usr/bin/x', '/usr/bin/x' and './usr/bin/x' all name the archive path 'usr/bin/x'. */
export function normalizeArchivePath(path: string): string {
  if (path.split('/').includes('..')) throw inputError(`"${path}" leaves the initrd root`);
  const normal = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, '');
  if (normal === '' || normal === '.') throw inputError(`"${path}" is not a file path inside the initrd`);
  return normal;
}

function sameContent(a: PlanContent, b: PlanContent): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'dir':
      return true;
    case 'file':
      return b.kind === 'file' && a.data.equals(b.data);
    case 'disk-file':
      return b.kind === 'disk-file' && a.path === b.path;
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'chardev':
      return b.kind === 'chardev' && a.major === b.major && a.minor === b.minor;
  }
}

function describe(item: PlanItem): string {
  const c = item.content;
  const what = c.kind === 'symlink' ? `symlink to ${c.target}` : c.kind === 'disk-file' ? `file from ${c.path}` : c.kind;
  return `${what} (${item.requestedBy})`;
}

export class InitrdPlan {
  private readonly items = new Map<string, PlanItem>();

  add(item: PlanItem): void {
    const path = normalizeArchivePath(item.path);
    const existing = this.items.get(path);
    if (existing) {
      if (sameContent(existing.content, item.content) && existing.mode === item.mode) return;
      // Two requests for one directory agree even if one came from parent filling.
      if (existing.content.kind === 'dir' && item.content.kind === 'dir') return;
      throw inputError(
        `conflict at /${path}: ${describe(existing)} vs ${describe({ ...item, path })}`,
        'drop one of the two requests (a hook, --modules or a file) or give one another path',
      );
    }
    this.items.set(path, { ...item, path });
  }

  addDir(path: string, requestedBy: string, mode = 0o755): void {
    this.add({ path, mode, content: { kind: 'dir' }, requestedBy });
  }

  addFile(path: string, data: Buffer, requestedBy: string, mode = 0o644): void {
    this.add({ path, mode, content: { kind: 'file', data }, requestedBy });
  }

  addSymlink(path: string, target: string, requestedBy: string): void {
    this.add({ path, mode: 0o777, content: { kind: 'symlink', target }, requestedBy });
  }

  has(path: string): boolean {
    return this.items.has(normalizeArchivePath(path));
  }

  get(path: string): PlanItem | undefined {
    return this.items.get(normalizeArchivePath(path));
  }

  /** Every item, parents filled in (0755 dirs), sorted by path: a parent sorts before its children. */
  list(): PlanItem[] {
    for (const path of [...this.items.keys()]) {
      for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
        const existing = this.items.get(dir);
        if (existing && existing.content.kind !== 'dir') {
          throw inputError(`conflict at /${dir}: ${describe(existing)} is also the parent directory of /${path}`);
        }
        if (!existing) this.items.set(dir, { path: dir, mode: 0o755, content: { kind: 'dir' }, requestedBy: `parent of /${path}` });
      }
    }
    return [...this.items.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The plan as cpio entries: root-owned, every mtime the given one (SOURCE_DATE_EPOCH or 0). */
  *toCpioEntries(mtime: number): Generator<CpioEntry> {
    for (const item of this.list()) {
      const base = { path: item.path, mode: item.mode, uid: 0, gid: 0, mtime };
      const c = item.content;
      switch (c.kind) {
        case 'dir':
          yield { ...base, type: 'dir' };
          break;
        case 'file':
          yield { ...base, type: 'file', data: c.data };
          break;
        case 'disk-file':
          yield { ...base, type: 'file', source: { path: c.path, size: c.size } };
          break;
        case 'symlink':
          yield { ...base, type: 'symlink', linkTarget: c.target };
          break;
        case 'chardev':
          yield { ...base, type: 'chardev', rdevMajor: c.major, rdevMinor: c.minor };
          break;
      }
    }
  }
}
