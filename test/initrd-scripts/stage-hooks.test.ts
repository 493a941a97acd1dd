// Build hooks' stage scripts: /init runs /lib/ramboot/hooks/<point>/* in name order, each as its
// own sh process with RAM_HOOK_POINT and RAM_NEWROOT set; a failing one stops the boot naming it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(): Sandbox {
  const sb = new Sandbox();
  sandboxes.push(sb);
  return sb;
}
const SETUP = 'ram_stage_setup >/dev/null; ';

test('stage hooks: the point\'s scripts run in name order, with the point and the new root', () => {
  const sb = sandbox();
  sb.write('lib/ramboot/hooks/before-mount/02-b-two.sh', 'echo "TWO $RAM_HOOK_POINT ${RAM_NEWROOT#"$RAM_PREFIX"}"\n');
  sb.write('lib/ramboot/hooks/before-mount/01-a-one.sh', 'echo "ONE $RAM_HOOK_POINT"; ram_stage_mount 2>/dev/null || echo "no boot functions"\n');
  sb.write('lib/ramboot/hooks/after-mount/01-a-late.sh', 'echo LATE\n');
  const r = sb.run(`${SETUP}ram_run_stage_hooks before-mount; ram_run_stage_hooks before-zram; echo "still $RAM_STAGES"`);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(r.stdout.split('\n').filter((l) => /^(ONE|TWO|LATE|no boot|still|ramboot: hook)/.test(l)), [
    'ramboot: hook: before-mount: running 01-a-one.sh',
    'ONE before-mount',
    'no boot functions',
    'ramboot: hook: before-mount: running 02-b-two.sh',
    'TWO before-mount /newroot',
    `still ${r.stdout.match(/^still (.*)$/m)![1]}`,
  ]);
});

test('stage hooks: a failing script stops the boot with its name, point and exit status', () => {
  const sb = sandbox();
  sb.write('lib/ramboot/hooks/after-fetch/01-site-check.sh', 'echo "site check: no" >&2; exit 3\n');
  sb.write('lib/ramboot/hooks/after-fetch/02-site-never.sh', 'echo NEVER\n');
  const r = sb.run(`${SETUP}ram_run_stage_hooks after-fetch; echo AFTER`);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: hook: stage script 01-site-check.sh (after-fetch) failed with exit status 3 (see its output above)']);
  assert.match(r.output, /site check: no/);
  assert.doesNotMatch(r.output, /NEVER|AFTER/);
});

test('stage hooks: no directory for a point is nothing to run', () => {
  const r = sandbox().run(`${SETUP}ram_run_stage_hooks before-net; echo OK`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^OK$/m);
  assert.doesNotMatch(r.stdout, /hook:/);
});
