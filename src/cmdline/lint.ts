// Checking a kernel command line against the parameter table before it reaches a fleet: a
// misspelled parameter is silently ignored at boot (the kernel hands unknown words to init),
// so the place to catch `zram_size_pc=25` is here.
import { checkInitHandoff } from './init-handoff.js';
import { checkLineLength, kernelLineFor, type NetbootFormat } from './loader-line.js';
import { renderLoaderArgs } from './loader-quoting.js';
import { BOOT_PARAMS, findParam, normalizeParamName, type BootParam } from './params.js';
import { checkBond, checkVlan } from './net-virtual.js';
import { splitCmdline } from './parse.js';

export interface LintFinding {
  level: 'error' | 'warning';
  code: string;
  message: string;
}

const YES_NO = new Set(['y', 'yes', '1', 'true', 'n', 'no', '0', 'false']);
// What the ram script fetches: http(s) and tftp URLs, a local device (dev://LABEL=X/path,
// dev://UUID=X/path, dev://sdb1/path), or a path relative to the DHCP/PXE server.
const URL_FORMS = /^((https?|tftp):\/\/[^\s/]+(\/\S*)?|dev:\/\/[^\s/]+\/\S+|[^\s:]+)$/;

/** Why a value is not valid for a parameter, or undefined when it is. */
export function checkValue(param: BootParam, value: string | undefined): string | undefined {
  if (value === undefined) {
    return param.type === 'flag' || param.name === 'initrddebug' ? undefined : `${param.name} needs a value (${param.name}=...)`;
  }
  switch (param.type) {
    case 'flag':
      return YES_NO.has(value) ? undefined : `${param.name}=${value}: use y or n`;
    case 'int': {
      const n = Number(value);
      if (param.values?.includes(value)) return undefined;
      // As the boot checks it (lib/validate.sh): no leading zero (busybox sh reads 08 as bad
      // octal) and at most 18 digits (more could wrap a 64-bit integer).
      if (!/^(0|-?[1-9]\d{0,17})$/.test(value)) return `${param.name}=${value}: not a whole number${param.values ? ` (nor ${param.values.join(', ')})` : ''}`;
      if ((param.min !== undefined && n < param.min) || (param.max !== undefined && n > param.max)) {
        return `${param.name}=${value}: out of range ${param.min}..${param.max}`;
      }
      return undefined;
    }
    case 'enum':
      if (param.name === 'initrddebug' && YES_NO.has(value)) return undefined;
      return param.values!.includes(value) ? undefined : `${param.name}=${value}: use one of ${param.values!.join(', ')}`;
    case 'sha256':
      // An empty value must not read as "no pin": that would drop the one the builder baked in.
      if (value === '') return `${param.name}= is empty: it cannot drop the baked checksum; give 64 hex digits, or ${param.name}=off to boot an unverified image`;
      // The boot script lowercases it before comparing with sha256sum's output.
      return value === 'off' || /^[0-9a-fA-F]{64}$/.test(value) ? undefined : `${param.name}=${value}: use 64 hex digits, or off`;
    case 'size': {
      const pct = /^([1-9]\d{0,17})%$/.exec(value);
      if (pct) return Number(pct[1]) >= 1 && Number(pct[1]) <= 100 ? undefined : `${param.name}=${value}: a percentage is 1%..100%`;
      // tmpfs reads size=0 as "no limit": a cap must be at least 1.
      return /^[1-9]\d{0,17}[KMG]?$/.test(value) ? undefined : `${param.name}=${value}: use bytes with K/M/G, or N%`;
    }
    case 'path':
      return value.startsWith('/') ? undefined : `${param.name}=${value}: use an absolute path`;
    case 'device':
      // As lib/validate.sh checks it, for ram_find_dev: findfs's LABEL=/UUID=, or a name under
      // /dev (no slash, so it cannot point elsewhere).
      if (/^LABEL=\S+$/.test(value) || /^UUID=[0-9A-Fa-f-]+$/.test(value) || /^[a-z][a-z0-9_-]*$/.test(value)) return undefined;
      return `${param.name}=${value}: use LABEL=name, UUID=uuid or a device name like sdb1${value.startsWith('/dev/') ? ` (${value.slice(5)}, without /dev/)` : ''}`;
    case 'proxy': {
      // As lib/proxy.sh checks it: no user:password@ (it would be logged), no path.
      const m = /^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([1-9]\d{0,4}))?\/?$/.exec(value);
      if (m && (m[2] === undefined || Number(m[2]) <= 65535)) return undefined;
      return `${param.name}=${value}: use http://HOST[:PORT] (a name, an IPv4 address or [IPv6]; no user@ or path)`;
    }
    case 'bond': {
      const why = checkBond(value);
      return why === undefined ? undefined : `${param.name}=${value}: ${why}`;
    }
    case 'vlan': {
      const why = checkVlan(value);
      return why === undefined ? undefined : `${param.name}=${value}: ${why}`;
    }
    case 'url-list':
    case 'string':
      return value === '' ? `${param.name}= is empty` : undefined;
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The parameter an unknown word probably meant, when it is a near miss of one of ours. */
export function suggestParam(key: string): string | undefined {
  const name = normalizeParamName(key);
  let best: { name: string; distance: number } | undefined;
  for (const p of BOOT_PARAMS) {
    for (const candidate of [p.name, ...(p.aliases ?? [])]) {
      // Short names sit one letter away from common kernel words (root= vs boot=), so only
      // names of six or more letters get near-miss suggestions.
      const allowed = candidate.length < 6 ? 0 : Math.floor(candidate.length / 4);
      const distance = editDistance(name, candidate);
      if (distance > 0 && distance <= allowed && (!best || distance < best.distance)) best = { name: candidate, distance };
    }
  }
  return best?.name;
}

export interface LintOptions {
  /** The boot config adds rooturl= itself, so its absence here is fine. */
  rooturlAddedElsewhere?: boolean;
  /** The boot loader the line goes through (what it adds counts against the kernel's limit). */
  target?: NetbootFormat;
  /** Where that loader fetches vmlinuz and initrd.img (their paths are part of the line). */
  baseUrl?: string;
}

/**
 * Characters that do not split where a user expects: outside quotes, one whose UTF-8 holds the
 * byte 0xA0 (U+00A0, à, ...) is cut in two by the kernel (parse.ts, KERNEL_BLANKS), and other
 * Unicode blanks (U+2003, U+3000) are no separator at all.
 */
function checkCharacters(cmdline: string): LintFinding[] {
  const findings: LintFinding[] = [];
  let quoted = false;
  for (const ch of cmdline) {
    if (ch === '"') quoted = !quoted;
    if (quoted || ch.charCodeAt(0) < 0x80) continue;
    const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    if (Buffer.from(ch, 'utf8').includes(0xa0)) {
      findings.push({ level: 'error', code: 'split-character', message: `${code} (${JSON.stringify(ch)}) holds the byte 0xA0, a blank to the kernel: it cuts the word there and leaves a broken character; use ASCII, or quote the word` });
    } else if (/\s/.test(ch)) {
      findings.push({ level: 'warning', code: 'unicode-blank', message: `${code} is not a blank for the kernel: it stays inside the word; use an ASCII space to separate words` });
    }
  }
  return findings;
}

export function lintCmdline(cmdline: string, opts: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = checkCharacters(cmdline);
  const seen = new Map<string, string>();
  for (const word of splitCmdline(cmdline)) {
    const param = findParam(word.key);
    if (!param) {
      const suggestion = suggestParam(word.key);
      if (suggestion) findings.push({ level: 'error', code: 'unknown-param', message: `${word.key} is not a ramboot parameter: did you mean ${suggestion}=?` });
      continue;
    }
    const problem = checkValue(param, word.value);
    if (problem) findings.push({ level: 'error', code: 'bad-value', message: problem });
    if (param.type === 'sha256' && word.value === 'off') {
      findings.push({ level: 'warning', code: 'unverified', message: `${param.name}=off: the image will not be verified; anyone who can serve or alter it chooses what this machine runs` });
    }
    if (param.type === 'url-list' && word.value) {
      for (const url of word.value.split(',')) {
        if (!URL_FORMS.test(url)) {
          findings.push({ level: 'warning', code: 'url-scheme', message: `${param.name}: ${url} is not an http://, https://, tftp:// or dev:// URL, nor a path relative to the boot server` });
        }
      }
    }
    const previous = seen.get(param.name);
    if (previous !== undefined) {
      findings.push({ level: 'warning', code: 'repeated', message: `${param.name} is given twice (${previous} and ${word.key}); the last one wins` });
    }
    seen.set(param.name, word.key);
  }
  if (!seen.has('rooturl') && !opts.rooturlAddedElsewhere) {
    findings.push({ level: 'warning', code: 'no-rooturl', message: 'no rooturl=: the boot stops unless the boot config adds it' });
  }
  const url = /(?:^|\s)(?:rooturl|fetch)=(\S*)/.exec(cmdline)?.[1] ?? '';
  if (url.startsWith('https://') && !seen.has('rootsha256')) {
    findings.push({
      level: 'warning',
      code: 'https-unpinned',
      message: 'busybox wget does not verify certificates (an initrd built with --hook curl does): keep the rootsha256 the builder baked into the initrd (do not clear it)',
    });
  }
  const target = opts.target ?? 'line';
  const args = renderLoaderArgs(target, cmdline);
  for (const problem of args.problems) findings.push({ level: 'error', code: 'loader-cannot-express', message: problem });
  // A plain line reaches the kernel byte for byte; through a loader, as the loader rebuilds it.
  const tooLong = checkLineLength(target, target === 'line' ? cmdline : args.kernel, opts.baseUrl ?? '');
  if (tooLong) findings.push(tooLong);
  // The BOOT_IMAGE= a loader prepends is one more environment word for init.
  findings.push(...checkInitHandoff(target === 'line' ? cmdline : kernelLineFor(target, args.kernel, opts.baseUrl ?? '')));
  return findings;
}
