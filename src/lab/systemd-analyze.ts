// Reading `systemd-analyze time`, `blame` and `critical-chain` as the guest printed them (the
// benchmark's reporter copies their lines to its serial port): where systemd's part of a boot
// to multi-user.target goes. systemd prints spans as "1min 2.345s", "345ms", "12us".

const SPAN_UNITS: Record<string, number> = { h: 3600, min: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6 };

/** Seconds of a systemd time span ("1min 2.345s"), undefined when it is not one. */
export function parseSpan(text: string): number | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  let total = 0;
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)(h|min|s|ms|us|µs)$/.exec(part);
    if (!m) return undefined;
    total += Number(m[1]) * SPAN_UNITS[m[2]!]!;
  }
  return total;
}

export interface AnalyzeTime {
  /** Each "Ns (part)" of "Startup finished in ...": kernel, initrd (only when the initrd runs
   * systemd itself, as dracut's does), userspace. */
  parts: Record<string, number>;
  total?: number;
  /** "multi-user.target reached after Ns in userspace". */
  target?: { unit: string; userspaceS: number };
}

export function parseAnalyzeTime(lines: readonly string[]): AnalyzeTime {
  const result: AnalyzeTime = { parts: {} };
  for (const line of lines) {
    const startup = /Startup finished in (.*?) = (.*)$/.exec(line);
    if (startup) {
      for (const piece of startup[1]!.split(' + ')) {
        const m = /^(.*) \((\w+)\)$/.exec(piece.trim());
        const seconds = m ? parseSpan(m[1]!) : undefined;
        if (m && seconds !== undefined) result.parts[m[2]!] = seconds;
      }
      result.total = parseSpan(startup[2]!);
    }
    const target = /^(\S+) reached after (.*) in userspace/.exec(line.trim());
    const seconds = target ? parseSpan(target[2]!) : undefined;
    if (target && seconds !== undefined) result.target = { unit: target[1]!, userspaceS: seconds };
  }
  return result;
}

export interface BlameEntry {
  unit: string;
  seconds: number;
}

/** `systemd-analyze blame`: "  1min 2.345s foo.service", longest first. Other lines are skipped. */
export function parseBlame(lines: readonly string[]): BlameEntry[] {
  const entries: BlameEntry[] = [];
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    const unit = words.pop();
    const seconds = parseSpan(words.join(' '));
    if (unit && words.length > 0 && seconds !== undefined) entries.push({ unit, seconds });
  }
  return entries;
}

export interface ChainLink {
  unit: string;
  /** Depth in the tree: 0 for the target itself. */
  depth: number;
  /** When the unit became active, seconds after userspace started ("@"). */
  atS?: number;
  /** How long it took to start ("+"). */
  plusS?: number;
}

/** `systemd-analyze critical-chain`: "multi-user.target @12.3s", then "└─ssh.service @10.1s +1.2s"
 * indented two columns per level. The explanatory header lines are skipped. */
export function parseCriticalChain(lines: readonly string[]): ChainLink[] {
  const links: ChainLink[] = [];
  for (const line of lines) {
    const m = /^(\s*)(?:└─|├─|`-|\|-)?(\S+\.(?:target|service|socket|mount|device|path|slice|scope|swap|timer))(?: @([^+]+?))?(?: \+(.+))?\s*$/.exec(line);
    if (!m) continue;
    const link: ChainLink = { unit: m[2]!, depth: Math.floor(m[1]!.length / 2) + (/^\s*(?:└─|├─|`-|\|-)/.test(line) ? 1 : 0) };
    const at = m[3] === undefined ? undefined : parseSpan(m[3]);
    const plus = m[4] === undefined ? undefined : parseSpan(m[4]);
    if (at !== undefined) link.atS = at;
    if (plus !== undefined) link.plusS = plus;
    links.push(link);
  }
  return links;
}
