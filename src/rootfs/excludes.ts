// Exclude lists for the rootfs image: rootfs-excludes/* (shipped, one file per concern) plus any
// --exclude-file. The format is described at the top of rootfs-excludes/virtual-fs:
//   /dir/   drop the directory's contents, keep the directory (a mount point, an empty cache);
//   /path   drop the path itself;
// both with mksquashfs -wildcards globs. The patterns are rendered relative to the source
// directory, which is how mksquashfs anchors -wildcards excludes (a leading / would not match).
import { readFile } from 'node:fs/promises';
import { listAssets } from '../assets.js';
import { inputError } from '../errors.js';

export interface ExcludeRule {
  /** Absolute path inside the root, without the trailing slash, e.g. /var/cache/apt. */
  path: string;
  /** true for a `/dir/` line: only the directory's contents are dropped. */
  contentsOnly: boolean;
  /** file:line, so an error or a listing names where the rule came from. */
  source: string;
}

/** Parse one exclude list. `source` names it in errors (a file path or an asset path). */
export function parseExcludeList(text: string, source: string): ExcludeRule[] {
  const rules: ExcludeRule[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${index + 1}`;
    const contentsOnly = line.endsWith('/');
    const path = line.replace(/\/+$/, '');
    if (!line.startsWith('/')) {
      throw inputError(`${where}: exclude "${line}" is not an absolute path`, 'write paths as they are inside the root, e.g. /var/cache/apt/');
    }
    const parts = path.split('/').slice(1);
    if (parts.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw inputError(`${where}: exclude "${line}" must name a path below / without . or .. components`);
    }
    rules.push({ path, contentsOnly, source: where });
  });
  return rules;
}

/** The shipped lists (rootfs-excludes/*, embedded in the single-file build) followed by `extraFiles`. */
export async function readExcludeList(extraFiles: readonly string[] = []): Promise<ExcludeRule[]> {
  const rules = listAssets('rootfs-excludes').flatMap((asset) => parseExcludeList(asset.data.toString('utf8'), asset.path));
  for (const file of extraFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw inputError(`cannot read exclude list ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(error)}`);
    }
    rules.push(...parseExcludeList(text, file));
  }
  return rules;
}

/** mksquashfs -wildcards patterns. Its matching uses fnmatch with FNM_PERIOD, so `dir/*` skips
 * dot files; `dir/.*` catches them (readdir's . and .. are never offered to the matcher). */
export function renderExcludePatterns(rules: readonly ExcludeRule[]): string[] {
  const patterns: string[] = [];
  for (const rule of rules) {
    const relative = rule.path.slice(1);
    if (rule.contentsOnly) patterns.push(`${relative}/*`, `${relative}/.*`);
    else patterns.push(relative);
  }
  return [...new Set(patterns)];
}
