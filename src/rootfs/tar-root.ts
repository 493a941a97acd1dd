// `--root` as a directory or as a tarball (debootstrap --make-tarball, mmdebstrap, docker export).
// A tarball is read as a stream (file -> decompressor -> tar-stream, never whole in memory) and
// unpacked into a fresh temp dir as faithfully as root can: owners (numeric), modes with setuid,
// mtimes, symlinks, hard links, device nodes, fifos and xattrs, file capabilities included.
// Reading the tar format is src/tar/'s: this file only wires it to the safe writer.
//
// The tarball is untrusted. Writing goes through unpack/tree-writer.ts, the same writer that
// extracts initrds, fed the neutral UnpackEntry (names and link targets as bytes): '..' components are errors (E-PATH-TRAVERSAL), so are writes through a
// symlinked parent (E-PATH-SYMLINK); a leading '/' is stripped with one W-ABSOLUTE-PATH warning,
// as GNU tar and the kernel do. A hard link must name an earlier entry of the archive (checked
// here, before anything is linked). On any error the temp dir is removed: a half-made root is
// never returned. Truncation and corruption are E-TRUNCATED / E-CORRUPT.
//
// Times: every entry keeps its header mtime; directories the tarball only implies, and the root
// when there is no './' entry, get `dirTime` (SOURCE_DATE_EPOCH, or 0), never the unpack time
// (src/tar/unpack-dir.ts), so the same tarball always gives the same tree and the same squashfs.
import { once } from 'node:events';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import tarStream from 'tar-stream';
import { inputError, RambootError } from '../errors.js';
import type { UnpackEntry } from '../unpack/entry.js';
import { normalizeEntryPath, pathBytes } from '../unpack/entry-path.js';
import { ExtractError, Warnings, type ExtractWarning } from '../unpack/problems.js';
import { TreeWriter } from '../unpack/tree-writer.js';
import { XattrPlan } from '../tar/apply-xattrs.js';
import { TarHeaderTap } from '../tar/header-tap.js';
import { displayName, readTarEntry, type TarEntry } from '../tar/tar-entry.js';
import { drainOrClose, feedTarball, readTarStreamError, sniffTarball, type TarCompression } from '../tar/tar-input.js';
import { createWorkDir, pinDirectoryTimes } from '../tar/unpack-dir.js';
import { startMeter, summarizeWarnings, type UnpackCounts } from '../tar/unpack-report.js';
import { sourceDateEpoch } from '../util/source-date-epoch.js';

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
  /** The time of directories the tarball implies. Default: SOURCE_DATE_EPOCH, or 0. */
  dirTime?: number;
}

export async function materializeRoot(path: string, options: MaterializeOptions = {}): Promise<MaterializedRoot> {
  const st = await stat(path).catch(() => null);
  if (!st) throw inputError(`root tree ${path} does not exist`, "give --root a root directory or a tarball of one (.tar, .tar.gz, .tar.zst, .tar.xz)");
  if (st.isDirectory()) return { dir: path, cleanup: async () => undefined, fromTarball: false, warnings: [], relabel: (text) => text };
  const compression = st.isFile() ? await sniffTarball(path) : undefined;
  if (!compression) {
    throw inputError(`root ${path} is neither a directory nor a tarball`, 'give a root directory or a .tar, .tar.gz, .tar.zst or .tar.xz');
  }
  const dirTime = options.dirTime ?? sourceDateEpoch();
  // work/root is the tree; work/ also holds the xattr list, out of the tree.
  const work = await createWorkDir('ramboot-root-');
  const dir = join(work.path, 'root');
  try {
    await mkdir(dir, 0o755);
    const progress = options.progress ?? process.stderr.isTTY === true;
    const warnings = await unpackTarball({ path, compression, dir, xattrList: join(work.path, 'xattrs'), fileSize: st.size, progress, dirTime });
    return { dir, cleanup: work.cleanup, fromTarball: true, warnings, relabel: (text) => text.split(dir).join(path) };
  } catch (err) {
    await work.cleanup();
    throw err;
  }
}

/** What to unpack where; xattrList is a free path outside `dir` for setfattr's list. */
type Unpack = { path: string; compression: TarCompression; dir: string; xattrList: string; fileSize: number; progress: boolean; dirTime: number };

async function unpackTarball({ path, compression, dir, xattrList, fileSize, progress, dirTime }: Unpack): Promise<string[]> {
  const label = `${basename(path)}${compression === 'none' ? '' : ` (${compression}; offsets in its tar data)`}`;
  const collected: ExtractWarning[] = [];
  const warnings = new Warnings(false, (w) => collected.push(w));
  const asRoot = process.getuid?.() === 0;
  // The tarball's './' entry is the root's own mode and owner (extract keeps the target's instead).
  const writer = new TreeWriter({ dir, warnings, asRoot, devices: true, keepSetuid: true, rootEntry: 'apply' });
  const tap = new TarHeaderTap();
  const extract = tarStream.extract();
  const counts: UnpackCounts = { entries: 0, tarBytes: 0, fileBytes: 0, lastEntry: '' };
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

  const xattrs = new XattrPlan(asRoot);
  let rootListed = false;
  try {
    for await (const entry of extract) {
      const h = entry.header as tarStream.Header & { byteOffset: number };
      const info = tap.take(h.byteOffset);
      if (!info) throw new ExtractError('E-CORRUPT', `${label}: lost track of the pax headers at byte ${h.byteOffset}`);
      const name = displayName(info.name);
      const where = `${label}: entry '${name}' at byte ${info.headerOffset}`;
      counts.entries++;
      counts.lastEntry = name;
      const { path: rel } = normalizeEntryPath(info.name, where);
      const tarEntry = readTarEntry(h, info, where);
      const unpack = tarEntry && toUnpackEntry(tarEntry, where);
      if (rel === '') rootListed = true;
      let created = false;
      if (unpack) {
        const before = writer.written;
        await writer.entry(unpack);
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          counts.fileBytes += chunk.length;
          await writer.data(chunk);
        }
        await writer.entryEnd(unpack);
        created = rel === '' || writer.written > before; // the root itself is no new node
      } else {
        entry.resume();
        await once(entry, 'end').catch(() => undefined);
      }
      if (!created) continue;
      xattrs.set(rel, pathBytes(rel), tarEntry!.xattrs, unpack!.kind === 'symlink');
    }
    await feeding;
    if (!tap.endSeen) {
      throw new ExtractError('E-TRUNCATED', `${label}: the tar archive ends without its end-of-archive block, after '${counts.lastEntry}'`, 'the tarball was cut short (an interrupted download or write?)');
    }
    // Every directory to dirTime first; the writer then gives the listed ones their own.
    await pinDirectoryTimes(dir, dirTime);
    await writer.finish();
    if (!rootListed) await chmod(dir, 0o755);
    await xattrs.apply(dir, xattrList, label);
  } catch (err) {
    await writer.abort();
    extract.destroy(new Error('stopped'));
    await feeding;
    throw renameError(err, label, counts.lastEntry, tap.endSeen);
  } finally {
    meter?.stop();
  }
  const result = summarizeWarnings(collected);
  if (!asRoot) result.unshift(`not running as root: owners, device nodes, setuid bits and non-user xattrs of ${basename(path)} are not kept`);
  if (xattrs.skipped > 0) result.push(`${xattrs.skipped} xattrs not applied (symlinks, or not root)`);
  return result;
}

/** A tar member as the neutral entry the safe writer takes; a hard link names its earlier entry. */
function toUnpackEntry(e: TarEntry, where: string): UnpackEntry {
  const base = { path: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size: e.size, rdevMajor: e.rdevMajor, rdevMinor: e.rdevMinor, where };
  switch (e.kind) {
    case 'symlink':
      return { ...base, kind: 'symlink', linkTarget: e.linkTarget };
    case 'hardlink':
      return { ...base, kind: 'file', size: 0, hardLinkTo: e.linkTarget };
    default:
      return { ...base, kind: e.kind };
  }
}

/** tar-stream's plain Errors -> coded one-liners; ours (the writer's name the tarball already) pass. */
function renameError(err: unknown, label: string, lastEntry: string, endSeen: boolean): unknown {
  if (err instanceof RambootError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return readTarStreamError(message, label, lastEntry, endSeen) ?? new RambootError('io', `${label}: ${message}`, undefined, { cause: err });
}
