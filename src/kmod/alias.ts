// Alias lookup as modprobe does it: both the request and the patterns are normalized ('-' is
// '_' outside bracket expressions, as in kmod's alias_normalize), then matched with fnmatch(3)
// semantics and no flags (`*` and `?` also match '/'; `[...]`, `[!...]`, `\` escapes).

/** 'fs-squashfs' -> 'fs_squashfs'; bracket expressions are kept as written. */
export function normalizeAlias(alias: string): string {
  // Most of a kernel's ~2,400-30,000 patterns (pci:, usb:, acpi*:) have no '-': nothing to do.
  if (!alias.includes('-')) return alias;
  let out = '';
  for (let i = 0; i < alias.length; i++) {
    const c = alias[i]!;
    if (c === '[') {
      const close = alias.indexOf(']', i + 2);
      if (close > 0) {
        out += alias.slice(i, close + 1);
        i = close;
        continue;
      }
    }
    out += c === '-' ? '_' : c;
  }
  return out;
}

/** Length of a bracket expression at `p` (pointing at '['), and whether `c` is in it; undefined when not a valid expression (then '[' is a literal). */
function matchBracket(pattern: string, p: number, c: string): { end: number; hit: boolean } | undefined {
  let i = p + 1;
  const negate = pattern[i] === '!' || pattern[i] === '^';
  if (negate) i++;
  let hit = false;
  let first = true;
  while (i < pattern.length) {
    let lo = pattern[i]!;
    if (lo === ']' && !first) return { end: i + 1, hit: hit !== negate };
    first = false;
    if (lo === '\\' && i + 1 < pattern.length) lo = pattern[++i]!;
    let hi = lo;
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      hi = pattern[i + 2]!;
      if (hi === '\\' && i + 3 < pattern.length) hi = pattern[++i + 2]!;
      i += 2;
    }
    if (lo <= c && c <= hi) hit = true;
    i++;
  }
  return undefined;
}

/** fnmatch(pattern, text, 0). Iterative, backtracking only to the last '*'. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    let advance = 0;
    if (pc === '*') {
      starP = p++;
      starT = t;
      continue;
    }
    if (pc === '?') advance = 1;
    else if (pc === '[') {
      const bracket = matchBracket(pattern, p, text[t]!);
      if (bracket === undefined) advance = text[t] === '[' ? 1 : 0;
      else if (bracket.hit) {
        p = bracket.end;
        t++;
        continue;
      }
    } else if (pc === '\\' && p + 1 < pattern.length) {
      if (pattern[p + 1] === text[t]) {
        p += 2;
        t++;
        continue;
      }
    } else if (pc !== undefined && pc === text[t]) advance = 1;

    if (advance) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

const WILDCARD = /[*?[\\]/;

/** Patterns -> module names, split into exact strings (a map lookup) and globs (scanned, with
 * their literal prefix checked first: 30,000 pci/usb patterns stay cheap to search). */
export class AliasTable {
  private readonly exact = new Map<string, string[]>();
  private readonly globs: Array<{ prefix: string; pattern: string; names: string[] }> = [];
  private readonly globIndex = new Map<string, string[]>();

  add(pattern: string, name: string): void {
    const normalized = normalizeAlias(pattern);
    const wildcard = normalized.search(WILDCARD);
    if (wildcard < 0) {
      const names = this.exact.get(normalized);
      if (!names) this.exact.set(normalized, [name]);
      else if (!names.includes(name)) names.push(name);
      return;
    }
    const names = this.globIndex.get(normalized);
    if (names) {
      if (!names.includes(name)) names.push(name);
      return;
    }
    const entry = { prefix: normalized.slice(0, wildcard), pattern: normalized, names: [name] };
    this.globIndex.set(normalized, entry.names);
    this.globs.push(entry);
  }

  /** Names of every module with a pattern matching `alias`, sorted. */
  lookup(alias: string): string[] {
    const key = normalizeAlias(alias);
    const found = new Set(this.exact.get(key));
    for (const glob of this.globs) {
      if (key.startsWith(glob.prefix) && globMatch(glob.pattern, key)) for (const name of glob.names) found.add(name);
    }
    return [...found].sort();
  }
}
