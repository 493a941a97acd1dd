// `npm run bench`: ramboot against dracut and initramfs-tools, side by side on this machine.
//   setup (cached) -> initrd build -> rootfs build -> boot to init -> extraction -> report
// Each section's result is saved under the cache as soon as it is measured, so a run cut short
// can be resumed with --only (the other sections are taken from their last measurement, with
// its date in the report). Never part of `npm test`: it needs root, chroots and minutes.
//
//   npm run bench -- [--only initrd,rootfs,boot,extract,fleet] [--rounds 5] [--rootfs-rounds 3]
//                    [--boot-rounds 5] [--fleet-sizes 10,50,100] [--fleet-qemu 3] [--no-build] [--report-only]
//                    [--multiuser-rounds 5]
// multiuser (bench/multiuser-bench.ts) boots the stock Debian 12 root to multi-user.target.
// fleet (boot storms, bench/fleet-bench.ts) needs no debootstrap setup and writes its own
// bench/results/fleet.{md,json,svg}; `--only fleet` runs it alone.
// --report-only re-renders the report from the saved sections without measuring anything.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from '../src/util/run-tool.js';
import { benchBoot, prepareBootInputs } from './boot-bench.js';
import { withChrootMounts } from './chroot.js';
import { benchExtract } from './extract-bench.js';
import { benchFleet, writeFleetResults } from './fleet-bench.js';
import { benchInitrdBuild } from './initrd-bench.js';
import { benchMultiUser } from './multiuser-bench.js';
import { computeTargets, renderMarkdown, renderReadmeSection, type BenchResults, type MachineInfo } from './report.js';
import { benchRootfsBuild } from './rootfs-bench.js';
import { chrootRun, ensureSetup, type BenchSetup } from './setup.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECTIONS = ['initrd', 'rootfs', 'boot', 'extract', 'multiuser'] as const;
type Section = (typeof SECTIONS)[number];
const FLEET = 'fleet';

interface Args {
  only: Section[];
  fleet: boolean;
  fleetSizes: number[];
  fleetQemu: number;
  rounds: number;
  rootfsRounds: number;
  bootRounds: number;
  multiuserRounds: number;
  build: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: [...SECTIONS], fleet: true, fleetSizes: [10, 50, 100], fleetQemu: 3, rounds: 5, rootfsRounds: 3, bootRounds: 5, multiuserRounds: 5, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const count = (min: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) throw new Error(`${a} must be an integer >= ${min}`);
      return n;
    };
    if (a === '--only') {
      const names = value().split(',');
      for (const n of names) if (!(SECTIONS as readonly string[]).includes(n) && n !== FLEET) throw new Error(`--only: unknown section ${n} (${[...SECTIONS, FLEET].join(', ')})`);
      args.fleet = names.includes(FLEET);
      args.only = names.filter((n) => n !== FLEET) as Section[];
    } else if (a === '--rounds') args.rounds = count(5);
    else if (a === '--rootfs-rounds') args.rootfsRounds = count(1);
    else if (a === '--boot-rounds') args.bootRounds = count(1);
    else if (a === '--multiuser-rounds') args.multiuserRounds = count(1);
    else if (a === '--fleet-sizes') {
      args.fleetSizes = value().split(',').map(Number);
      if (args.fleetSizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--fleet-sizes takes client counts, e.g. 10,50,100');
    } else if (a === '--fleet-qemu') args.fleetQemu = count(0);
    else if (a === '--no-build') args.build = false;
    else if (a === '--report-only') {
      args.only = [];
      args.fleet = false;
    }
    else throw new Error(`unknown option ${a}`);
  }
  return args;
}

const t0 = performance.now();
function step(text: string): void {
  const elapsed = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stdout.write(`[bench ${elapsed}s] ${text}\n`);
}

async function firstLine(tool: string, args: string[]): Promise<string> {
  return runTool(tool, args).then(
    (r) => `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '',
    () => 'not installed',
  );
}

// ramboot runs in the same clean environment as the peers (their chroot commands start with
// `env -i`), not in the benchmark's own: a machine that sets NODE_EXTRA_CA_CERTS (this one does)
// makes every Node start-up parse that whole bundle of certificates first, 0.09 s measured here
// (node -e 0: 0.046 s without, 0.134 s with), which no build needs.
const CLEAN_ENV = ['env', '-i', `PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, 'LC_ALL=C.UTF-8', 'HOME=/root'];

async function resolveRamboot(build: boolean): Promise<{ command: string[]; probe: string[]; display: string; commit: string }> {
  const binary = join(REPO, 'dist', 'ramboot');
  if (build) {
    step('npm run build (the single binary is what gets timed: tsx adds ~1 s of start-up)');
    await runTool('npm', ['run', 'build'], { cwd: REPO }).catch((error: Error) => step(`npm run build failed, using the existing dist/ramboot: ${error.message.split('\n')[0]}`));
  }
  const head = await runTool('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO }).then((r) => r.stdout.trim(), () => 'unknown');
  const dirty = await runTool('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO }).then((r) => r.stdout.trim() !== '', () => false);
  const commit = `${head}${dirty ? ' + uncommitted changes' : ''}`;
  const probe = ['npx', 'tsx', join(REPO, 'src/cli/main.ts')];
  if (existsSync(binary)) return { command: [...CLEAN_ENV, binary], probe, display: 'dist/ramboot (single binary)', commit };
  step('no dist/ramboot: timing through tsx, which adds its start-up to every ramboot number');
  return { command: [...CLEAN_ENV, ...probe], probe, display: 'npx tsx src/cli/main.ts', commit };
}

async function machineInfo(rambootDisplay: string, commit: string): Promise<MachineInfo> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const debianVersion = await readFile('/etc/debian_version', 'utf8').catch(() => '');
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    hostKernel: (await firstLine('uname', ['-r'])) || 'unknown',
    os: `${/^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown'} (${debianVersion.trim()})`,
    node: process.versions.node,
    tools: {
      mksquashfs: (await firstLine('mksquashfs', ['-version'])).replace(/^mksquashfs version /, ''),
      qemu: (await firstLine('qemu-system-x86_64', ['--version'])).replace(/^QEMU emulator version /, ''),
      zstd: (await firstLine('zstd', ['--version'])).replace(/^\*\*\* Zstandard CLI \(64-bit\) /, '').replace(/,.*$/, ''),
      cpio: (await firstLine('cpio', ['--version'])).replace(/^cpio \(GNU cpio\) /, ''),
      debootstrap: (await firstLine('dpkg-query', ['-W', '-f', '${Version}', 'debootstrap'])) || 'unknown',
    },
    ramboot: { command: rambootDisplay, commit },
  };
}

/** The peer initrds the boot and extraction sections use: the initrd section's last outputs,
 * or built once here when that section has not run yet. */
async function ensurePeerInitrds(setup: BenchSetup): Promise<{ dracut: string; liveBoot: string; liveBootDep?: string }> {
  const kver = setup.base.stamp.kver;
  const dracut = '/var/tmp/ramboot-bench/dracut.img';
  const most = '/var/tmp/ramboot-bench/mkinitramfs-most.img';
  if (!existsSync(join(setup.dracut.root, dracut))) {
    step('building the dracut initrd once (the initrd section has not run)');
    await mkdir(join(setup.dracut.root, dirname(dracut)), { recursive: true });
    await withChrootMounts(setup.dracut.root, () => chrootRun(setup.dracut.root, ['dracut', '-f', '--no-hostonly', '--add', 'dmsquash-live livenet', '--kver', kver, dracut]));
  }
  if (!existsSync(join(setup.itools.root, most))) {
    step('building the mkinitramfs MODULES=most initrd once (the initrd section has not run)');
    await mkdir(join(setup.itools.root, dirname(most)), { recursive: true });
    await withChrootMounts(setup.itools.root, () => chrootRun(setup.itools.root, ['mkinitramfs', '-o', most, kver]));
  }
  const dep = join(setup.itools.root, '/var/tmp/ramboot-bench/mkinitramfs-dep.img');
  return { dracut: join(setup.dracut.root, dracut), liveBoot: join(setup.itools.root, most), ...(existsSync(dep) ? { liveBootDep: dep } : {}) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (debootstrap, chroot, bind mounts, network namespaces)');
  if (args.fleet) {
    const fleet = await benchFleet(REPO, args.fleetSizes, args.fleetQemu, step);
    await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
    await writeFleetResults(join(REPO, 'bench', 'results'), fleet);
    step('wrote bench/results/fleet.md, fleet.json, fleet.svg');
    if (args.only.length === 0) return;
  }
  const setup = await ensureSetup(step);
  const ramboot = await resolveRamboot(args.build && args.only.length > 0);
  const stateDir = join(setup.dir, 'state');
  await mkdir(stateDir, { recursive: true });
  // Other work on the machine shows up in every number: the 1-minute load average at the start
  // and end of each section goes into the report next to its date.
  let sectionLoad = loadavg()[0]!;
  const begin = () => (sectionLoad = loadavg()[0]!);
  const save = async (section: Section, data: unknown) => {
    const measured = `${new Date().toISOString().slice(0, 16)}Z, load ${sectionLoad.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`;
    await writeFile(join(stateDir, `${section}.json`), JSON.stringify({ measured, data }, null, 2));
  };
  const load = async <T>(section: Section): Promise<{ measured: string; data: T } | undefined> =>
    readFile(join(stateDir, `${section}.json`), 'utf8').then(
      (text) => JSON.parse(text) as { measured: string; data: T },
      () => undefined,
    );

  if (args.only.includes('initrd')) {
    begin();
    await save('initrd', await benchInitrdBuild(setup, ramboot.command, args.rounds, step));
  }
  if (args.only.includes('rootfs')) {
    begin();
    await save('rootfs', await benchRootfsBuild(setup, ramboot.command, args.rootfsRounds, step));
  }
  if (args.only.includes('boot')) {
    const peers = await ensurePeerInitrds(setup);
    const inputs = await prepareBootInputs(setup, ramboot.command, peers, step);
    begin();
    const results = await benchBoot(setup, inputs, args.bootRounds, step);
    await save('boot', { squashfsSize: inputs.squashfsSize, squashfsSha256: inputs.squashfsSha256, results });
  }
  if (args.only.includes('multiuser')) {
    begin();
    await save('multiuser', await benchMultiUser(setup, args.multiuserRounds, step));
  }
  if (args.only.includes('extract')) {
    const peers = await ensurePeerInitrds(setup);
    begin();
    await save('extract', await benchExtract(setup, peers.liveBoot, ramboot.command, ramboot.probe, args.rounds, step));
  }

  const results: BenchResults = {
    machine: await machineInfo(ramboot.display, ramboot.commit),
    kernel: { package: setup.base.stamp.kernelPackage, kver: setup.base.stamp.kver, deb: setup.base.stamp.kernelDeb, mirror: setup.base.stamp.mirror },
    versions: { dracut: setup.dracut.stamp.versions, initramfsTools: setup.itools.stamp.versions, base: setup.base.versions },
    measured: {},
  };
  for (const section of SECTIONS) {
    const state = await load<never>(section);
    if (!state) continue;
    results.measured[section] = state.measured;
    // The report's field for a section is its name, but for multiuser (multiUser in report.ts).
    (results as unknown as Record<string, unknown>)[section === 'multiuser' ? 'multiUser' : section] = state.data;
  }
  results.targets = computeTargets(results);
  const outDir = join(REPO, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(outDir, 'latest.md'), renderMarkdown(results));
  await writeFile(join(outDir, 'README-section.md'), renderReadmeSection(results));
  step(`wrote bench/results/latest.md, latest.json, README-section.md`);
  for (const t of results.targets) step(`${t.met === undefined ? '?' : t.met ? '✓' : '✗'} ${t.what}: ${t.measured} (goal ${t.goal})${t.note ? ` — ${t.note}` : ''}`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench: error: ${error.message}\n`);
  process.exit(1);
});
