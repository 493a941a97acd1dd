// A tarball root whose names or symlink targets are not UTF-8 (issue 9 item 7: bytes stay
// bytes). The tap reads them byte-exact (header-tap.test.ts); what reaches the disk must be
// those bytes or nothing: a one-line refusal is acceptable, a name or target quietly turned
// into U+FFFD (as tar-stream's decoding did to symlink targets) is not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { materializeRoot, type MaterializedRoot } from '../../src/rootfs/tar-root.ts';
import { RambootError } from '../../src/errors.ts';

const b = (text: string) => Buffer.from(text, 'latin1'); // one byte per char
const NAME = b('caf\xe9'); // Latin-1 "café"
const TARGET = b('t\xff\xfe');

let work: string;
let scratch: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-nonutf8-'));
  scratch = join(work, 'scratch');
  mkdirSync(scratch);
  process.env.RAMBOOT_TMPDIR = scratch;
});
after(() => {
  delete process.env.RAMBOOT_TMPDIR;
  rmSync(work, { recursive: true, force: true });
});

/** A GNU tar (pax format: names in pax path records) of one directory holding `make`'s files. */
function tarOf(name: string, make: (dir: Buffer) => void): string {
  const src = join(work, `${name}.src`);
  mkdirSync(src);
  make(b(src));
  const out = join(work, `${name}.tar`);
  execFileSync('tar', ['--format=pax', '--numeric-owner', '-cf', out, '-C', src, '.']);
  return out;
}

const under = (dir: Buffer, name: Buffer) => Buffer.concat([dir, b('/'), name]);

/** The root, or undefined when it was refused with one E-CORRUPT line naming the entry. */
async function unpackOrRefuse(tar: string, shown: string): Promise<MaterializedRoot | undefined> {
  try {
    return await materializeRoot(tar, { progress: false });
  } catch (err) {
    assert.ok(err instanceof RambootError, String(err));
    assert.match(err.message, /^E-CORRUPT: /);
    assert.ok(err.message.includes(shown), err.message);
    assert.ok(!err.message.includes('\n'));
    assert.deepEqual(readdirSync(scratch), [], 'temp dirs left behind');
    return undefined;
  }
}

test('a file name that is not UTF-8 comes out byte-exact or is refused, never mangled', async () => {
  const tar = tarOf('name', (dir) => writeFileSync(under(dir, NAME), 'x'));
  const root = await unpackOrRefuse(tar, "entry './caf\\xe9'");
  if (!root) return;
  try {
    assert.deepEqual(readdirSync(root.dir, { encoding: 'buffer' }), [NAME]);
  } finally {
    await root.cleanup();
  }
});

test('a symlink target that is not UTF-8 comes out byte-exact or is refused, never mangled', async () => {
  const tar = tarOf('target', (dir) => symlinkSync(TARGET, under(dir, b('s'))));
  const root = await unpackOrRefuse(tar, "entry './s'");
  if (!root) return;
  try {
    assert.ok(readlinkSync(join(root.dir, 's'), { encoding: 'buffer' }).equals(TARGET));
  } finally {
    await root.cleanup();
  }
});

test('names and symlink targets that are not UTF-8 unpack byte-exact', async () => {
  const tar = tarOf('exact', (dir) => {
    writeFileSync(under(dir, NAME), 'e9');
    writeFileSync(under(dir, b('caf\xff')), 'ff'); // the two collapsed into one U+FFFD name
    symlinkSync(TARGET, under(dir, b('s\xe9')));
  });
  const root = await materializeRoot(tar, { progress: false });
  try {
    const names = readdirSync(root.dir, { encoding: 'buffer' }).map((n) => n.toString('hex')).sort();
    assert.deepEqual(names, [NAME, b('caf\xff'), b('s\xe9')].map((n) => n.toString('hex')).sort());
    assert.equal(readFileSync(under(b(root.dir), b('caf\xff')), 'utf8'), 'ff');
    assert.ok(readlinkSync(under(b(root.dir), b('s\xe9')), { encoding: 'buffer' }).equals(TARGET));
  } finally {
    await root.cleanup();
  }
});
