// Lint as tests: the compiler's strict checks (tsconfig.json, unused names included) and the
// shape .editorconfig describes, over every tracked source file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

test('tsc --noEmit: no type errors, no unused locals or parameters', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', ROOT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('.editorconfig holds: LF, final newline, no trailing blanks, spaces in TypeScript, tabs in the boot scripts', () => {
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', 'src', 'test', 'scripts', 'bench', 'initrd-scripts', 'hooks'], { cwd: ROOT, encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => /\.(ts|mjs|json|sh)$|^initrd-scripts\/ram$/.test(f) && !f.startsWith('bench/results/'));
  assert.ok(files.length > 100, `found only ${files.length} files`);
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(join(ROOT, file), 'utf8');
    } catch {
      continue; // deleted in the work tree but still listed
    }
    if (text.includes('\r')) problems.push(`${file}: CR line ends`);
    if (text.length > 0 && !text.endsWith('\n')) problems.push(`${file}: no final newline`);
    text.split('\n').forEach((line, i) => {
      if (/[ \t]+$/.test(line)) problems.push(`${file}:${i + 1}: trailing blank`);
      if (file.startsWith('initrd-scripts/') && /^ +\S/.test(line)) problems.push(`${file}:${i + 1}: indented with spaces`);
      if (/\.(ts|mjs)$/.test(file) && /^\t/.test(line)) problems.push(`${file}:${i + 1}: indented with a tab`);
    });
  }
  assert.deepEqual(problems, []);
});
