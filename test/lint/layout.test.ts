// The README's Layout table is the newcomer's map: it must name every folder of src/ and every
// top-level folder, and nothing that is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

function layoutRows(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout') + 1));
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!.replace(/\/$/, ''));
}

function dirsOf(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).filter((n) => statSync(join(ROOT, dir, n)).isDirectory());
}

test('every src/ folder and every top-level folder has a row in the README Layout table', () => {
  const rows = new Set(layoutRows());
  const top = dirsOf('.').filter((n) => !n.startsWith('.') && n !== 'node_modules' && n !== 'dist' && n !== 'out');
  const missing = [...top.filter((n) => n !== 'src'), ...dirsOf('src').map((n) => `src/${n}`)].filter((d) => !rows.has(d));
  assert.deepEqual(missing, [], 'add these folders to the README Layout table');
});

test('every row of the README Layout table names a folder that exists', () => {
  const gone = layoutRows().filter((p) => !existsSync(join(ROOT, p)));
  assert.deepEqual(gone, []);
});
