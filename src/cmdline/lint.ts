// Checking a kernel command line against the parameter table before it reaches a fleet: a
// misspelled parameter is silently ignored at boot (the kernel hands unknown words to init),
// so the place to catch `zram_size_pc=25` is here.
import { BOOT_PARAMS, findParam, normalizeParamName, type BootParam } from './params.js';
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
      if (!/^-?\d+$/.test(value)) return `${param.name}=${value}: not a whole number`;
      if ((param.min !== undefined && n < param.min) || (param.max !== undefined && n > param.max)) {
        return `${param.name}=${value}: out of range ${param.min}..${param.max}`;
      }
      return undefined;
    }
    case 'enum':
      if (param.name === 'initrddebug' && YES_NO.has(value)) return undefined;
      return param.values!.includes(value) ? undefined : `${param.name}=${value}: use one of ${param.values!.join(', ')}`;
    case 'sha256':
      // The boot script compares against sha256sum's output, which is lowercase.
      return /^[0-9a-f]{64}$/.test(value) ? undefined : `${param.name}=${value}: use 64 lowercase hex digits`;
    case 'size': {
      const pct = /^(\d+)%$/.exec(value);
      if (pct) return Number(pct[1]) >= 1 && Number(pct[1]) <= 100 ? undefined : `${param.name}=${value}: a percentage is 1%..100%`;
      return /^\d+[KMG]?$/.test(value) ? undefined : `${param.name}=${value}: use bytes with K/M/G, or N%`;
    }
    case 'path':
      return value.startsWith('/') ? undefined : `${param.name}=${value}: use an absolute path`;
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
}

export function lintCmdline(cmdline: string, opts: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
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
      message: 'busybox wget does not verify certificates: keep the rootsha256 the builder baked into the initrd (do not clear it)',
    });
  }
  return findings;
}
