// Extraction of a Debian initrd (the mkinitramfs MODULES=most image of the initrd benchmark):
// `ramboot extract` vs unmkinitramfs (in the initramfs-tools chroot) vs cpio -idm per segment
// (the uncompressed early archives as they are, the compressed main archive through its
// decompressor: what one does by hand). Each run extracts into an empty directory.
import { copyFile, mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { withChrootMounts } from './chroot.js';
import { readInitrdContents } from './initrd-contents.js';
import { runAlternating, stats, type Contestant, type Stats } from './measure.js';
import type { BenchSetup, Step } from './setup.js';

export interface ExtractResult {
  name: string;
  command: string;
  wallS?: Stats;
  maxRssMiB?: Stats;
  error?: string;
}

export interface ExtractBench {
  input: string;
  inputSize: number;
  available: { rambootExtract: boolean; reason?: string };
  results: ExtractResult[];
}

/** `ramboot extract --help` shows the command's own usage only when the command exists (an
 * unknown command with --help prints the top-level help instead). */
export async function probeRambootExtract(command: readonly string[]): Promise<{ ok: boolean; help: string }> {
  const result = await execa(command[0]!, [...command.slice(1), 'extract', '--help'], { reject: false, all: true });
  const help = String(result.all ?? '');
  return { ok: result.exitCode === 0 && /Usage: ramboot extract/.test(help), help };
}

/** The argument shape is read from the help text, since the command is being written now. */
function renderExtractArgs(help: string, input: string, dir: string): string[] {
  if (/(^|\s)-C[,\s]/m.test(help)) return ['extract', input, '-C', dir];
  if (/--out\b/.test(help)) return ['extract', input, '--out', dir];
  if (/--dir\b/.test(help)) return ['extract', input, '--dir', dir];
  return ['extract', input, dir];
}

const DECOMPRESS: Record<string, string> = { zstd: 'zstd -dc', gzip: 'gzip -dc', xz: 'xz -dc', 'lz4-legacy': 'lz4 -dc', bzip2: 'bzip2 -dc' };

/** Split the initrd into one file per segment (untimed); the sh commands that unpack them. */
async function splitSegments(initrd: string, dir: string): Promise<string[]> {
  const contents = await readInitrdContents(initrd);
  const handle = await open(initrd, 'r');
  const lines: string[] = [];
  try {
    for (const [i, seg] of contents.segments.entries()) {
      const buf = Buffer.alloc(seg.bytes);
      await handle.read(buf, 0, seg.bytes, seg.offset);
      const file = join(dir, `segment-${i}.${seg.format}`);
      await writeFile(file, buf);
      const decompress = seg.format === 'cpio' ? `cat ${file}` : DECOMPRESS[seg.format];
      if (!decompress) throw new Error(`no decompressor for a ${seg.format} segment`);
      lines.push(seg.format === 'cpio' ? `cpio -idm --quiet < ${file}` : `${decompress} < ${file} | cpio -idm --quiet`);
    }
  } finally {
    await handle.close();
  }
  return lines;
}

export async function benchExtract(setup: BenchSetup, initrd: string, ramboot: readonly string[], probeCommand: readonly string[], rounds: number, step: Step): Promise<ExtractBench> {
  const work = join(setup.dir, 'out', 'extract');
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'segments'), { recursive: true });
  const input = join(work, 'debian-initrd.img');
  await copyFile(initrd, input);
  // unmkinitramfs runs in the chroot, so it gets its own copy there.
  const chrootWork = '/var/tmp/ramboot-bench-extract';
  await rm(join(setup.itools.root, chrootWork), { recursive: true, force: true });
  await mkdir(join(setup.itools.root, chrootWork), { recursive: true });
  await copyFile(initrd, join(setup.itools.root, chrootWork, 'initrd.img'));
  const script = await splitSegments(input, join(work, 'segments'));

  const probe = await probeRambootExtract(probeCommand);
  const plan: Array<Contestant & { display: string }> = [];
  const fresh = (dir: string) => async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  };
  if (probe.ok) {
    // The single binary when it has the command (no tsx start-up in the timing), else tsx.
    const binary = await probeRambootExtract(ramboot);
    const cmd = binary.ok ? ramboot : probeCommand;
    const dir = join(work, 'ramboot');
    plan.push({ name: 'ramboot extract', command: [...cmd, ...renderExtractArgs(binary.ok ? binary.help : probe.help, input, dir)], display: `ramboot ${renderExtractArgs(probe.help, 'initrd.img', 'DIR').join(' ')}`, prepare: fresh(dir) });
  }
  const unmkDir = join(chrootWork, 'out');
  plan.push({
    name: 'unmkinitramfs',
    command: ['chroot', setup.itools.root, 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'unmkinitramfs', join(chrootWork, 'initrd.img'), unmkDir],
    display: 'unmkinitramfs initrd.img DIR',
    prepare: fresh(join(setup.itools.root, unmkDir)),
  });
  const cpioDir = join(work, 'cpio');
  plan.push({
    name: 'cpio -idm',
    command: ['sh', '-c', [`cd ${cpioDir}`, ...script].join(' && ')],
    display: script.map((line) => line.replaceAll(`${join(work, 'segments')}/`, '')).join('; '),
    prepare: fresh(cpioDir),
  });

  step(`extract: ${rounds} alternating rounds of ${plan.map((p) => p.name).join(', ')}${probe.ok ? '' : ' (ramboot extract: not available yet)'}`);
  const records = await withChrootMounts(setup.itools.root, () => runAlternating(plan, rounds, step));
  const results: ExtractResult[] = plan.map((p) => {
    const record = records[p.name]!;
    const r: ExtractResult = { name: p.name, command: p.display, wallS: stats(record.runs.map((m) => m.wallS)), maxRssMiB: stats(record.runs.map((m) => m.maxRssKiB / 1024)) };
    if (record.error) r.error = record.error;
    return r;
  });
  if (!probe.ok) results.unshift({ name: 'ramboot extract', command: 'ramboot extract', error: 'not available yet' });
  const inputSize = (await stat(input)).size;
  return { input: initrd, inputSize, available: probe.ok ? { rambootExtract: true } : { rambootExtract: false, reason: 'not available yet' }, results };
}
