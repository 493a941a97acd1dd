// Rootfs build of the same minbase tree: `ramboot rootfs` (zstd 6, 1M blocks, excludes, fixups)
// vs plain mksquashfs with its own defaults for zstd (level 15, 128K blocks) and for xz.
// The content differs: ramboot leaves out what rootfs-excludes/ lists (/boot with its 8 MB
// kernel, docs, man pages, logs, apt lists), plain mksquashfs packs the whole tree. So a third
// mksquashfs run takes ramboot's exclude list with its own defaults otherwise: the size
// comparison between it and ramboot is about compression settings alone.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readExcludeList, renderExcludePatterns } from '../src/rootfs/build-rootfs.js';
import { runAlternating, stats, type Contestant, type Stats } from './measure.js';
import type { BenchSetup, Step } from './setup.js';

export interface RootfsBuildResult {
  name: string;
  command: string;
  wallS: Stats;
  maxRssMiB: Stats;
  size?: number;
  error?: string;
}

export async function benchRootfsBuild(setup: BenchSetup, ramboot: readonly string[], rounds: number, step: Step): Promise<RootfsBuildResult[]> {
  const outDir = join(setup.dir, 'out', 'rootfs');
  await mkdir(outDir, { recursive: true });
  const root = setup.base.root;
  const out = (name: string) => join(outDir, `${name}.squashfs`);
  const plan: Array<Contestant & { display: string }> = [
    {
      name: 'ramboot',
      command: [...ramboot, 'rootfs', '--root', root, '-o', out('ramboot')],
      display: 'ramboot rootfs --root ROOT -o rootfs.squashfs',
    },
    {
      name: 'mksquashfs-zstd',
      command: ['mksquashfs', root, out('mksquashfs-zstd'), '-comp', 'zstd', '-noappend', '-no-progress', '-quiet'],
      display: 'mksquashfs ROOT rootfs.squashfs -comp zstd -noappend',
    },
    {
      name: 'mksquashfs-zstd-excludes',
      // -e must come last: every argument after it is a pattern.
      command: ['mksquashfs', root, out('mksquashfs-zstd-excludes'), '-comp', 'zstd', '-noappend', '-no-progress', '-quiet', '-wildcards', '-e', ...renderExcludePatterns(await readExcludeList())],
      display: "mksquashfs ROOT rootfs.squashfs -comp zstd -noappend -wildcards -e PATTERNS   # ramboot's rootfs-excludes/",
    },
    {
      name: 'mksquashfs-xz',
      command: ['mksquashfs', root, out('mksquashfs-xz'), '-comp', 'xz', '-noappend', '-no-progress', '-quiet'],
      display: 'mksquashfs ROOT rootfs.squashfs -comp xz -noappend',
    },
  ];
  for (const p of plan) p.prepare = () => rm(out(p.name), { force: true });

  step(`rootfs build: ${rounds} alternating rounds of ${plan.map((p) => p.name).join(', ')}`);
  const records = await runAlternating(plan, rounds, step);
  const results: RootfsBuildResult[] = [];
  for (const p of plan) {
    const record = records[p.name]!;
    const result: RootfsBuildResult = {
      name: p.name,
      command: p.display,
      wallS: stats(record.runs.map((r) => r.wallS)),
      maxRssMiB: stats(record.runs.map((r) => r.maxRssKiB / 1024)),
    };
    if (record.error) result.error = record.error;
    if (record.runs.length > 0) result.size = (await stat(out(p.name))).size;
    results.push(result);
  }
  return results;
}
