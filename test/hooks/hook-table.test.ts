// The README's table of shipped hooks is generated from hooks/*/hook.json: it fails when stale,
// and lists the optional hooks (verity among them) with the flag that turns each on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderHookTable, updateReadmeHookTable } from '../../src/hooks/hook-table.ts';

test('README hook table is current (npm run readme)', () => {
  const readme = readFileSync('README.md', 'utf8');
  assert.ok(readme.includes('<!-- hook-table:start'), 'README has the hook-table markers');
  assert.equal(readme, updateReadmeHookTable(readme), 'README hook table is stale: run npm run readme');
});

test('the hook table: always-applied hooks first, then optional ones with their --hook flag and what they add', () => {
  const rows = renderHookTable().split('\n').slice(2);
  const names = rows.map((r) => /^\| `([^`]+)`/.exec(r)![1]!);
  assert.ok(names.indexOf('ram-boot') < names.indexOf('verity'), names.join(' '));
  assert.match(rows.find((r) => r.startsWith('| `verity`'))!, /^\| `verity` \| optional: `--hook verity` \| 1 force-load, 3 applets, 1 binary \| dm-verity for the root image\. \|$/);
  assert.match(rows.find((r) => r.startsWith('| `ram-boot`'))!, /^\| `ram-boot` \| always \| /);
});
