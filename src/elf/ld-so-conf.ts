// The library directories a root's own loader searches after RPATH/RUNPATH: what its
// /etc/ld.so.conf names (ldconfig(8) turns them into /etc/ld.so.cache), then the built-in
// default directories. Read from the TARGET root through src/rootfs/root-path.ts: an
// `include /etc/ld.so.conf.d/*.conf` means that root's directory, never the build host's.
import { readFile, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { RootResolver } from '../rootfs/root-path.js';

/** The loader's trusted directories for x86-64 on a multiarch (Debian/Ubuntu) root, then the
 * classic ones, in search order. */
export const DEFAULT_LIBRARY_DIRS: readonly string[] = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** ldconfig stops following includes this deep: a file including itself is a loop, not a hang. */
const MAX_INCLUDE_DEPTH = 16;

/** A shell-style pattern of the last path component (`*.conf`) as a RegExp; glob(3) semantics
 * for `*`, `?` and `[...]`, which is all ld.so.conf files use. */
function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files of the root matching `pattern` (an absolute path whose last component may hold a
 * wildcard), sorted as glob(3) sorts them. */
async function globInRoot(paths: RootResolver, pattern: string): Promise<string[]> {
  const dir = posix.dirname(pattern);
  const base = posix.basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const found = await paths.lookup(dir);
  if (!found?.stat.isDirectory()) return [];
  const re = patternRegExp(base);
  return (await readdir(found.hostPath)).filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => posix.join(dir, n));
}

async function readConf(paths: RootResolver, file: string, depth: number, dirs: string[]): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) return;
  const found = await paths.lookup(file);
  if (!found?.stat.isFile()) return;
  const text = await readFile(found.hostPath, 'utf8');
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(.+)$/.exec(line);
    if (include) {
      for (const word of include[1]!.split(/\s+/)) {
        // A relative include is relative to the including file's directory (ldconfig.c).
        const pattern = word.startsWith('/') ? word : posix.join(posix.dirname(file), word);
        for (const each of await globInRoot(paths, pattern)) await readConf(paths, each, depth + 1, dirs);
      }
      continue;
    }
    if (/^hwcap\s/.test(line)) continue;
    // Old ldconfig allowed `dir=type` and comma/blank separated lists.
    for (const dir of line.split(/[\s,:]+/)) {
      const clean = dir.replace(/=.*$/, '').replace(/\/+$/, '');
      if (clean.startsWith('/') && !dirs.includes(clean)) dirs.push(clean);
    }
  }
}

/** Every directory the root's /etc/ld.so.conf names (includes followed), in file order. */
export async function readLdSoConfDirs(paths: RootResolver): Promise<string[]> {
  const dirs: string[] = [];
  await readConf(paths, '/etc/ld.so.conf', 0, dirs);
  return dirs;
}
