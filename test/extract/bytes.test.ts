// issue 9 item 7: bytes stay bytes. Names and symlink targets that are not UTF-8 extract
// byte-exact, diff tells them apart, ls escapes control bytes and ANSI sequences as `ls -b`
// does and --json keeps them lossless; a '.' entry leaves the target directory's mode alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractImage } from '../../src/extract/extract-image.ts';
import { diffImages } from '../../src/extract/diff-images.ts';
import { escapeName } from '../../src/unpack/display-name.ts';
import { arena, compress, rawCpio, S } from './helpers.ts';

const a = arena('rb-bytes-');
after(() => rmSync(a.base, { recursive: true, force: true }));
const L = (s: string) => Buffer.from(s, 'latin1');

function ramboot(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'latin1' });
}

// Built by hand so the name bytes are exactly these (not UTF-8 re-encoded).
function rawNamed(entries: Array<{ name: Buffer; mode: number; data?: Buffer; uid?: number }>): Buffer {
  // rawCpio takes names as text; each entry is rendered with a placeholder name of the same
  // length, then the name bytes are copied over it.
  let out = rawCpio(entries.map((e, i) => ({ name: `n${String(i).padStart(3, '0')}`, mode: e.mode, data: e.data, uid: e.uid })));
  for (const [i, e] of entries.entries()) {
    const placeholder = L(`n${String(i).padStart(3, '0')}\0`);
    const at = out.indexOf(placeholder);
    const headerAt = at - 110;
    const entryRaw = rawCpio([{ name: 'x'.repeat(e.name.length), mode: e.mode, data: e.data, uid: e.uid, ino: i + 1 }], false);
    e.name.copy(entryRaw, 110); // the name follows the 110-byte header
    const oldLen = rawCpio([{ name: `n${String(i).padStart(3, '0')}`, mode: e.mode, data: e.data, uid: e.uid, ino: i + 1 }], false).length;
    out = Buffer.concat([out.subarray(0, headerAt), entryRaw, out.subarray(headerAt + oldLen)]);
  }
  return out;
}

const latinName = L('caf\xe9');
const otherName = L('caf\xff');
const evilName = L('evil\n\x1b[31mred');

test('ls -b style escaping: control bytes, ESC, invalid UTF-8, bidi overrides', () => {
  assert.equal(escapeName(evilName), 'evil\\n\\033[31mred');
  assert.equal(escapeName(latinName), 'caf\\351');
  assert.equal(escapeName(Buffer.from('caf\u00e9 \u202eabc\\')), 'caf\u00e9 \\342\\200\\256abc\\\\');
  assert.equal(escapeName(Buffer.from('tab\there\x7f')), 'tab\\there\\177');
});

test('non-UTF-8 names and link targets extract byte-exact; two such names stay two files', async () => {
  const image = join(a.inputs, 'names.img');
  writeFileSync(image, compress(rawNamed([
    { name: latinName, mode: S.file | 0o644, data: L('latin') },
    { name: otherName, mode: S.file | 0o644, data: L('other') },
    { name: L('lnk'), mode: S.symlink | 0o777, data: L('t\xff\x1b') },
    { name: evilName, mode: S.file | 0o644, data: L('evil') },
  ]), 'gzip'));
  const target = join(a.inputs, 'names-out');
  await extractImage({ image, dir: target });
  const names = readdirSync(L(target), { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
  assert.deepEqual(names, ['caf\xe9', 'caf\xff', 'evil\n\x1b[31mred', 'lnk']);
  assert.equal(readFileSync(Buffer.concat([L(target), L('/caf\xe9')]), 'latin1'), 'latin');
  assert.equal(readFileSync(Buffer.concat([L(target), L('/caf\xff')]), 'latin1'), 'other');
  assert.equal(readlinkSync(Buffer.concat([L(target), L('/lnk')]), { encoding: 'buffer' }).toString('latin1'), 't\xff\x1b');

  const text = ramboot('ls', image);
  assert.equal(text.status, 0, text.stderr);
  assert.ok(!text.stdout.includes('\x1b'), 'no raw ESC reaches the terminal');
  assert.match(text.stdout, /^ {2}-rw-r--r-- .* evil\\n\\033\[31mred$/m);
  assert.match(text.stdout, / caf\\351$/m);
  assert.match(text.stdout, / lnk -> t\\377\\033$/m);
  const json = JSON.parse(ramboot('ls', '--json', image).stdout);
  const byB64 = (b: Buffer) => json.entries.find((e: { pathBase64?: string }) => e.pathBase64 === b.toString('base64'));
  assert.equal(byB64(latinName).path, 'caf\\351');
  assert.equal(byB64(otherName).path, 'caf\\377');
  assert.equal(json.entries.find((e: { path: string }) => e.path === 'evil\n\x1b[31mred').pathBase64, undefined, 'valid UTF-8 stays a plain string');
  assert.equal(json.entries.find((e: { path: string }) => e.path === 'lnk').linkTargetBase64, L('t\xff\x1b').toString('base64'));
});

test('diff sees names that differ only in non-UTF-8 bytes', async () => {
  const A = join(a.inputs, 'a.img');
  const B = join(a.inputs, 'b.img');
  writeFileSync(A, rawNamed([{ name: latinName, mode: S.file | 0o644, data: L('same') }]));
  writeFileSync(B, rawNamed([{ name: otherName, mode: S.file | 0o644, data: L('same') }]));
  const diff = await diffImages({ a: A, b: B });
  assert.deepEqual(diff.added.map((e) => (e as unknown as { pathBase64: string }).pathBase64), [otherName.toString('base64')]);
  assert.deepEqual(diff.removed.map((e) => e.path), ['caf\\351']);
  const r = ramboot('diff', A, B);
  assert.match(r.stdout, /^\+ caf\\377 \(file, 4 bytes\)$/m);
  assert.match(r.stdout, /^- caf\\351 \(file, 4 bytes\)$/m);
  assert.match(r.stdout, /^1 added, 1 removed, 0 changed$/m);
});

test("a '.' entry does not change the target directory's mode or owner", async () => {
  const image = join(a.inputs, 'dot.img');
  writeFileSync(image, rawCpio([{ name: '.', mode: S.dir | 0o777, uid: 4321, gid: 4321 }, { name: 'f', mode: S.file | 0o644, data: 'x' }]));
  const target = join(a.inputs, 'dot-out');
  mkdirSync(target);
  chmodSync(target, 0o750);
  const before = statSync(target);
  await extractImage({ image, dir: target, asRoot: process.getuid?.() === 0 });
  const st = statSync(target);
  assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [before.mode & 0o7777, before.uid, before.gid]);
});
