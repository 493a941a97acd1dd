// What every PXE-lab boot test checks of a guest's console, and how a failed boot's whole console
// is kept for a look afterwards.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';

/** The set's marker init ran as PID 1 with no ramboot error; with `rootSha`, after that image verified. */
export function assertRealInit(output: string, image: string, rootSha?: string): void {
  const m = parseInitMarkers(output);
  assert.ok(m.done, `init did not finish:\n${output.slice(-3000)}`);
  assert.equal(m.pid, 1, 'the real init runs as PID 1');
  assert.equal(m.image, image);
  assert.doesNotMatch(output, /ramboot: error:/);
  if (rootSha) assert.match(output, new RegExp(`ramboot: verify: sha256 ${rootSha} matches`));
}

/** Lab options that append every guest's console to $RAMBOOT_TEST_CONSOLE when it is set. */
export function keptConsole(): { onOutput?: (guest: string, text: string) => void } {
  const file = process.env.RAMBOOT_TEST_CONSOLE;
  return file ? { onOutput: (_guest, text) => appendFileSync(file, text) } : {};
}
