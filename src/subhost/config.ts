// The subhost configuration: overlay-boot(8)'s plain `NAME=value` file, read as overlay-boot
// reads it (one variable per line, the last occurrence wins, `#` comments and blank lines
// ignored), with its defaults: LIVE=$BASE/live, UPPER=$BASE/root, WORK=$BASE/work, LOWER=/,
// START="networking ssh", RAM_SIZE=50M, LOG=/tmp/overlay-NAME.log, NAME = the file's name.
// This module only turns text into a checked struct; what exists on disk is checked in
// preflight.ts.
import { basename, isAbsolute, resolve } from 'node:path';
import { usageError } from '../errors.js';

export const CONFIG_FIELDS = ['NAME', 'BASE', 'LIVE', 'LOWER', 'UPPER', 'WORK', 'CABLES', 'START', 'RAM_SIZE', 'LOG'] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];
export type RawConfig = Partial<Record<ConfigField, string>>;

export interface Cable {
  /** Host bridge the host end joins; '' = no bridge: the host end is brought up and ifup'd. */
  bridge: string;
  /** MAC of the subhost end (eth0..N); '' = the kernel's random one. */
  mac: string;
}

export interface SubhostConfig {
  name: string;
  base: string;
  live: string;
  /** A directory, or a squashfs image file (told apart in preflight). */
  lower: string;
  /** sha256 the LOWER image must have (`LOWER=img.squashfs#sha256=HEX`), when pinned. */
  lowerSha256?: string;
  /** A directory, or an executable that prints the directory (ACTION=setup). */
  upper: string;
  work: string;
  cables: Cable[];
  start: string[];
  /** tmpfs size for /run (`50M`), or undefined for RAM_SIZE=none. */
  ramSize?: string;
  log: string;
  /** Where the settings came from, for error messages: the config file or 'flags'. */
  source: string;
}

// Host end NAME + index must fit IFNAMSIZ (15 chars + NUL): 12 leaves room for 0..999.
const NAME_RE = /^[A-Za-z0-9._+=@-]{1,12}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
// `:` and `,` separate overlay mount options and lowerdir layers; a newline would cut a line of
// /proc/mounts. Paths with them cannot be passed to mount(8) unambiguously.
const BAD_PATH_RE = /[,:\n\\]/;
const SIZE_RE = /^[1-9][0-9]{0,8}[kKmMgG%]?$/;
const SHA_RE = /^[0-9a-f]{64}$/;

/** Text of a config file → the raw values (last occurrence wins). Throws on a line that is not
 * NAME=value; unknown names are returned in `unknown` for a warning, as overlay-boot ignores them. */
export function parseConfigText(text: string, source: string): { raw: RawConfig; unknown: string[] } {
  const raw: RawConfig = {};
  const unknown: string[] = [];
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!m) throw usageError(`${source}:${i + 1}: not a NAME=value line: ${JSON.stringify(trimmed.slice(0, 60))}`, 'write one VARIABLE=value per line, # for comments');
    const [, key, value] = m as unknown as [string, string, string];
    if ((CONFIG_FIELDS as readonly string[]).includes(key)) raw[key as ConfigField] = unquote(value);
    else unknown.push(key);
  });
  return { raw, unknown };
}

/** One pair of matching outer quotes is dropped (`START="ssh cron"`), as sh would read it. */
function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

/** Raw values (from a file or flags) → the checked config with every default filled in.
 * `defaultName` is the config file's name without `.conf`. */
export function resolveConfig(raw: RawConfig, source: string, defaultName: string): SubhostConfig {
  const at = source === 'flags' ? '' : ` in ${source}`;
  const name = raw.NAME || defaultName;
  if (!NAME_RE.test(name)) {
    throw usageError(`NAME '${name}'${at} is not 1-12 letters, digits or ._+=@-`, 'set NAME= to a short name: it names the network namespace, the hostname and the host ends NAME0..N');
  }
  if (!raw.BASE) throw usageError(`BASE is not set${at}`, 'add BASE=/path/to/subhost, the directory that holds live/, root/ and work/');
  const base = resolve(raw.BASE);
  // A value may say $BASE or ${BASE}; relative paths are taken from BASE.
  const path = (field: ConfigField, fallback: string, given = raw[field]): string => {
    const value = (given || fallback).replace(/\$\{BASE\}|\$BASE\b/g, base);
    const full = isAbsolute(value) ? resolve(value) : resolve(base, value);
    if (BAD_PATH_RE.test(full)) throw usageError(`${field} ${JSON.stringify(full)}${at} has a ',', ':', '\\' or newline`, `move it: overlay mount options cannot carry those characters`);
    return full;
  };
  const [lowerPath, pin] = (raw.LOWER || '/').split('#sha256=') as [string, string | undefined];
  if (pin !== undefined && !SHA_RE.test(pin)) {
    throw usageError(`LOWER's #sha256= '${pin}'${at} is not 64 lowercase hex digits`, 'give the image sha256 as sha256sum prints it, or drop #sha256=');
  }
  const ramSize = raw.RAM_SIZE ?? '50M';
  if (ramSize !== 'none' && !SIZE_RE.test(ramSize)) {
    throw usageError(`RAM_SIZE '${ramSize}'${at} is not a size`, 'write a tmpfs size like 50M, 1G or 10%, or none for no tmpfs on /run');
  }
  const start = (raw.START ?? 'networking ssh').split(/\s+/).filter(Boolean);
  for (const s of start) {
    if (!/^[A-Za-z0-9@._+-]+$/.test(s)) throw usageError(`START service '${s}'${at} is not a service name`, 'list /etc/init.d names separated by blanks');
  }
  return {
    name,
    base,
    live: path('LIVE', `${base}/live`),
    lower: path('LOWER', '/', lowerPath),
    ...(pin ? { lowerSha256: pin } : {}),
    upper: path('UPPER', `${base}/root`),
    work: path('WORK', `${base}/work`),
    cables: parseCables(raw.CABLES ?? '', at),
    start,
    ...(ramSize === 'none' ? {} : { ramSize }),
    log: raw.LOG ? resolve(base, raw.LOG) : `/tmp/overlay-${name}.log`,
    source,
  };
}

/** `br0=02:00:00:00:00:01 =02:00:00:00:00:02 br1=` → cables; a bare `br0` is `br0=`. */
export function parseCables(text: string, at = ''): Cable[] {
  const cables = text.split(/\s+/).filter(Boolean).map((spec) => {
    const eq = spec.indexOf('=');
    const bridge = eq < 0 ? spec : spec.slice(0, eq);
    const mac = eq < 0 ? '' : spec.slice(eq + 1);
    if (bridge !== '' && !/^[^\s/:]{1,15}$/.test(bridge)) throw usageError(`CABLES bridge '${bridge}'${at} is not an interface name`, 'write bridge=MAC, e.g. br0=02:00:00:00:00:01');
    if (mac !== '' && !MAC_RE.test(mac)) throw usageError(`CABLES MAC '${mac}' of '${spec}'${at} is not six hex pairs`, 'write bridge=MAC with MAC like 02:00:00:00:00:01, or bridge= for the kernel\'s');
    return { bridge, mac: mac.toLowerCase() };
  });
  if (cables.length > 1000) throw usageError(`CABLES${at} lists ${cables.length} cables`, 'at most 1000 (host ends NAME0..NAME999)');
  return cables;
}

/** A config file's default NAME: its file name without `.conf` (overlay-boot's rule). */
export function defaultNameOf(configPath: string): string {
  return basename(configPath).replace(/\.conf$/, '');
}
