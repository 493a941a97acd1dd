// `ramboot diff A B`: what an initrd holds after unpacking (later entries replace earlier ones,
// as in the kernel), compared path by path: type, mode, owner, link target, device numbers and
// the sha256 of file content, streamed. mtimes are compared only when asked, since two
// otherwise identical builds differ in them unless SOURCE_DATE_EPOCH was set.
//
// Bounded memory for any number of entries: each image's entries go to a temporary file as one
// line each (hex of the name bytes, sequence number, state), `sort` (external merge sort,
// bounded by -S) orders them by name, the two sorted files are merged line by line, and the
// three result lists are spooled to temporary files and written out one after the other.
// Names stay bytes throughout (hex keys sort as the bytes do); two names that differ only in
// bytes that are not UTF-8 are two names.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { CpioEntryType } from '../cpio/entry.js';
import { inputError } from '../errors.js';
import { escapeName, jsonName } from '../unpack/display-name.js';
import { displayEntryPath } from '../unpack/entry-path.js';
import { Warnings, type ExtractWarning } from '../unpack/problems.js';
import { runTool } from '../util/run-tool.js';
import type { ChunkSizer } from './byte-source.js';
import { detectImageKind } from './image-kind.js';
import { stringOutput, type Output } from './output.js';
import { readInitrd } from './read-initrd.js';

export interface EntryState {
  type: CpioEntryType;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  sha256?: string;
  /** On disk while sorting: hex of the target bytes. In output: the target as jsonName() gives it. */
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

/** The diff as text (or JSON), written to `out` while it is computed. */
export async function writeDiff(options: DiffOptions, json: boolean, out: Output): Promise<void> {
  const warnings = new Warnings(false, options.onWarning);
  const work = await mkdtemp(join(tmpdir(), 'ramboot-diff-'));
  try {
    const sortedA = await sortedStates(options.a, options, warnings, work, 'a');
    const sortedB = await sortedStates(options.b, options, warnings, work, 'b');
    const fields: readonly Field[] = options.mtime ? [...COMPARED, 'mtime'] : COMPARED;
    const lists = { added: spool(join(work, 'added')), removed: spool(join(work, 'removed')), changed: spool(join(work, 'changed')) };
    const counts = { added: 0, removed: 0, changed: 0 };
    const describe = (e: EntryState) =>
      e.type === 'symlink' ? `symlink -> ${escapeName(Buffer.from(e.linkTarget ?? '', 'hex'))}` : e.type === 'file' ? `file, ${e.size} bytes` : e.device ? `${e.type} ${e.device}` : e.type;
    const emit = async (list: keyof typeof lists, text: string) => {
      await lists[list].write(`${counts[list]++ > 0 && json ? ',' : ''}${text}\n`);
    };
    await mergeSorted(sortedA, sortedB, async (key, before, after) => {
      const name = Buffer.from(key, 'hex');
      if (!after) return emit('removed', json ? JSON.stringify(stateJson(name, before!)) : `- ${escapeName(name)} (${describe(before!)})`);
      if (!before) return emit('added', json ? JSON.stringify(stateJson(name, after)) : `+ ${escapeName(name)} (${describe(after)})`);
      const changes: DiffChange['changes'] = {};
      for (const field of fields) if (before[field] !== after[field]) changes[field] = [shownField(field, before[field]), shownField(field, after[field])];
      if (Object.keys(changes).length === 0) return undefined;
      if (json) return emit('changed', JSON.stringify({ ...jsonName('path', name), changes }));
      const parts = Object.entries(changes).map(([field, [from, to]]) =>
        field === 'sha256' ? `content ${short(from)} -> ${short(to)}` : `${field} ${shown(from)} -> ${shown(to)}`,
      );
      return emit('changed', `~ ${escapeName(name)}: ${parts.join(', ')}`);
    });
    for (const list of Object.values(lists)) await list.close();
    if (json) await out.write(`${JSON.stringify({ a: options.a, b: options.b }).slice(0, -1)},`);
    for (const list of ['added', 'removed', 'changed'] as const) {
      if (json) await out.write(`${list === 'added' ? '' : ','}"${list}":[\n`);
      for await (const chunk of createReadStream(join(work, list), { encoding: 'utf8' })) await out.write(chunk as string);
      if (json) await out.write(']');
    }
    const total = counts.added + counts.removed + counts.changed;
    if (json) await out.write(`,${JSON.stringify({ warnings: warnings.list }).slice(1)}\n`);
    else await out.write(total === 0 ? 'no differences\n' : `${counts.added} added, ${counts.removed} removed, ${counts.changed} changed\n`);
    await out.flush();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The diff as one string, text or JSON (tests, small images). */
export async function renderDiff(options: DiffOptions, json = false): Promise<string> {
  const out = stringOutput();
  await writeDiff(options, json, out);
  return out.text();
}

/** The whole diff as data (tests, small images): the JSON rendering, parsed. */
export async function diffImages(options: DiffOptions): Promise<DiffResult> {
  const out = stringOutput();
  await writeDiff(options, true, out);
  const diff = JSON.parse(out.text()) as DiffResult;
  // JSON has no undefined: a field one side lacks ([sha, undefined]) came back as null.
  for (const c of diff.changed) for (const pair of Object.values(c.changes)) pair!.forEach((v, i) => v === null && (pair![i] = undefined));
  return diff;
}

function stateJson(name: Buffer, s: EntryState): Record<string, unknown> {
  const { linkTarget, ...rest } = s;
  return { ...jsonName('path', name), ...rest, ...(linkTarget !== undefined ? jsonName('linkTarget', Buffer.from(linkTarget, 'hex')) : {}) };
}

function shownField(field: Field, value: unknown): unknown {
  return field === 'linkTarget' && typeof value === 'string' ? escapeName(Buffer.from(value, 'hex')) : value;
}

/** Writes an image's final entries, one line each, then sorts them by name; returns the sorted file. */
async function sortedStates(image: string, options: DiffOptions, warnings: Warnings, work: string, tag: string): Promise<string> {
  if ((await detectImageKind(image)) === 'squashfs') {
    throw inputError(`${image} is a squashfs image; diff compares initrds`, 'extract both squashfs images and compare the trees (diff -r)');
  }
  const raw = join(work, `${tag}.raw`);
  const file = spool(raw);
  let seq = 0;
  const put = (key: string, s: EntryState) => file.write(`${key}\t${String(seq++).padStart(12, '0')}\t${JSON.stringify(s)}\n`);
  // Hard links: GNU cpio stores the data with a group's last member only, so members wait here
  // (per archive, a handful) until the member with data gives them its digest.
  const groups = new Map<string, Array<{ key: string; state: EntryState }>>();
  let hash: Hash | undefined;
  let current: { key: string; state: EntryState; group?: string } | undefined;
  const flushGroups = async () => {
    for (const members of groups.values()) for (const m of members) await put(m.key, m.state);
    groups.clear();
  };
  await readInitrd(
    image,
    {
      entry: async (h) => {
        const key = displayEntryPath(h.name).toString('hex');
        const state: EntryState = { type: h.type, mode: `0${h.mode.toString(8).padStart(3, '0')}`, uid: h.uid, gid: h.gid, size: h.type === 'file' ? h.size : 0, mtime: h.mtime };
        if (h.type === 'symlink') state.linkTarget = (h.linkTargetBytes ?? Buffer.alloc(0)).toString('hex');
        if (h.type === 'chardev' || h.type === 'blockdev') state.device = `${h.rdevMajor}:${h.rdevMinor}`;
        hash = h.type === 'file' ? createHash('sha256') : undefined;
        const group = h.type === 'file' && h.nlink >= 2 ? `${h.devMajor}:${h.devMinor}:${h.ino}` : undefined;
        current = { key, state, group };
        if (!hash) await put(key, state);
      },
      data: (chunk) => {
        hash?.update(chunk);
      },
      entryEnd: async (h) => {
        if (!hash || !current) return;
        current.state.sha256 = hash.digest('hex');
        hash = undefined;
        const { group } = current;
        if (!group) return put(current.key, current.state);
        const members = groups.get(group) ?? [];
        members.push({ key: current.key, state: current.state });
        groups.set(group, members);
        if (h.size === 0) return undefined;
        for (const m of members) Object.assign(m.state, { sha256: current.state.sha256, size: h.size });
        for (const m of members) await put(m.key, m.state);
        groups.delete(group);
        return undefined;
      },
      archiveEnd: flushGroups,
    },
    { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize },
  );
  await flushGroups();
  await file.close();
  const sorted = join(work, `${tag}.sorted`);
  // Stable, by the hex name only: equal names keep archive order, so the last one wins below.
  await runTool('sort', ['-s', '-t', '\t', '-k1,1', '-S', '64M', '-T', work, '-o', sorted, raw], { env: { LC_ALL: 'C' } });
  await rm(raw);
  return sorted;
}

type Visit = (key: string, before: EntryState | undefined, after: EntryState | undefined) => Promise<unknown>;

/** Walks two name-sorted files together; for a name listed twice, the last line counts. */
async function mergeSorted(fileA: string, fileB: string, visit: Visit): Promise<void> {
  const a = lastPerKey(fileA)[Symbol.asyncIterator]();
  const b = lastPerKey(fileB)[Symbol.asyncIterator]();
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.key < y.value.key)) {
      await visit(x.value.key, x.value.state, undefined);
      x = await a.next();
    } else if (x.done || y.value.key < x.value.key) {
      await visit(y.value.key, undefined, y.value.state);
      y = await b.next();
    } else {
      await visit(x.value.key, x.value.state, y.value.state);
      x = await a.next();
      y = await b.next();
    }
  }
}

async function* lastPerKey(file: string): AsyncGenerator<{ key: string; state: EntryState }> {
  let held: { key: string; line: string } | undefined;
  for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    const key = line.slice(0, line.indexOf('\t'));
    if (held && held.key !== key) yield { key: held.key, state: parseState(held.line) };
    held = { key, line };
  }
  if (held) yield { key: held.key, state: parseState(held.line) };
}

function parseState(line: string): EntryState {
  return JSON.parse(line.slice(line.indexOf('\t', line.indexOf('\t') + 1) + 1)) as EntryState;
}

/** A write stream used with backpressure. */
function spool(path: string): { write(text: string): Promise<void>; close(): Promise<void> } {
  const stream: WriteStream = createWriteStream(path);
  return {
    async write(text) {
      if (!stream.write(text)) await once(stream, 'drain');
    },
    async close() {
      stream.end();
      await once(stream, 'close');
    },
  };
}

function short(sha: unknown): string {
  return typeof sha === 'string' ? sha.slice(0, 12) : shown(sha);
}

function shown(value: unknown): string {
  return value === undefined ? '(none)' : String(value);
}
