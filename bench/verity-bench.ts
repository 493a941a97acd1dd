// The verity hook against the sha256 pass: `npx tsx bench/verity-bench.ts [--filler-mib N] [--runs N]`.
// One demo root (the build host's dmsetup copied in, as test/boot/verity.test.ts does) with a
// filler file of incompressible bytes, built twice: plain (rootsha256 pin) and --hook verity.
// Each set boots in QEMU (TCG, 2 vCPUs, 2 GiB) from HTTP (image copied to RAM) and from a disk
// with toram=0; the init then reads the filler whole (every block dm-verity checks, for the
// verity set) and powers off. Reported per case, medians: the guest's uptime at switch_root,
// the verify and mount stages (from report.json), and the seconds the init took to read the
// filler after dropping the page cache. The cases take turns within each run. Results go to bench/results/verity.json and .md.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../src/lab/debian-kernel.js';
import { makeDemoRoot } from '../src/lab/demo-root.js';
import { startHttpServer } from '../src/lab/http-server.js';
import { bootQemu } from '../src/lab/qemu.js';
import { addHostBinary, addProbe, PROBE_PATH } from '../src/lab/verity-root.js';
import { stats } from './measure.js';

const INIT = `#!/bin/sh
# Kernel messages on the console would cut into the report line.
dmesg -n 1
read -r up _ < /proc/uptime
echo "RAMBOOT-INIT pid=$$ uptime=$up"
echo "BENCH-REPORT $(cat /run/ramboot/report.json)"
# From the disk (or the RAM copy) and not the page cache, which the sha256 pass filled.
sync; echo 3 > /proc/sys/vm/drop_caches
read -r up _ < /proc/uptime
sha256sum /${PROBE_PATH} >/dev/null 2>&1 && r=ok || r=error
read -r done _ < /proc/uptime
echo "BENCH-READ $r from=$up to=$done"
echo "RAMBOOT-DONE"
poweroff -f
`;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Sample {
  switchS: number;
  verifyS: number;
  mountS: number;
  readS: number;
}

async function main(): Promise<void> {
  const fillerMiB = arg('--filler-mib', 128);
  const runs = arg('--runs', 2);
  const work = mkdtempSync(join(tmpdir(), 'ramboot-verity-bench-'));
  try {
    const kernel = await fetchDebianKernel('cloud-amd64');
    const root = await makeDemoRoot({ dir: join(work, 'root'), kernel, stamp: 'verity-bench', init: INIT });
    await addHostBinary(root, '/sbin/dmsetup');
    addProbe(root, fillerMiB << 20);
    const sets = { sha256: join(work, 'plain'), verity: join(work, 'verity') };
    const cli = (...a: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...a], { stdio: ['ignore', 'ignore', 'inherit'] });
    cli('build', '--root', root, '--out', sets.sha256);
    cli('build', '--root', root, '--out', sets.verity, '--hook', 'verity');
    const media = join(work, 'media');
    mkdirSync(media);
    for (const [name, dir] of Object.entries(sets)) copyFileSync(join(dir, 'rootfs.squashfs'), join(media, `${name}.squashfs`));
    const disk = join(work, 'disk.img');
    execFileSync('mkfs.ext4', ['-q', '-L', 'BENCH', '-d', media, disk, `${2 * fillerMiB + 128}M`], { stdio: 'ignore' });
    const results: Record<string, { samples: Sample[]; imageBytes: number }> = {};
    const servers = await Promise.all(Object.values(sets).map((dir) => startHttpServer(dir)));
    const cases = Object.entries(sets).flatMap(([name, dir], i) => [
      { label: `${name} http toram`, dir, append: `rooturl=${servers[i]!.url('/rootfs.squashfs')}`, extra: [] as string[] },
      { label: `${name} dev toram=0`, dir, append: `rooturl=dev://LABEL=BENCH/${name}.squashfs toram=0`, extra: ['-drive', `file=${disk},format=raw,if=virtio,readonly=on`] },
    ]);
    try {
      // Runs outer, cases inner: on a shared machine a change in load then hits every case alike.
      for (let i = 0; i < runs; i++) {
        for (const c of cases) {
          const cmdline = readFileSync(join(c.dir, 'cmdline.txt'), 'utf8').trim();
          const r = await bootQemu({
            kernel: join(c.dir, 'vmlinuz'),
            initrd: join(c.dir, 'initrd.img'),
            append: `${cmdline} console=ttyS0 ${c.append}`,
            memoryMiB: 2048,
            timeoutMs: 900_000,
            extraArgs: c.extra,
            until: /RAMBOOT-DONE|ramboot: error:/,
          });
          const report = /^BENCH-REPORT (.*)$/m.exec(r.output);
          const read = /^BENCH-READ ok from=([\d.]+) to=([\d.]+)/m.exec(r.output);
          if (!report || !read) throw new Error(`${c.label}: no report or the read failed:\n${r.output.slice(-2500)}`);
          const rep = JSON.parse(report[1]!) as { switch_after_s: number; stages: Record<string, number>; verify?: { seconds?: number } };
          const entry = (results[c.label] ??= { samples: [], imageBytes: statSync(join(c.dir, 'rootfs.squashfs')).size });
          entry.samples.push({ switchS: rep.switch_after_s, verifyS: rep.verify?.seconds ?? rep.stages.verify ?? 0, mountS: rep.stages.mount ?? NaN, readS: Number(read[2]) - Number(read[1]) });
          console.error(`${c.label} run ${i + 1}: ${JSON.stringify(entry.samples.at(-1))}`);
        }
      }
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
    const med = (s: Sample[], k: keyof Sample) => stats(s.map((x) => x[k])).median.toFixed(2);
    const rows = Object.entries(results).map(
      ([label, r]) => `| ${label} | ${(r.imageBytes / 2 ** 20).toFixed(1)} MiB | ${med(r.samples, 'switchS')} | ${med(r.samples, 'verifyS')} | ${med(r.samples, 'mountS')} | ${med(r.samples, 'readS')} |`,
    );
    const md = [
      `Filler ${fillerMiB} MiB of incompressible bytes, ${runs} runs each, medians in seconds (guest clock), QEMU TCG, 2 vCPUs, 2 GiB, kernel ${kernel.kver}.`,
      '',
      '| case | image | switch_root at | sha256 check | mount stage | init reads the filler |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/verity.json', `${JSON.stringify({ date: new Date().toISOString(), fillerMiB, runs, kver: kernel.kver, results }, null, 2)}\n`);
    writeFileSync('bench/results/verity.md', `${md}\n`);
    console.log(md);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
