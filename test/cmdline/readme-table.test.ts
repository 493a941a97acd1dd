import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { updateReadmeTable } from '../../src/cmdline/render-param-table.ts';
import { BOOT_PARAMS } from '../../src/cmdline/params.ts';

test('the README parameter table is generated from the parameter table (run npm run readme)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, updateReadmeTable(readme));
  for (const p of BOOT_PARAMS) assert.ok(readme.includes(`\`${p.name}=\``), p.name);
});
