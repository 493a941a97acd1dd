// issue 9 item 8: ls, ls --json and diff stream, so memory does not grow with the number of
// entries. A 300,000-entry initrd (cheap to make: about 40 MB of cpio, zstd'ed) is listed and
// diffed in a child process whose peak RSS (getrusage maxrss, read by /usr/bin/time -f %M)
// must stay under a bound that collecting every entry first exceeds (measured on these
// images: the code before streaming peaked at 410 MB for ls, 449 MB for ls --json and 370 MB
// for diff; streaming at 125, 180 and 140 MB).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAGIC_NEWC, pad4, renderHeader } from '../../src/cpio/newc-format.ts';
import { arena, compress } from './helpers.ts';

const a = arena('rb-bigls-');
after(() => rmSync(a.base, { recursive: true, force: true }));

const ENTRIES = 300_000;
/** Peak RSS allowed for the child (node + tsx alone is about 100 MB). */
const BOUND_KB = 250 * 1024;

/** A newc archive of `n` small files, built directly (encodeNewc would hold n objects). */
function manyFiles(n: number, salt: string): Buffer {
  const parts: Buffer[] = [];
  const fields = (size: number, namesize: number, ino: number) => ({
    c_ino: ino, c_mode: 0o100644, c_uid: 0, c_gid: 0, c_nlink: 1, c_mtime: 0, c_filesize: size,
    c_maj: 0, c_min: 0, c_rmaj: 0, c_rmin: 0, c_namesize: namesize, c_chksum: 0,
  });
  for (let i = 0; i < n; i++) {
    const name = Buffer.from(`usr/share/d${i % 1000}/some-longish-file-name-${i}`);
    const data = Buffer.from(i % 10 === 0 ? `${salt}${i}` : `${i}`);
    parts.push(renderHeader(MAGIC_NEWC, fields(data.length, name.length + 1, i + 1), name), data, Buffer.alloc(pad4(data.length)));
  }
  const trailer = Buffer.from('TRAILER!!!');
  parts.push(renderHeader(MAGIC_NEWC, fields(0, trailer.length + 1, 0), trailer));
  return Buffer.concat(parts);
}

const A = join(a.inputs, 'a.img');
const B = join(a.inputs, 'b.img');
writeFileSync(A, compress(manyFiles(ENTRIES, 'a'), 'zstd'));
writeFileSync(B, compress(manyFiles(ENTRIES, 'b'), 'zstd'));

/** Runs the CLI under /usr/bin/time; returns its peak RSS in KiB and how much it printed. */
function measured(...args: string[]): { kb: number; bytes: number; tail: string } {
  const out = join(a.inputs, 'out.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', `"$0" --import tsx src/cli/main.ts "$@" > ${out}`, process.execPath, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const kb = Number(r.stderr.trim().split('\n').pop());
  const text = spawnSync('tail', ['-c', '300', out], { encoding: 'utf8' }).stdout;
  const bytes = Number(spawnSync('stat', ['-c', '%s', out], { encoding: 'utf8' }).stdout);
  return { kb, bytes, tail: text };
}

test(`ls, ls --json and diff of ${ENTRIES} entries stay under ${BOUND_KB / 1024} MB`, { skip: !existsSync('/usr/bin/time') && 'needs /usr/bin/time' }, () => {
  const ls = measured('ls', A);
  assert.match(ls.tail, new RegExp(`1 segment, ${ENTRIES} entries\\n$`));
  assert.ok(ls.kb < BOUND_KB, `ls peaked at ${ls.kb} KiB`);
  const json = measured('ls', '--json', A);
  assert.match(json.tail, /\n\],"segments":\[.*\],"warnings":\[\]\}\n$/s);
  assert.ok(json.kb < BOUND_KB, `ls --json peaked at ${json.kb} KiB`);
  const diff = measured('diff', A, B);
  assert.match(diff.tail, new RegExp(`0 added, 0 removed, ${ENTRIES / 10} changed\\n$`));
  assert.ok(diff.kb < BOUND_KB, `diff peaked at ${diff.kb} KiB`);
  console.log(`# peak RSS: ls ${ls.kb} KiB, ls --json ${json.kb} KiB, diff ${diff.kb} KiB`);
});
