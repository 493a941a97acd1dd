// One table of the builder's settings (mkosi's idea): every flag of `build`, `initrd` and
// `rootfs` — its name, which commands take it, how its text is parsed, its default, the check
// that runs before any work starts, and its documentation. The commander options
// (settings-cli.ts), the settings object the commands hand to the core, and the README's usage
// lines and option table (render-settings.ts) are all generated from it, so a flag cannot mean
// one thing in `build` and another in `initrd`, or be documented differently from what it does.
// Rows keep the flag names users' scripts rely on; the order is the --help order.
import { COMPRESSIONS, DEFAULT_LEVEL, checkLevel, type Compression } from '../compress/codecs.js';
import { checkRooturl } from '../image-set/build-image-set.js';
import { checkRootfsSha256 } from '../initrd/build-initrd.js';
import { checkHookDir } from '../hooks/hook.js';
import { readAuthorizedKeys } from '../initrd/ssh-key.js';
import { DEFAULT_BLOCK_SIZE, DEFAULT_SQUASHFS_LEVEL, SQUASHFS_COMPRESSIONS, resolveRootfsSettings, type SquashfsCompression } from '../rootfs/build-rootfs.js';
import { usageError } from '../errors.js';
import { ARCHES, type Arch } from '../elf/machine.js';
import { parseByteSize, parseCompressionOption, parseInteger, parseList } from './value-parsers.js';

export const BUILDER_COMMANDS = ['build', 'initrd', 'rootfs'] as const;
export type BuilderCommand = (typeof BUILDER_COMMANDS)[number];

/** What the three commands' flags parse into (commander's camel-cased attribute names). */
export interface BuilderSettings {
  root: string;
  out: string;
  kernel?: string;
  kver?: string;
  arch?: Arch;
  rooturl?: string;
  embed?: boolean;
  rootsha256?: string;
  explain?: boolean;
  json?: boolean;
  compress?: Compression;
  compressLevel?: number;
  modules?: string[];
  omitModules?: string[];
  busybox?: string;
  hostOnly?: boolean;
  hooks?: string[];
  hook?: string[];
  sshKey?: string;
  squashfsComp?: SquashfsCompression;
  squashfsLevel?: number;
  blockSize?: number;
  excludeFile?: string[];
  uki?: boolean;
  ukiStub?: string;
  ukiAppend?: string;
  signKey?: string;
  signCert?: string;
}

/** What a row is about: the README table groups by it. */
export type SettingGroup = 'input' | 'output' | 'initrd' | 'rootfs' | 'report';

export interface SettingRow<K extends keyof BuilderSettings> {
  key: K;
  /** commander flags, e.g. `-o, --out <file>`; the long name must camel-case to `key`. */
  flags: string;
  commands: readonly BuilderCommand[];
  group: SettingGroup;
  /** The --help line (kept word for word across releases: scripts and docs quote it). */
  help: string;
  /** README wording where it says more than --help. */
  doc?: string;
  required?: boolean;
  /** A commander default (the value the command sees when the flag is absent). */
  default?: BuilderSettings[K];
  /** The default as the README states it, when the core applies it (e.g. "zstd 9, gzip 9"). */
  defaultText?: string;
  choices?: readonly string[];
  parse?: (value: string, previous: BuilderSettings[K] | undefined) => BuilderSettings[K];
  /** Runs on the parsed value before any work starts (preflight); throws a one-line error. */
  check?: (value: NonNullable<BuilderSettings[K]>, all: Readonly<Partial<BuilderSettings>>) => void;
  /** Shown in the usage line of these commands, e.g. `--root ROOT`. */
  usage?: readonly BuilderCommand[];
  /** The value's name in README usage lines (`ROOT`, `DIR`); from the flag's <arg> otherwise. */
  metavar?: string;
}

/** Any row, each typed by its own key (a parse of --modules must return string[]). */
export type AnySettingRow = { [K in keyof BuilderSettings]-?: SettingRow<K> }[keyof BuilderSettings];

const row = <K extends keyof BuilderSettings>(r: SettingRow<K>): SettingRow<K> => r;

const levels = (table: Record<string, number | undefined>) =>
  Object.entries(table).filter(([, level]) => level !== undefined && level > 0).map(([codec, level]) => `${codec} ${level}`).join(', ');

const ROOT_HELP = 'root tree: a directory or a tarball (.tar, .tar.gz, .tar.zst, .tar.xz)';

export const BUILDER_SETTINGS: readonly AnySettingRow[] = [
  row({ key: 'root', flags: '--root <path>', commands: ['build', 'initrd'], group: 'input', required: true, usage: ['build', 'initrd'], metavar: 'ROOT',
    help: `${ROOT_HELP}, holding /boot/vmlinuz-KVER and /lib/modules/KVER`, doc: `${ROOT_HELP}, holding /boot/vmlinuz-KVER and /lib/modules/KVER (rootfs: any tree)` }),
  row({ key: 'root', flags: '--root <path>', commands: ['rootfs'], group: 'input', required: true, usage: ['rootfs'], metavar: 'ROOT', help: ROOT_HELP,
    doc: `${ROOT_HELP}, holding /boot/vmlinuz-KVER and /lib/modules/KVER (rootfs: any tree)` }),
  row({ key: 'out', flags: '--out <dir>', commands: ['build'], group: 'output', default: './out', usage: ['build'], metavar: 'DIR', help: 'output directory',
    doc: 'directory the image set goes into; a rebuild replaces the previous set as a whole, or leaves it as it was' }),
  row({ key: 'out', flags: '-o, --out <file>', commands: ['initrd', 'rootfs'], group: 'output', required: true, usage: ['initrd', 'rootfs'], metavar: 'FILE', help: 'output file',
    doc: 'the file to write (replaced only if it is a regular file)' }),
  row({ key: 'kernel', flags: '--kernel <file>', commands: ['build'], group: 'input', usage: ['build'], help: 'kernel image to ship instead of the root\'s /boot/vmlinuz-KVER' }),
  row({ key: 'kver', flags: '--kver <version>', commands: ['build', 'initrd'], group: 'input', usage: ['build'], metavar: 'VER', help: 'kernel version, when the root has several' }),
  row({ key: 'arch', flags: '--arch <arch>', commands: ['build', 'initrd'], group: 'input', choices: ARCHES, usage: ['build'], metavar: 'ARCH', defaultText: 'the root\'s',
    help: 'CPU the set is for: amd64 or arm64 (default: read from the root\'s ELF files)',
    doc: 'CPU the set is for (default: read from the root\'s own ELF files, its init or shell, else a kernel module; another CPU than this machine\'s takes --busybox FILE or Debian\'s busybox-static through apt, see "arm64")' }),
  row({ key: 'rooturl', flags: '--rooturl <url>', commands: ['build'], group: 'output', usage: ['build'], help: 'write rooturl= into cmdline.txt (else the boot config adds it)',
    check: (url) => checkRooturl(url) }),
  row({ key: 'uki', flags: '--uki', commands: ['build'], group: 'output', usage: ['build'],
    help: 'also write ramboot.efi: a unified kernel image (systemd-stub + vmlinuz + initrd.img + cmdline.txt) one UEFI machine boots as a single file' }),
  row({ key: 'ukiStub', flags: '--uki-stub <file>', commands: ['build'], group: 'input', defaultText: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub (arm64: linuxaa64.efi.stub)',
    help: 'systemd-stub the UKI is built on, of the set\'s architecture (Debian: systemd-boot-efi; for arm64 fetched through apt when not installed)', check: (_file, all) => requireUki('--uki-stub', all) }),
  row({ key: 'ukiAppend', flags: '--uki-append <words>', commands: ['build'], group: 'output',
    help: 'kernel parameters added to the UKI\'s .cmdline only, e.g. console=ttyS0 (with Secure Boot the stub ignores any other command line)',
    check: (_words, all) => requireUki('--uki-append', all) }),
  row({ key: 'signKey', flags: '--sign-key <file>', commands: ['build'], group: 'output', usage: ['build'], metavar: 'KEY',
    help: 'sign ramboot.efi for Secure Boot with this PEM private key (sbsign; needs --sign-cert)', check: (_file, all) => requireUki('--sign-key', all) }),
  row({ key: 'signCert', flags: '--sign-cert <file>', commands: ['build'], group: 'output', usage: ['build'], metavar: 'CERT',
    help: 'the PEM certificate of --sign-key, as enrolled in the firmware\'s db', check: (_file, all) => requireUki('--sign-cert', all) }),
  row({ key: 'embed', flags: '--embed', commands: ['build'], group: 'output', usage: ['build'], help: 'also put rootfs.squashfs inside initrd.img: it boots with no rooturl= and no image server' }),
  row({ key: 'rootsha256', flags: '--rootsha256 <hex>', commands: ['initrd'], group: 'output', usage: ['initrd'], help: 'bake this rootfs sha256 into the initrd as the rootsha256= default',
    check: (hex) => checkRootfsSha256(hex) }),
  row({ key: 'explain', flags: '--explain', commands: ['initrd'], group: 'report',
    help: 'print every packed module with why it is in and its firmware, and the built-in modules that satisfied a request',
    doc: 'print every packed module with why it is in (which hook or flag asked, which module pulled it in) and its firmware, and the built-in modules that satisfied a request' }),
  row({ key: 'json', flags: '--json', commands: ['initrd'], group: 'report', help: 'print the result (and with --explain the module report) as JSON' }),
  row({ key: 'compress', flags: '--compress <codec>', commands: ['build', 'initrd'], group: 'initrd', parse: parseCompressionOption, defaultText: 'zstd',
    help: 'initrd compression: zstd, gzip, xz, lz4 or none', doc: `initrd compression: ${COMPRESSIONS.join(', ')}, each set up the way the kernel accepts it (xz with CRC32, lz4 legacy)` }),
  row({ key: 'compressLevel', flags: '--compress-level <n>', commands: ['build', 'initrd'], group: 'initrd', parse: parseInteger, defaultText: levels(DEFAULT_LEVEL),
    help: `compression level (default: ${levels(DEFAULT_LEVEL)})`, doc: 'initrd compression level',
    check: (level, all) => void checkLevel(all.compress ?? 'zstd', level) }),
  row({ key: 'modules', flags: '--modules <list>', commands: ['build', 'initrd'], group: 'initrd', parse: parseList,
    help: 'extra modules: names, aliases or directory prefixes, comma-separated', doc: 'extra modules: names, aliases or directory prefixes like `kernel/drivers/net/`, comma-separated, repeatable' }),
  row({ key: 'omitModules', flags: '--omit-modules <list>', commands: ['build', 'initrd'], group: 'initrd', parse: parseList, help: 'modules never packed, comma-separated' }),
  row({ key: 'busybox', flags: '--busybox <file>', commands: ['build', 'initrd'], group: 'initrd', defaultText: '/bin/busybox',
    help: 'static busybox to pack instead of this machine\'s /bin/busybox (one in the root is never used: it would have to run here)' }),
  row({ key: 'hostOnly', flags: '--host-only', commands: ['build', 'initrd'], group: 'initrd',
    help: 'pack only the device drivers this machine\'s devices (/sys/bus/*/devices/*/modalias) match, plus the force-loads',
    doc: 'pack only the drivers this machine\'s devices match (from /sys/bus/*/devices/*/modalias), plus the force-loads' }),
  row({ key: 'hooks', flags: '--hooks <dir>', commands: ['build', 'initrd'], group: 'initrd', parse: (dir, previous) => [...(previous ?? []), dir], check: (dirs) => dirs.forEach(checkHookDir),
    help: 'apply the hooks in DIR (each DIR/<name>/hook.json) with the shipped ones, repeatable; RAMBOOT_HOOKS=DIR:DIR adds more',
    doc: 'apply the hooks in DIR (each `DIR/<name>/hook.json`) with the shipped ones, repeatable; `RAMBOOT_HOOKS=DIR:DIR` (colon-separated, for pipelines) adds more before them; see "Writing a hook"' }),
  row({ key: 'hook', flags: '--hook <name>', commands: ['build', 'initrd'], group: 'initrd', parse: (name, previous) => [...(previous ?? []), name],
    help: 'turn on an optional hook (hook.json "optional": true), repeatable' }),
  row({ key: 'sshKey', flags: '--ssh-key <file>', commands: ['build', 'initrd'], group: 'initrd', check: (file) => void readAuthorizedKeys(file),
    help: 'public keys (authorized_keys format) that may log in over ssh with initrddebug=ssh; turns on the ssh-debug hook',
    doc: 'public keys (authorized_keys format) that may log in to the initrd over ssh when the boot has `initrddebug=ssh`; turns on the optional `ssh-debug` hook (dropbear from the root); see "Shipped hooks"' }),
  row({ key: 'squashfsComp', flags: '--squashfs-comp <codec>', commands: ['build', 'rootfs'], group: 'rootfs', choices: SQUASHFS_COMPRESSIONS, defaultText: 'zstd', help: 'squashfs compression' }),
  row({ key: 'squashfsLevel', flags: '--squashfs-level <n>', commands: ['build', 'rootfs'], group: 'rootfs', parse: parseInteger, defaultText: levels(DEFAULT_SQUASHFS_LEVEL),
    help: 'squashfs compression level', check: (level, all) => void resolveRootfsSettings({ compression: all.squashfsComp, level }) }),
  row({ key: 'blockSize', flags: '--block-size <size>', commands: ['build', 'rootfs'], group: 'rootfs', parse: parseByteSize, defaultText: `${DEFAULT_BLOCK_SIZE >> 20}M`,
    help: 'squashfs block size, e.g. 128K or 1M', check: (blockSize) => void resolveRootfsSettings({ blockSize }) }),
  row({ key: 'excludeFile', flags: '--exclude-file <file>', commands: ['build', 'rootfs'], group: 'rootfs', parse: parseList,
    help: 'extra exclude list (same format as rootfs-excludes/), repeatable' }),
];

function requireUki(flag: string, all: Readonly<Partial<BuilderSettings>>): void {
  if (!all.uki) throw usageError(`${flag} needs --uki`, `add --uki to build ramboot.efi`);
}

export function settingsOf(command: BuilderCommand): AnySettingRow[] {
  return BUILDER_SETTINGS.filter((s) => s.commands.includes(command));
}
