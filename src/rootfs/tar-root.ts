// `--root` as a directory or as a tarball (debootstrap --make-tarball, mmdebstrap, docker export).
// A tarball is read as a stream (file -> decompressor -> tar-stream, never whole in memory) and
// unpacked into a fresh temp dir as faithfully as root can: owners (numeric), modes with setuid,
// mtimes, symlinks, hard links, device nodes, fifos and xattrs, file capabilities included.
//
// The tarball is untrusted. Writing goes through extract/tree-writer.ts, the same writer that
// extracts initrds: '..' components are errors (E-PATH-TRAVERSAL), so are writes through a
// symlinked parent (E-PATH-SYMLINK); a leading '/' is stripped with one W-ABSOLUTE-PATH warning,
// as GNU tar and the kernel do. A hard link must name an earlier entry of the archive (checked
// here, before anything is linked). On any error the temp dir is removed: a half-made root is
// never returned. Truncation (tar-stream's "Unexpected end of data", or no end-of-archive
// block) and corruption are E-TRUNCATED / E-CORRUPT.
//
// Xattrs: tar-stream decodes pax values as UTF-8, which corrupts binary ones (FACTS.md), so the
// raw records come from tar-header-tap.ts. They are applied at the very end, after every chown
// (a chown clears security.capability), in one `setfattr -h --restore` run: -h never follows a
// symlink, and only paths still holding the entry that carried the xattr are listed.
import { once } from 'node:events';
import { createReadStream, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import tarStream from 'tar-stream';
import { detectFormat } from '../compress/magic.js';
import type { CpioEntryType } from '../cpio/entry.js';
import type { NewcHeader } from '../cpio/newc-reader.js';
import { inputError, RambootError } from '../errors.js';
import { normalizeEntryPath } from '../extract/entry-path.js';
import { ExtractError, Warnings, type ExtractWarning } from '../extract/problems.js';
import { segmentLabel, type SegmentInfo } from '../extract/read-initrd.js';
import { TreeWriter } from '../extract/tree-writer.js';
import { runTool } from '../util/run-tool.js';
import { TarHeaderTap, type TapEntry } from './tar-header-tap.js';

export interface MaterializedRoot {
  /** A directory holding the root tree. */
  dir: string;
  /** Removes the temp dir of an unpacked tarball; a no-op for a directory. Safe to call twice. */
  cleanup(): Promise<void>;
  fromTarball: boolean;
  /** Oddities met while unpacking (W-* codes), at most a few per code. */
  warnings: string[];
  /** A message naming the temp dir names the tarball instead (identity for a directory). */
  relabel(text: string): string;
}

export interface MaterializeOptions {
  /** A one-line entries/bytes counter on stderr. Default: stderr is a terminal. */
  progress?: boolean;
}

type TarCompression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';
const HOSTILE_HINT = 'a hostile or broken archive; nothing outside the target directory was written';

export async function materializeRoot(path: string, options: MaterializeOptions = {}): Promise<MaterializedRoot> {
  const st = await stat(path).catch(() => null);
  if (!st) throw inputError(`root tree ${path} does not exist`, "give --root a root directory or a tarball of one (.tar, .tar.gz, .tar.zst, .tar.xz)");
  if (st.isDirectory()) return { dir: path, cleanup: async () => undefined, fromTarball: false, warnings: [], relabel: (text) => text };
  const compression = st.isFile() ? await sniffTarball(path) : undefined;
  if (!compression) {
    throw inputError(`root ${path} is neither a directory nor a tarball`, 'give a root directory or a .tar, .tar.gz, .tar.zst or .tar.xz');
  }
  // work/root is the tree; work/ also holds the xattr list, out of the tree and out of reach
  // of anyone else's names in a shared /tmp (mkdtemp makes work/ 0700).
  const work = await realpath(await mkdtemp(join(process.env.RAMBOOT_TMPDIR || tmpdir(), 'ramboot-root-')));
  const dir = join(work, 'root');
  let removed = false;
  liveWorkDirs.add(work);
  removeOnSignal();
  const cleanup = async () => {
    if (removed) return;
    removed = true;
    await removeTree(work);
    liveWorkDirs.delete(work);
  };
  try {
    await mkdir(dir, 0o755);
    const warnings = await unpackTarball(path, compression, dir, join(work, 'xattrs'), st.size, options.progress ?? process.stderr.isTTY === true);
    return { dir, cleanup, fromTarball: true, warnings, relabel: (text) => text.split(dir).join(path) };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Unpacked roots can be gigabytes: Ctrl-C or a kill during a build must not leave one in /tmp.
 * The signal is raised again once they are gone, so the exit status stays the signal's. */
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

/** The tarball's compression by magic, or undefined when it is no tarball we read. */
async function sniffTarball(path: string): Promise<TarCompression | undefined> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(512);
  try {
    await handle.read(head, 0, 512, 0);
  } finally {
    await handle.close();
  }
  const format = detectFormat(head);
  if (format === 'gzip' || format === 'zstd' || format === 'xz' || format === 'bzip2') return format;
  // ustar / GNU magic at offset 257 ("ustar\0" or "ustar  ").
  return head.toString('latin1', 257, 262) === 'ustar' ? 'none' : undefined;
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

interface LinkTarget {
  /** A regular file: the inode key TreeWriter pairs hard links by. */
  ino?: number;
  mode: number;
  /** Anything else: the header to recreate (hard links to symlinks and nodes become copies). */
  header?: NewcHeader;
}

async function unpackTarball(path: string, compression: TarCompression, dir: string, xattrList: string, fileSize: number, progress: boolean): Promise<string[]> {
  const label = `${basename(path)}${compression === 'none' ? '' : ` (${compression}; offsets in its tar data)`}`;
  // TreeWriter labels its messages with an initrd segment; this one, renamed to the tarball.
  const segment: SegmentInfo = { index: 0, offset: 0, compression: 'none', compressedSize: 0, size: 0, entries: 0, archives: 0 };
  const relabel = (text: string) => text.split(segmentLabel(segment)).join(label);
  const collected: ExtractWarning[] = [];
  const warnings = new Warnings(false, (w) => collected.push({ code: w.code, message: relabel(w.message) }));
  const asRoot = process.getuid?.() === 0;
  const writer = new TreeWriter({ dir, warnings, asRoot, devices: true, keepSetuid: true });
  const tap = new TarHeaderTap();
  const extract = tarStream.extract();
  const counts: { entries: number; tarBytes: number; fileBytes: number; lastEntry: string; fileRead?: number } = { entries: 0, tarBytes: 0, fileBytes: 0, lastEntry: '' };
  const meter = progress ? startMeter(basename(path), counts, fileSize) : undefined;

  const feeding = feedTarball(path, compression, counts, async (chunk) => {
    // Once the extraction stopped (an error in the entry loop), 'close' has fired or will:
    // waiting for 'drain' then would hang, so the feed stops here.
    if (extract.destroying) throw new Error('tar parsing stopped');
    tap.push(chunk);
    if (tap.error) throw new ExtractError('E-CORRUPT', `${label}: ${tap.error}`);
    counts.tarBytes += chunk.length;
    if (!extract.write(chunk)) await drainOrClose(extract);
  }).then(
    () => void extract.end(null),
    (err: unknown) => void extract.destroy(err as Error),
  );

  const targets = new Map<string, LinkTarget>();
  const xattrs = new Map<string, Array<[string, Buffer]>>();
  let rootListed = false;
  let skippedXattrs = 0;
  try {
    for await (const entry of extract) {
      const h = entry.header as tarStream.Header & { byteOffset: number; type: tarStream.Header['type'] | null };
      const info = tap.take(h.byteOffset);
      if (!info) throw new ExtractError('E-CORRUPT', `${label}: lost track of the pax headers at byte ${h.byteOffset}`);
      const where = `${label}: entry '${h.name}' at byte ${info.headerOffset}`;
      counts.entries++;
      counts.lastEntry = h.name;
      const { path: rel } = normalizeEntryPath(h.name, where);
      if (h.name.includes('\uFFFD')) throw new ExtractError('E-CORRUPT', `${where}: the name is not valid UTF-8, which is how ramboot reads tar names`);
      const header = toNewcHeader(h, info, where);
      if (rel === '') rootListed = true;
      let created = false;
      if (header) {
        if (h.type === 'link') resolveHardLink(header, h, rel, targets, where);
        const before = writer.written;
        await writer.entry(header, segment);
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          counts.fileBytes += chunk.length;
          await writer.data(chunk);
        }
        await writer.entryEnd(header);
        created = rel === '' || writer.written > before; // the root itself is no new node
      } else {
        entry.resume();
        await once(entry, 'end').catch(() => undefined);
      }
      if (!created) continue;
      // The path now holds this entry: what was known about an earlier one there is void.
      targets.delete(rel);
      xattrs.delete(rel);
      const h2 = header!;
      if (h2.type === 'file') targets.set(rel, { ino: h2.ino, mode: h2.mode });
      else if (h2.type !== 'dir') targets.set(rel, { mode: h2.mode, header: h2 });
      const list = readXattrs(info.records, where);
      const kept = asRoot ? list : list.filter(([name]) => name.startsWith('user.'));
      skippedXattrs += list.length - kept.length;
      if (h2.type === 'symlink') skippedXattrs += kept.length;
      else if (kept.length > 0) xattrs.set(rel, kept);
    }
    await feeding;
    if (!tap.endSeen) {
      throw new ExtractError('E-TRUNCATED', `${label}: the tar archive ends without its end-of-archive block, after '${counts.lastEntry}'`, 'the tarball was cut short (an interrupted download or write?)');
    }
    await writer.finish();
    if (!rootListed) await chmod(dir, 0o755);
    await applyXattrs(dir, xattrList, xattrs, label);
  } catch (err) {
    await writer.abort();
    extract.destroy(new Error('stopped'));
    await feeding;
    throw renameError(err, label, relabel, counts.lastEntry, tap.endSeen);
  } finally {
    meter?.stop();
  }
  const result = summarize(collected);
  if (!asRoot) result.unshift(`not running as root: owners, device nodes, setuid bits and non-user xattrs of ${basename(path)} are not kept`);
  if (skippedXattrs > 0) result.push(`${skippedXattrs} xattrs not applied (symlinks, or not root)`);
  return result;
}

function toNewcHeader(h: tarStream.Header, info: TapEntry, where: string): NewcHeader | undefined {
  if ([...info.records.keys()].some((k) => k.startsWith('GNU.sparse.')) || info.typeflag === 'S') {
    throw new ExtractError('E-CORRUPT', `${where} is a GNU sparse file, which ramboot does not unpack`, 're-create the tarball without --sparse');
  }
  const number = (key: string) => {
    const v = info.records.get(key);
    return v === undefined ? undefined : Number(v.toString('latin1'));
  };
  const mtime = Math.floor(number('mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0));
  const base = {
    path: h.name, // TreeWriter normalizes it again, and reports a leading '/'
    mode: (h.mode ?? 0) & 0o7777,
    uid: number('uid') ?? h.uid ?? 0,
    gid: number('gid') ?? h.gid ?? 0,
    mtime,
    nlink: 1,
    rdevMajor: h.devmajor ?? 0,
    rdevMinor: h.devminor ?? 0,
    size: h.size ?? 0,
    ino: 0,
    devMajor: 0,
    devMinor: 0,
    offset: info.headerOffset,
  };
  const TYPES: Partial<Record<string, CpioEntryType>> = {
    file: 'file',
    'contiguous-file': 'file',
    link: 'file',
    directory: 'dir',
    symlink: 'symlink',
    'character-device': 'chardev',
    'block-device': 'blockdev',
    fifo: 'fifo',
  };
  const type = h.type ? TYPES[h.type] : undefined;
  if (!type) {
    if (info.typeflag === 'V') return undefined; // a GNU volume label: no file
    throw new ExtractError('E-CORRUPT', `${where} has tar type '${info.typeflag}', which ramboot does not unpack`);
  }
  if (type === 'symlink') return { ...base, type, size: 0, linkTarget: h.linkname ?? '' };
  // Every file is its own hard-link group (nlink 2, a fresh inode): a later link entry joins it.
  if (type === 'file' && h.type !== 'link') return { ...base, type, nlink: 2, ino: freshIno() };
  return { ...base, type };
}

/** Points a hard-link entry at an earlier entry of the archive, or refuses it. */
function resolveHardLink(header: NewcHeader, h: tarStream.Header, rel: string, targets: Map<string, LinkTarget>, where: string): void {
  const target = normalizeEntryPath(h.linkname ?? '', `${where}: its hard link target '${h.linkname}'`).path;
  const known = targets.get(target);
  if (!known || target === rel) {
    throw new ExtractError(
      'E-CORRUPT',
      `${where} is a hard link to '${h.linkname}', which ${target === rel ? 'is the entry itself' : 'is not an earlier file of the archive'}`,
      HOSTILE_HINT,
    );
  }
  if (known.header) {
    Object.assign(header, { ...known.header, path: h.name, offset: header.offset });
    return;
  }
  Object.assign(header, { type: 'file', size: 0, nlink: 2, ino: known.ino, mode: known.mode });
}

let inoCounter = 0;
/** A fresh inode key for each regular file (TreeWriter pairs hard links by it). */
function freshIno(): number {
  return ++inoCounter;
}

/** SCHILY.xattr.NAME (GNU tar, star, Go's archive/tar) is the raw value; LIBARCHIVE.xattr.NAME
 * (bsdtar) has a %-encoded name and a base64 value. */
function readXattrs(records: Map<string, Buffer>, where: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of records) {
    let name: string;
    let bytes: Buffer;
    if (key.startsWith('SCHILY.xattr.')) {
      name = key.slice('SCHILY.xattr.'.length);
      bytes = value;
    } else if (key.startsWith('LIBARCHIVE.xattr.')) {
      try {
        name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
      } catch {
        throw new ExtractError('E-CORRUPT', `${where} has a malformed xattr record '${key}'`);
      }
      bytes = Buffer.from(value.toString('latin1'), 'base64');
    } else continue;
    // setfattr's dump format is "name=0xHEX" per line: a name with '=' or a control byte in it
    // could not be written there unambiguously, and Linux has no such xattr namespaces anyway.
    if (!/^[\x21-\x3c\x3e-\x7e]{1,255}$/.test(name)) throw new ExtractError('E-CORRUPT', `${where} has an xattr with an invalid name '${name}'`);
    out.push([name, bytes]);
  }
  return out;
}

async function applyXattrs(dir: string, dump: string, xattrs: Map<string, Array<[string, Buffer]>>, label: string): Promise<void> {
  if (xattrs.size === 0) return;
  const lines: string[] = [];
  for (const [rel, list] of xattrs) {
    lines.push(`# file: ${quoteDumpPath(rel || '.')}`);
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

/** getfattr/setfattr dump quoting (attr's libmisc quote.c): bytes outside graphic ASCII and
 * the backslash as \ooo. */
function quoteDumpPath(rel: string): string {
  let out = '';
  for (const b of Buffer.from(rel, 'utf8')) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** file -> decompressor -> onChunk, with backpressure; rejects on read or decompression errors. */
async function feedTarball(path: string, compression: TarCompression, counts: { fileRead?: number | undefined }, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      counts.fileRead = (counts.fileRead ?? 0) + chunk.length;
      done(null, chunk);
    },
  });
  const sink = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) await onChunk(chunk);
  };
  if (compression === 'none' || compression === 'gzip') {
    await pipeline(file, counter, compression === 'gzip' ? createGunzip() : new PassThrough(), sink);
    return;
  }
  const tool = compression === 'bzip2' ? 'bzip2' : compression;
  const child = execa(tool, ['-d', '-c', '-q'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
  const input = pipeline(file, counter, child.stdin!);
  const output = pipeline(child.stdout! as Readable, sink);
  const [inResult, outResult] = await Promise.allSettled([input, output]);
  const result = await child;
  // Which failure is the cause? A stopped extraction (a RambootError: an unsafe path) always is.
  // When the tar parser failed first, the decompressor then only dies of the broken pipe. But when
  // the decompressor failed on its own (a truncated .zst), whatever the parser saw next (an early
  // end, a premature close) is a consequence, and which of the two settles first is a race.
  const sinkError = outResult.status === 'rejected' ? outResult.reason : undefined;
  const brokenPipe = result.signal === 'SIGPIPE' || /broken pipe|write error/i.test(String(result.stderr ?? ''));
  if (sinkError !== undefined && (!result.failed || brokenPipe || sinkError instanceof RambootError)) throw sinkError;
  if (result.failed) {
    if ((result as { code?: string }).code === 'ENOENT') throw new RambootError('tool', `${tool} not found`, `apt-get install ${tool === 'xz' ? 'xz-utils' : tool}`);
    const tail = String(result.stderr ?? '').trim().split('\n').slice(-2).join(' | ');
    throw new ExtractError('E-CORRUPT', `${basename(path)}: ${tool} -d failed${tail ? `: ${tail}` : ''}`, 'the tarball is truncated or corrupt');
  }
  if (inResult.status === 'rejected') throw inResult.reason;
}

function drainOrClose(stream: tarStream.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    if (stream.destroyed) done();
  });
}

/** tar-stream's plain Errors -> coded one-liners; TreeWriter's relabelled to the tarball. */
function renameError(err: unknown, label: string, relabel: (text: string) => string, lastEntry: string, endSeen: boolean): unknown {
  const after = lastEntry ? ` (after entry '${lastEntry}')` : ' (before the first entry)';
  if (err instanceof ExtractError) {
    return new ExtractError(err.id, relabel(err.message.slice(err.id.length + 2)), err.hint, { cause: err, code: err.code });
  }
  if (err instanceof RambootError) return new RambootError(err.code, relabel(err.message), err.hint, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  // When the parser stops under an entry, the entry's own stream reports only a teardown, which
  // can arrive before the parser's "Unexpected end of data": without an end-of-archive block in
  // the bytes read, that is the same truncation.
  if (/Unexpected end of data/.test(message) || (!endSeen && /Stream was destroyed|Premature close/.test(message))) {
    return new ExtractError('E-TRUNCATED', `${label}: the tar archive ends in the middle of an entry${after}`, 'the tarball was cut short (an interrupted download or write?)');
  }
  if (/Invalid tar header|Header exceeds/.test(message)) {
    return new ExtractError('E-CORRUPT', `${label}: ${lastEntry ? 'corrupt tar header' : 'not a tar archive (no valid header)'}${after}`, 'a corrupt tarball, or not a tarball');
  }
  return new RambootError('io', `${label}: ${message}`, undefined, { cause: err });
}

function summarize(list: ExtractWarning[]): string[] {
  const byCode = new Map<string, string[]>();
  for (const w of list) byCode.set(w.code, [...(byCode.get(w.code) ?? []), w.message]);
  const out: string[] = [];
  for (const [code, messages] of byCode) {
    for (const m of messages.slice(0, 3)) out.push(`${code}: ${m}`);
    if (messages.length > 3) out.push(`${code}: ... and ${messages.length - 3} more`);
  }
  return out;
}

function startMeter(name: string, counts: { entries: number; tarBytes: number; fileRead?: number }, fileSize: number): { stop(): void } {
  const draw = () => {
    const pct = fileSize > 0 ? ` (${Math.floor(((counts.fileRead ?? 0) * 100) / fileSize)}%)` : '';
    process.stderr.write(`\rramboot: unpacking ${name}: ${counts.entries} entries, ${(counts.tarBytes / 1048576).toFixed(0)} MiB${pct}\x1b[K`);
  };
  const timer = setInterval(draw, 250);
  return {
    stop() {
      clearInterval(timer);
      draw();
      process.stderr.write('\n');
    },
  };
}
