// Runs the boot script's sh under the same static busybox the initrd carries, against a fake
// tree (RAM_PREFIX), with stubs for every command that would change the machine. A stub appends
// its argv to a call log, then runs an optional body.
//
// Debian's busybox sh runs its own applets before looking at PATH (FEATURE_SH_STANDALONE), so a
// stub on PATH would never be called for `mount` or `ip`. Stubs are therefore shell functions
// (which ash looks up before applets) that call the stub files. As a second guard the shell runs
// as nobody when the tests run as root: a command that slips past the stubs fails with EPERM
// instead of mounting, loading modules or reconfiguring the host's network.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRamConf, type RamConfFacts } from '../../src/cmdline/ram-conf.ts';
import { BOOT_STAGES } from '../../src/cmdline/params.ts';

export const BUSYBOX = '/bin/busybox';
export const SCRIPTS = fileURLToPath(new URL('../../initrd-scripts', import.meta.url));
export const LIBDIR = join(SCRIPTS, 'lib');

/** The stage list as ram.conf gives it to the entry: the tests never keep a copy of it. */
export const RAM_STAGES = BOOT_STAGES.join(' ');

let appletDir: string | undefined;
/** A directory with one symlink per busybox applet, made once per test process. */
function applets(): string {
  if (appletDir) return appletDir;
  appletDir = mkdtempSync(join(tmpdir(), 'ramboot-applets-'));
  const list = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const name of list) symlinkSync(BUSYBOX, join(appletDir, name));
  process.on('exit', () => rmSync(appletDir!, { recursive: true, force: true }));
  return appletDir;
}

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** Stubbed in every sandbox: each would change the host. */
const HOST_CHANGING = ['mount', 'umount', 'modprobe', 'ip', 'hostname', 'swapon', 'switch_root', 'setsid', 'udhcpc', 'wget', 'tftp', 'nc'];

export interface SandboxOptions {
  cmdline?: string;
  conf?: RamConfFacts;
  memTotalKiB?: number;
  memAvailableKiB?: number;
  osrelease?: string;
}

export class Sandbox {
  readonly dir: string;
  readonly prefix: string;
  readonly stubs: string;
  readonly callLog: string;
  readonly stubFuncs: string;

  constructor(opts: SandboxOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'ramboot-sh-'));
    this.prefix = join(this.dir, 'root');
    this.stubs = join(this.dir, 'stubs');
    this.callLog = join(this.dir, 'calls.log');
    this.stubFuncs = join(this.dir, 'stubs.sh');
    for (const d of ['proc/sys/kernel', 'sys/class/net', 'sys/block', 'sys/module', 'dev', 'run', 'etc', 'newroot', 'tmp']) {
      mkdirSync(join(this.prefix, d), { recursive: true });
    }
    mkdirSync(this.stubs);
    writeFileSync(this.callLog, '');
    this.write('proc/cmdline', `${opts.cmdline ?? ''}\n`);
    this.write('proc/uptime', '12.34 20.00\n');
    const total = opts.memTotalKiB ?? 1_000_000;
    this.write('proc/meminfo', `MemTotal:       ${total} kB\nMemFree:        ${total - 50_000} kB\nMemAvailable:   ${opts.memAvailableKiB ?? total - 40_000} kB\n`);
    this.write('proc/sys/kernel/osrelease', `${opts.osrelease ?? '6.1.0-test'}\n`);
    this.write('etc/ram.conf', renderRamConf(opts.conf ?? { facts: { KVER: opts.osrelease ?? '6.1.0-test', FORCE_LOAD: '', ROOTSIZE: '', VERSION: '0.0.0-test' } }));
    for (const name of HOST_CHANGING) this.stub(name);
    // The fake clock: sleep advances /proc/uptime instead of waiting, so bounded waits are
    // exact and instant.
    this.stub(
      'sleep',
      `IFS=' .' read -r s cs _ <"$RAM_PREFIX/proc/uptime"
case $1 in *.*) i=\${1%.*} f=\${1#*.}00 ;; *) i=$1 f=00 ;; esac
f=\${f%"\${f#??}"}
t=$((s * 100 + \${cs#0} + \${i:-0} * 100 + \${f#0}))
printf '%d.%02d 0.00\\n' $((t / 100)) $((t % 100)) >"$RAM_PREFIX/proc/uptime"`,
    );
  }

  path(rel: string): string {
    return join(this.prefix, rel);
  }

  write(rel: string, content: string): string {
    const file = this.path(rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  /** A NIC in the fake sysfs: a device link (a real NIC has one) and its carrier. */
  nic(name: string, carrier = '1'): void {
    mkdirSync(this.path(`sys/class/net/${name}/device`), { recursive: true });
    this.write(`sys/class/net/${name}/carrier`, `${carrier}\n`);
  }

  /** A stub: logs `name<TAB>arg<TAB>arg...`, then runs `body` (sh, with "$@"). */
  stub(name: string, body = ''): void {
    const file = join(this.stubs, name);
    writeFileSync(
      file,
      // One write per call, so stubs running in parallel (udhcpc per NIC) cannot interleave.
      `#!${BUSYBOX} sh\n. '${this.stubFuncs}'\nstub_tab=$(printf '\\t')\nstub_line=${name}\nfor a; do stub_line="$stub_line$stub_tab$a"; done\nprintf '%s\\n' "$stub_line" >>'${this.callLog}'\n${body}\n`,
    );
    chmodSync(file, 0o755);
    const funcs = readdirSync(this.stubs).map((n) => `${n}() { '${join(this.stubs, n)}' "$@"; }`);
    writeFileSync(this.stubFuncs, `${funcs.join('\n')}\n`);
  }

  /** Every logged call, as argv arrays; `only` keeps calls of those commands. */
  calls(...only: string[]): string[][] {
    const all = readFileSync(this.callLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    return only.length ? all.filter((c) => only.includes(c[0]!)) : all;
  }

  /** Calls as `cmd arg arg` lines, with the sandbox prefix shown as `$P`. */
  callLines(...only: string[]): string[] {
    return this.calls(...only).map((c) => c.join(' ').replaceAll(this.prefix, '$P'));
  }

  /** Source every lib/*.sh like /init does, then run `script`. */
  run(script: string, env: Record<string, string> = {}): RunResult {
    const prelude = `. '${this.stubFuncs}'\nRAM_STAGES='${RAM_STAGES}'\nfor f in "$RAM_LIBDIR"/*.sh; do [ "\${f##*/}" = udhcpc.sh ] || . "$f"; done\n`;
    return this.exec(['sh', '-c', prelude + script], env);
  }

  /** Run the real entry, initrd-scripts/ram, with `args` as the kernel's arguments for init. */
  runEntry(args: string[] = [], env: Record<string, string> = {}): RunResult {
    return this.exec(['sh', '-c', `. '${this.stubFuncs}'; . "$0"`, join(SCRIPTS, 'ram'), ...args], env);
  }

  private exec(argv: string[], env: Record<string, string>): RunResult {
    if (asRoot) chownTree(this.dir, NOBODY);
    const r = spawnSync(BUSYBOX, argv, {
      encoding: 'utf8',
      timeout: 30_000,
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      env: { PATH: `${this.stubs}:${applets()}`, HOME: '/', RAM_PREFIX: this.prefix, RAM_LIBDIR: LIBDIR, RAM_STUBFUNCS: this.stubFuncs, ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}`.replaceAll(this.prefix, '$P') };
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function chownTree(path: string, id: number): void {
  chownSync(path, id, id);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(path, e.name), id);
    else if (!e.isSymbolicLink()) chownSync(join(path, e.name), id, id);
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr with the sandbox prefix shown as `$P`. */
  output: string;
}

/** The `ramboot: error: ...` lines of an output. */
export function errorLines(output: string): string[] {
  return output.split('\n').filter((l) => l.startsWith('ramboot: error: '));
}

/** A udhcpc stand-in that drives the real lib/udhcpc.sh like busybox udhcpc would: deconfig,
 * then `bound` with the lease in the environment for NICs in `leases`, else `leasefail`. A lease
 * comes only after the failures (with a bound), so the losers' calls are logged before /init
 * kills them. */
export function fakeUdhcpc(sb: Sandbox, leases: Record<string, Record<string, string>>): void {
  const cases = Object.entries(leases)
    .map(([nic, env]) => `${nic}) ${Object.entries(env).map(([k, v]) => `export ${k}='${v}'`).join('; ')}; await_failures; event bound; exit 0 ;;`)
    .join('\n');
  sb.stub(
    'udhcpc',
    `while [ $# -gt 0 ]; do case $1 in -i) nic=$2; shift ;; -s) script=$2; shift ;; esac; shift; done
event() { /bin/busybox sh -c '. "$RAM_STUBFUNCS"; . "$0"' "$script" "$1"; }
await_failures() {
  [ "$RAM_AWAIT_FAILURES" = 1 ] || return 0
  i=0
  while [ $i -lt 100 ] && ! ls "$RAM_NETDIR"/*.gaveup >/dev/null 2>&1; do i=$((i + 1)); /bin/busybox sleep 0.02; done
}
export interface="$nic"
event deconfig
case $nic in
${cases}
*) event leasefail; : >"$RAM_NETDIR/$nic.gaveup"; exit 1 ;;
esac`,
  );
}
