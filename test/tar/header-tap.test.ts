// Names that are not UTF-8 stay bytes (issue 9 item 7): GNU tar stores them raw in the ustar
// name field, in a GNU 'L'/'K' long name, or in a pax path/linkpath record, and tar-stream
// decodes all three as UTF-8 (pax always, whatever filenameEncoding says), so two names that
// differ only in such bytes came out as one U+FFFD name. The tap reads them as bytes, the same at
// any chunking, and matched to tar-stream's entries by offset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { RambootError } from '../../src/errors.ts';
import { materializeRoot } from '../../src/rootfs/tar-root.ts';
import { TarHeaderTap } from '../../src/tar/header-tap.ts';
import { displayName } from '../../src/tar/tar-entry.ts';

const b = (text: string) => Buffer.from(text, 'latin1'); // one byte per char: \xe9 is the byte E9
const FILE_E9 = b('t/caf\xe9'); // Latin-1 "café": E9 alone is not UTF-8
const FILE_FF = b('t/caf\xff'); // would collapse with FILE_E9 into "caf\uFFFD"
const LONG = Buffer.concat([b('t/'), Buffer.alloc(120, 'L'), b('\xfe\x80')]); // > 100 bytes
const LINK = b('t/s\xe9');
const LINK_TARGET = Buffer.concat([Buffer.alloc(110, 'T'), b('\xe9')]); // > 100 bytes: 'K' / linkpath

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-tap-'));
  const at = (name: Buffer) => Buffer.concat([b(`${work}/`), name]);
  mkdirSync(join(work, 't'));
  for (const name of [FILE_E9, FILE_FF, LONG]) writeFileSync(at(name), name);
  symlinkSync(LINK_TARGET, at(LINK));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** GNU tar of `names` (bytes, relative to work/), given through a NUL-separated list: arguments
 * of a child process are strings, which could not carry the bytes. */
function gnuTar(format: string, names: Buffer[], recursive = true): Buffer {
  const out = join(work, `${format}.tar`);
  const list = join(work, `${format}.list`);
  writeFileSync(list, Buffer.concat(names.flatMap((n) => [n, Buffer.alloc(1)])));
  execFileSync('tar', [`--format=${format}`, '--numeric-owner', ...(recursive ? [] : ['--no-recursion']), '-cf', out, '-C', work, '--null', '-T', list]);
  return readFileSync(out);
}

/** name (hex) -> link target (hex, or '') for every entry the tap saw, fed `step` bytes at a time. */
function tapNames(tar: Buffer, step: number): Map<string, string> {
  const tap = new TarHeaderTap();
  for (let i = 0; i < tar.length; i += step) tap.push(tar.subarray(i, i + step));
  assert.equal(tap.error, undefined);
  const names = new Map<string, string>();
  for (let off = 512; off <= tar.length; off += 512) {
    const e = tap.take(off);
    if (e) names.set(e.name.toString('hex'), e.linkname?.toString('hex') ?? '');
  }
  return names;
}

async function tarStreamNames(tar: Buffer): Promise<string[]> {
  const extract = tarStream.extract();
  const names: string[] = [];
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve) => extract.on('finish', () => resolve()));
  extract.end(tar);
  await done;
  return names;
}

for (const format of ['pax', 'gnu'] as const) {
  test(`${format} format: names and link targets come out byte for byte, at any chunking`, async () => {
    const tar = gnuTar(format, [b('t')]);
    const want = new Map([
      [b('t/').toString('hex'), ''],
      [FILE_E9.toString('hex'), ''],
      [FILE_FF.toString('hex'), ''],
      [LONG.toString('hex'), ''],
      [LINK.toString('hex'), LINK_TARGET.toString('hex')],
    ]);
    const whole = tapNames(tar, tar.length);
    assert.deepEqual(new Map([...whole].sort()), new Map([...want].sort()));
    for (const step of [1, 100, 511, 4099]) assert.deepEqual(tapNames(tar, step), whole, `chunks of ${step}`);
    // What tar-stream alone makes of them: the two cafés are one name.
    const decoded = await tarStreamNames(tar);
    assert.equal(decoded.filter((n) => n === 't/caf\uFFFD').length, 2);
  });
}

test('ustar format: the prefix field is joined to the name as bytes', () => {
  const deep = Buffer.concat([b('u/'), Buffer.alloc(90, 'P'), b('\xe9')]); // apart from t/
  mkdirSync(Buffer.concat([b(`${work}/`), deep]), { recursive: true });
  writeFileSync(Buffer.concat([b(`${work}/`), deep, b('/f\xff')]), 'x');
  const file = Buffer.concat([deep, b('/f\xff')]);
  const tar = gnuTar('ustar', [deep, file], false);
  const names = [...tapNames(tar, 7).keys()].map((hex) => Buffer.from(hex, 'hex'));
  assert.ok(names.some((n) => n.equals(file)), names.map(displayName).join(', '));
  assert.ok(tar.includes(b('\xff\0')), 'the name field holds only the last part: the prefix is used');
});

test('names in messages: UTF-8 as is, other bytes and control bytes as \\xHH', () => {
  assert.equal(displayName(Buffer.from('grüße/ñ')), 'grüße/ñ');
  assert.equal(displayName(FILE_E9), 't/caf\\xe9');
  assert.equal(displayName(Buffer.from('a\nb\x1b[31m')), 'a\\x0ab\\x1b[31m');
});

test('garbage that looks like a long header is left to tar-stream to reject, whatever its size field', async () => {
  // A gzipped block of junk whose typeflag byte says pax ('x') or GNU long name ('L'): the tap used
  // to read it as one (a "pax header of 2^60 bytes" message, or a RangeError for a size of NaN)
  // before tar-stream could say it is no tar header at all. Junk from /dev/urandom hit this 4 times
  // in 256 in the truncation test.
  for (const [flag, size] of [['x', Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])], ['L', Buffer.from('zzzzzzzzzzz\0')], ['x', Buffer.from('77777777777\0')]] as const) {
    const junk = Buffer.alloc(4096, 0x41);
    junk[156] = flag.charCodeAt(0);
    size.copy(junk, 124);
    const tap = new TarHeaderTap();
    tap.push(junk);
    assert.equal(tap.error, undefined);
    const path = join(work, `junk-${flag}.tar.gz`);
    writeFileSync(path, gzipSync(junk));
    await assert.rejects(materializeRoot(path, { progress: false }), (err: unknown) => {
      assert.ok(err instanceof RambootError, String(err));
      assert.equal(err.message, `E-CORRUPT: junk-${flag}.tar.gz (gzip; offsets in its tar data): not a tar archive (no valid header) (before the first entry)`);
      return true;
    });
  }
});
