// `ramboot diff A B`: what an initrd holds after unpacking (later entries replace earlier ones,
// as in the kernel), compared path by path: type, mode, owner, link target, device numbers and
// the sha256 of file content, streamed. mtimes are compared only when asked, since two
// otherwise identical builds differ in them unless SOURCE_DATE_EPOCH was set.
import { createHash, type Hash } from 'node:crypto';
import type { CpioEntryType } from '../cpio/entry.js';
import { inputError } from '../errors.js';
import type { ChunkSizer } from './byte-source.js';
import { displayEntryPath } from './entry-path.js';
import { detectImageKind } from './image-kind.js';
import { Warnings, type ExtractWarning } from './problems.js';
import { readInitrd } from './read-initrd.js';

export interface EntryState {
  type: CpioEntryType;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  sha256?: string;
  linkTarget?: string;
  device?: string;
}

const COMPARED = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'linkTarget', 'device'] as const;
type Field = (typeof COMPARED)[number] | 'mtime';

export interface DiffChange {
  path: string;
  changes: Partial<Record<Field, [unknown, unknown]>>;
}

export interface DiffResult {
  a: string;
  b: string;
  added: Array<EntryState & { path: string }>;
  removed: Array<EntryState & { path: string }>;
  changed: DiffChange[];
  warnings: ExtractWarning[];
}

export interface DiffOptions {
  a: string;
  b: string;
  /** Also report changed mtimes. */
  mtime?: boolean;
  maxSize?: number;
  onWarning?: (warning: ExtractWarning) => void;
  chunkSize?: ChunkSizer;
}

export async function diffImages(options: DiffOptions): Promise<DiffResult> {
  const warnings = new Warnings(false, options.onWarning);
  const [a, b] = [await readState(options.a, options, warnings), await readState(options.b, options, warnings)];
  const fields: readonly Field[] = options.mtime ? [...COMPARED, 'mtime'] : COMPARED;
  const result: DiffResult = { a: options.a, b: options.b, added: [], removed: [], changed: [], warnings: warnings.list };
  for (const [path, before] of a) {
    const after = b.get(path);
    if (!after) {
      result.removed.push({ path, ...before });
      continue;
    }
    const changes: DiffChange['changes'] = {};
    for (const field of fields) if (before[field] !== after[field]) changes[field] = [before[field], after[field]];
    if (Object.keys(changes).length > 0) result.changed.push({ path, changes });
  }
  for (const [path, after] of b) if (!a.has(path)) result.added.push({ path, ...after });
  const byPath = (x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  result.added.sort(byPath);
  result.removed.sort(byPath);
  result.changed.sort(byPath);
  return result;
}

/** Path -> state after unpacking every segment. */
export async function readState(image: string, options: Pick<DiffOptions, 'maxSize' | 'chunkSize'>, warnings: Warnings): Promise<Map<string, EntryState>> {
  if ((await detectImageKind(image)) === 'squashfs') {
    throw inputError(`${image} is a squashfs image; diff compares initrds`, 'extract both squashfs images and compare the trees (diff -r)');
  }
  const state = new Map<string, EntryState>();
  // Hard links: GNU cpio stores the data with a group's last member only.
  const groups = new Map<string, string[]>();
  let hash: Hash | undefined;
  let current: { path: string; key?: string } | undefined;
  await readInitrd(
    image,
    {
      entry: (h) => {
        const path = displayEntryPath(h.path);
        const s: EntryState = {
          type: h.type,
          mode: `0${h.mode.toString(8).padStart(3, '0')}`,
          uid: h.uid,
          gid: h.gid,
          size: h.type === 'file' ? h.size : 0,
          mtime: h.mtime,
        };
        if (h.type === 'symlink') s.linkTarget = h.linkTarget;
        if (h.type === 'chardev' || h.type === 'blockdev') s.device = `${h.rdevMajor}:${h.rdevMinor}`;
        state.set(path, s); // a later entry replaces an earlier one, as in the kernel
        hash = h.type === 'file' ? createHash('sha256') : undefined;
        const key = h.type === 'file' && h.nlink >= 2 ? `${h.devMajor}:${h.devMinor}:${h.ino}` : undefined;
        current = { path, key };
        if (key) groups.set(key, [...(groups.get(key) ?? []), path]);
      },
      data: (chunk) => {
        hash?.update(chunk);
      },
      entryEnd: (h) => {
        if (!hash || !current) return;
        const digest = hash.digest('hex');
        const members = current.key && h.size > 0 ? groups.get(current.key)! : [current.path];
        for (const member of members) {
          const s = state.get(member);
          if (s?.type === 'file') Object.assign(s, { sha256: digest, size: h.size });
        }
        hash = undefined;
      },
      archiveEnd: () => groups.clear(),
    },
    { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize },
  );
  return state;
}

export function renderDiff(diff: DiffResult, json = false): string {
  if (json) return `${JSON.stringify(diff, null, 2)}\n`;
  const lines: string[] = [];
  const describe = (e: EntryState) =>
    e.type === 'symlink' ? `symlink -> ${e.linkTarget}` : e.type === 'file' ? `file, ${e.size} bytes` : e.device ? `${e.type} ${e.device}` : e.type;
  for (const e of diff.added) lines.push(`+ ${e.path} (${describe(e)})`);
  for (const e of diff.removed) lines.push(`- ${e.path} (${describe(e)})`);
  for (const c of diff.changed) {
    const parts = Object.entries(c.changes).map(([field, [from, to]]) =>
      field === 'sha256' ? `content ${short(from)} -> ${short(to)}` : `${field} ${shown(from)} -> ${shown(to)}`,
    );
    lines.push(`~ ${c.path}: ${parts.join(', ')}`);
  }
  const total = diff.added.length + diff.removed.length + diff.changed.length;
  lines.push(total === 0 ? 'no differences' : `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`);
  return `${lines.join('\n')}\n`;
}

function short(sha: unknown): string {
  return typeof sha === 'string' ? sha.slice(0, 12) : shown(sha);
}

function shown(value: unknown): string {
  return value === undefined ? '(none)' : String(value);
}
