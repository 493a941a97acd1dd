// Reading the peers' own initrds: `ramboot extract` and `ramboot ls` against the tool each
// initrd's builder ships, on its own image, interleaved (A B C A B C ...) on the same machine:
//   live-boot (the mkinitramfs MODULES=most image, live-boot installed): unmkinitramfs, lsinitramfs
//   dracut (the dracut image of the boot section):                       lsinitrd --unpack, lsinitrd
// plus by-hand `cpio -idm` / `cpio -t` per segment (what one types: the decompressor piped into
// cpio). The peers run in their chroots, on the same filesystem ramboot writes to. Each extract
// starts from an empty directory; afterwards ramboot's tree is compared with the peer's, entry
// by entry (untimed). Peak RSS is GNU time's %M: the largest single process (measure.ts).
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, open, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { withChrootMounts } from './chroot.js';
import { readInitrdContents } from './initrd-contents.js';
import { runAlternating, stats, type Contestant, type Stats } from './measure.js';
import type { BenchSetup, Step } from './setup.js';

export interface ExtractResult {
  name: string;
  command: string;
  wallS?: Stats;
  /** User + system CPU seconds of the whole process tree: what each costs whatever else the
   * machine runs (wall times on a shared machine move with the load). */
  cpuS?: Stats;
  maxRssMiB?: Stats;
  error?: string;
}

export interface TreeCheck {
  /** The peer whose tree ramboot's is compared with. */
  peer: string;
  same: boolean;
  entries: number;
  /** Device nodes the peer made and ramboot skips (no --devices). */
  devicesSkipped: number;
  /** What was compared: mtimes only where the peer keeps them. */
  compared: string;
  differences: string[];
}

export interface ImageBench {
  name: 'live-boot' | 'dracut';
  input: string;
  inputSize: number;
  segments: string;
  entries: number;
  extract: ExtractResult[];
  list: ExtractResult[];
  tree?: TreeCheck;
}

export interface ExtractBench {
  images: ImageBench[];
  /** 1-minute load average before each group of rounds and at the end. */
  load: number[];
}

const DECOMPRESS: Record<string, string> = { zstd: 'zstd -dc', gzip: 'gzip -dc', xz: 'xz -dc', 'lz4-legacy': 'lz4 -dc', bzip2: 'bzip2 -dc' };
const CHROOT_ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C.UTF-8'];

/** The initrd cut into one file per segment (untimed), and the sh lines that read them by hand. */
async function splitSegments(initrd: string, dir: string): Promise<{ extract: string[]; list: string[]; shape: string; entries: number }> {
  const contents = await readInitrdContents(initrd);
  const handle = await open(initrd, 'r');
  const extract: string[] = [];
  const list: string[] = [];
  try {
    for (const [i, seg] of contents.segments.entries()) {
      const buf = Buffer.alloc(seg.bytes);
      await handle.read(buf, 0, seg.bytes, seg.offset);
      const file = join(dir, `segment-${i}.${seg.format}`);
      await writeFile(file, buf);
      const decompress = seg.format === 'cpio' ? undefined : DECOMPRESS[seg.format];
      if (seg.format !== 'cpio' && !decompress) throw new Error(`no decompressor for a ${seg.format} segment`);
      const input = decompress ? `${decompress} < ${file} | ` : '';
      const from = decompress ? '' : ` < ${file}`;
      extract.push(`${input}cpio -idm --quiet${from}`);
      list.push(`${input}cpio -t --quiet${from}`);
    }
  } finally {
    await handle.close();
  }
  return { extract, list, shape: contents.segments.map((s) => s.format).join(' + '), entries: contents.entries };
}

interface Peer {
  name: 'live-boot' | 'dracut';
  root: string;
  initrd: string;
  extractTool: string;
  extract: (img: string, dir: string) => string[];
  listTool: string;
  list: (img: string) => string[];
  /** Whether the peer's extraction keeps file mtimes (cpio -m). */
  keepsMtime: boolean;
}

function peers(setup: BenchSetup, liveBootInitrd: string): Peer[] {
  const inChroot = (root: string, argv: string[]) => ['chroot', root, ...CHROOT_ENV, ...argv];
  return [
    {
      name: 'live-boot',
      root: setup.itools.root,
      initrd: liveBootInitrd,
      extractTool: 'unmkinitramfs',
      extract: (img, dir) => inChroot(setup.itools.root, ['unmkinitramfs', img, dir]),
      listTool: 'lsinitramfs',
      list: (img) => inChroot(setup.itools.root, ['lsinitramfs', img]),
      keepsMtime: true,
    },
    {
      name: 'dracut',
      root: setup.dracut.root,
      // Where bench/run.ts (ensurePeerInitrds) builds it for the boot section.
      initrd: join(setup.dracut.root, 'var/tmp/ramboot-bench/dracut.img'),
      extractTool: 'lsinitrd --unpack',
      // lsinitrd unpacks into its working directory.
      extract: (img, dir) => inChroot(setup.dracut.root, ['sh', '-c', 'cd "$1" && exec lsinitrd --unpack "$2"', 'sh', dir, img]),
      listTool: 'lsinitrd',
      list: (img) => inChroot(setup.dracut.root, ['lsinitrd', img]),
      keepsMtime: false,
    },
  ];
}

export async function benchExtract(setup: BenchSetup, initrd: string, ramboot: readonly string[], _probe: readonly string[], rounds: number, step: Step): Promise<ExtractBench> {
  const load: number[] = [];
  const images: ImageBench[] = [];
  for (const peer of peers(setup, initrd)) {
    const work = join(setup.dir, 'out', 'extract', peer.name);
    await rm(work, { recursive: true, force: true });
    await mkdir(join(work, 'segments'), { recursive: true });
    const input = join(work, 'initrd.img');
    await copyFile(peer.initrd, input);
    // The peer reads its own copy inside its chroot, on the same filesystem.
    const chrootWork = '/var/tmp/ramboot-bench-extract';
    await rm(join(peer.root, chrootWork), { recursive: true, force: true });
    await mkdir(join(peer.root, chrootWork), { recursive: true });
    await copyFile(peer.initrd, join(peer.root, chrootWork, 'initrd.img'));
    const split = await splitSegments(input, join(work, 'segments'));
    const fresh = (dir: string) => async () => {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
    };
    const dirs = { ramboot: join(work, 'ramboot'), peer: join(peer.root, chrootWork, 'out'), cpio: join(work, 'cpio') };
    const shown = (lines: string[]) => lines.map((l) => l.replaceAll(`${join(work, 'segments')}/`, '')).join('; ');
    const extractPlan: Array<Contestant & { display: string }> = [
      // --keep-setuid: as root the peers keep setuid bits (usr/bin/mount), so the trees can match.
      { name: 'ramboot extract', command: [...ramboot, 'extract', '--keep-setuid', input, dirs.ramboot], display: 'ramboot extract --keep-setuid initrd.img DIR', prepare: fresh(dirs.ramboot) },
      { name: peer.extractTool, command: peer.extract(join(chrootWork, 'initrd.img'), join(chrootWork, 'out')), display: `${peer.extractTool} initrd.img${peer.name === 'live-boot' ? ' DIR' : ' (in DIR)'}`, prepare: fresh(dirs.peer) },
      { name: 'cpio -idm', command: ['sh', '-c', [`cd ${dirs.cpio}`, ...split.extract].join(' && ')], display: shown(split.extract), prepare: fresh(dirs.cpio) },
    ];
    const listPlan: Array<Contestant & { display: string }> = [
      { name: 'ramboot ls', command: [...ramboot, 'ls', input], display: 'ramboot ls initrd.img' },
      { name: peer.listTool, command: peer.list(join(chrootWork, 'initrd.img')), display: `${peer.listTool} initrd.img` },
      { name: 'cpio -t', command: ['sh', '-c', split.list.join(' && ')], display: shown(split.list) },
      // What any ramboot command costs before it reads a byte: the floor under both numbers.
      { name: 'ramboot start-up', command: [...ramboot, '--version'], display: 'ramboot --version' },
    ];
    const run = async (plan: Array<Contestant & { display: string }>, what: string) => {
      load.push(loadavg()[0]!);
      step(`${peer.name} ${what}: ${rounds} alternating rounds of ${plan.map((p) => p.name).join(', ')} (load ${load.at(-1)!.toFixed(1)})`);
      // A second GNU time inside measure()'s appends each run's CPU seconds to a file per contestant.
      const cpuFile = (i: number) => join(work, `cpu-${what}-${i}`);
      const timed = plan.map((p, i) => ({ ...p, command: ['/usr/bin/time', '-a', '-f', '%U %S', '-o', cpuFile(i), ...p.command] }));
      await Promise.all(plan.map((_, i) => rm(cpuFile(i), { force: true })));
      const records = await withChrootMounts(peer.root, () => runAlternating(timed, rounds, step));
      const cpu = await Promise.all(plan.map((_, i) => readCpu(cpuFile(i))));
      return plan.map((p, i): ExtractResult => {
        const record = records[p.name]!;
        const r: ExtractResult = { name: p.name, command: p.display, wallS: stats(record.runs.map((m) => m.wallS)), cpuS: stats(cpu[i]!), maxRssMiB: stats(record.runs.map((m) => m.maxRssKiB / 1024)) };
        if (record.error) r.error = record.error;
        return r;
      });
    };
    const extract = await run(extractPlan, 'extract');
    const tree = await compareTrees(dirs.ramboot, dirs.peer, peer).catch((error: Error): TreeCheck => ({ peer: peer.extractTool, same: false, entries: 0, devicesSkipped: 0, compared: '', differences: [`comparison failed: ${error.message}`] }));
    step(`${peer.name}: ramboot's tree vs ${peer.extractTool}'s: ${tree.same ? 'same' : `${tree.differences.length} differences, e.g. ${tree.differences[0]}`} (${tree.entries} entries, ${tree.devicesSkipped} device nodes skipped)`);
    const list = await run(listPlan, 'list');
    images.push({ name: peer.name, input: peer.initrd, inputSize: (await stat(input)).size, segments: split.shape, entries: split.entries, extract, list, tree });
  }
  load.push(loadavg()[0]!);
  return { images, load };
}

/** "0.41 0.22" lines (user, system) -> seconds per run. */
async function readCpu(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    const m = /^(\d+\.\d+) (\d+\.\d+)$/.exec(line.trim());
    return m ? [Number(m[1]) + Number(m[2])] : [];
  });
}

interface Node {
  kind: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** sha256 of a file, target of a symlink, rdev of a device. */
  content: string;
}

/** Every entry under `dir` by relative path. unmkinitramfs puts each segment of a multi-segment
 * image in its own early/, early2/, main/: those are merged in order, as the kernel would. */
async function readTree(dir: string): Promise<Map<string, Node>> {
  const top = await readdir(dir);
  const split = top.includes('main') && top.every((n) => /^(early\d*|main)$/.test(n));
  const parts = split ? [...top.filter((n) => n !== 'main').sort(), 'main'].map((n) => join(dir, n)) : [dir];
  const nodes = new Map<string, Node>();
  const walk = async (base: string, rel: string): Promise<void> => {
    for (const name of await readdir(join(base, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(base, path);
      const st = await lstat(full);
      const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() || st.isBlockDevice() ? 'device' : 'other';
      const content = kind === 'file' ? createHash('sha256').update(await readFile(full)).digest('hex') : kind === 'symlink' ? await readlink(full) : kind === 'device' ? String(st.rdev) : '';
      nodes.set(path, { kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: kind === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), content });
      if (kind === 'dir') await walk(base, path);
    }
  };
  for (const part of parts) await walk(part, '');
  return nodes;
}

async function compareTrees(ours: string, theirs: string, peer: Peer): Promise<TreeCheck> {
  const [a, b] = await Promise.all([readTree(ours), readTree(theirs)]);
  const differences: string[] = [];
  let devicesSkipped = 0;
  for (const [path, node] of b) {
    const mine = a.get(path);
    if (!mine) {
      if (node.kind === 'device') devicesSkipped++;
      else differences.push(`${path}: only in ${peer.extractTool}'s tree`);
      continue;
    }
    const fields: Array<keyof Node> = ['kind', 'mode', 'uid', 'gid', 'size', 'content'];
    if (peer.keepsMtime && node.kind === 'file') fields.push('mtime');
    for (const f of fields) if (mine[f] !== node[f]) differences.push(`${path}: ${f} ${String(mine[f])} vs ${String(node[f])}`);
  }
  for (const path of a.keys()) if (!b.has(path)) differences.push(`${path}: only in ramboot's tree`);
  const compared = `type, mode, owner, size, file contents (sha256), symlink targets${peer.keepsMtime ? ', file mtimes' : ` (not mtimes: ${peer.extractTool} runs cpio without -m)`}`;
  return { peer: peer.extractTool, same: differences.length === 0, entries: b.size, devicesSkipped, compared, differences: differences.slice(0, 20) };
}
