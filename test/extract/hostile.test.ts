// The hostile corpus (test/fixtures/hostile): each archive gives exactly its error or warnings,
// and nothing outside the target directory is ever written: the sentinel directory beside the
// target stays as it was, no absolute path outside appears, no temporary file is left.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fieldAt, HEADER_SIZE } from '../../src/cpio/newc-format.ts';
import { RambootError } from '../../src/errors.ts';
import { extractImage } from '../../src/extract/extract-image.ts';
import type { ExtractWarning } from '../../src/unpack/problems.ts';
import { CASES, expectedError } from '../fixtures/hostile/cases.ts';
import { arena, rawCpio, S } from './helpers.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/hostile');
const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function place() {
  const a = arena('rb-hostile-');
  cleanup.push(a.base);
  return a;
}

/** Extracts; returns the error (a RambootError, or the test fails) or the warnings. */
async function run(image: string, target: string, options: object = {}): Promise<{ error?: RambootError; warnings: ExtractWarning[] }> {
  const warnings: ExtractWarning[] = [];
  try {
    await extractImage({ image, dir: target, asRoot: false, ...options, onWarning: (w) => warnings.push(w) });
    return { warnings };
  } catch (err) {
    assert.ok(err instanceof RambootError, `only RambootErrors, got ${(err as Error).stack}`);
    return { error: err, warnings };
  }
}

for (const c of CASES) {
  test(`hostile: ${c.name}`, async () => {
    const a = place();
    const fixture = join(FIXTURES, `${c.name}.img`);
    const bytes = readFileSync(fixture);
    if (!c.toolMade) assert.ok(bytes.equals(c.image()), `${fixture} is what cases.ts builds (regenerate with generate.ts)`);
    const image = join(a.inputs, `${c.name}.img`);
    writeFileSync(image, bytes);
    const { error, warnings } = await run(image, a.target, c.options);
    const want = expectedError(c, image);
    if (want) {
      assert.ok(error, `expected ${want}`);
      assert.ok(error.message === want || error.message.startsWith(`${want}: `), `message:\n  ${error.message}\nexpected:\n  ${want}`);
      assert.equal(error.toLine().split('\n').length, 1, 'one line');
    } else {
      assert.equal(error, undefined, error?.message);
      c.check?.(a.target);
    }
    if (c.warnings || !want) assert.deepEqual(warnings.map((w) => [w.code, w.message]), c.warnings ?? []);
    a.checkOutside();
  });
}

test('truncated at every byte of an archive: E-TRUNCATED naming the field, and no partial file', async () => {
  const a = place();
  const archive = rawCpio([{ name: 'f', mode: S.file | 0o644, data: 'hello' }]);
  // header 110 + "f\0" = 112, data 5 + pad 3 = 120, trailer header at 120.
  const fileComplete = 120;
  let n = 0;
  for (let cut = 1; cut < archive.length; cut++) {
    const image = join(a.inputs, 'cut.img');
    writeFileSync(image, archive.subarray(0, cut));
    const target = join(a.target, String(cut));
    const { error } = await run(image, target);
    assert.ok(error, `cut at ${cut}`);
    assert.match(error.message, /^E-TRUNCATED: segment 0 \(uncompressed cpio at byte 0\): cpio truncated at byte \d+[ :]/, `cut at ${cut}`);
    if (cut < 6) assert.ok(error.message.includes(`inside the magic of the header at byte 0 (expected 110 bytes, got ${cut})`), error.message);
    else if (cut < HEADER_SIZE) assert.ok(error.message.includes(`inside ${fieldAt(cut)} of the header at byte 0 (expected 110 bytes, got ${cut})`), error.message);
    else if (cut < 112) assert.ok(error.message.includes('inside the name of the entry at byte 0'), error.message);
    else if (cut < 117) assert.ok(error.message.includes(`inside the data of f (expected 5 bytes, got ${cut - 112})`), error.message);
    else if (cut < 120) assert.ok(error.message.includes('inside the padding after the data of f'), error.message);
    else if (cut === 120) assert.ok(error.message.endsWith('cpio truncated at byte 120: the archive ends without TRAILER!!!'), error.message);
    else if (cut < 120 + HEADER_SIZE) assert.ok(error.message.includes(`inside ${fieldAt(cut - 120)} of the header at byte 120`), error.message);
    else assert.ok(/inside the (name|padding after the name) of the entry at byte 120( \(expected 11 bytes, got \d+\))?$/.test(error.message), error.message);
    assert.equal(existsSync(join(target, 'f')), cut >= fileComplete, `f exists only once complete (cut ${cut})`);
    rmSync(target, { recursive: true, force: true });
    n++;
  }
  assert.equal(n, archive.length - 1);
  a.checkOutside();
});

test('a target that is not empty is refused before anything is read', async () => {
  const a = place();
  mkdirSync(a.target);
  writeFileSync(join(a.target, 'precious'), 'x');
  const image = join(a.inputs, 'ok.img');
  writeFileSync(image, rawCpio([{ name: 'f', mode: S.file | 0o644, data: 'x' }]));
  const { error } = await run(image, a.target);
  assert.equal(error?.message, `E-TARGET-NOT-EMPTY: ${a.target} is not empty (1 entries)`);
  assert.equal(error?.exitCode, 2);
  a.checkOutside();
});
