// The newc writer on its own: the byte layout the kernel's buffer-format.rst asks for, values
// kept exactly as given (the things cpio-stream got wrong), everything newc cannot hold
// refused, files streamed from disk checked for size, backpressure and dead sinks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { encodeNewc, writeNewc } from '../../src/cpio/newc-writer.ts';
import type { CpioEntry } from '../../src/cpio/entry.ts';
import { RambootError } from '../../src/errors.ts';

const FIELDS = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'maj', 'min', 'rmaj', 'rmin', 'namesize', 'chksum'] as const;
type RawHeader = Record<(typeof FIELDS)[number], number> & { name: string; at: number; data: Buffer };

/** Walks the archive by hand (not with our reader) and returns every header's raw fields. */
function rawHeaders(buf: Buffer): RawHeader[] {
  const out: RawHeader[] = [];
  let at = 0;
  for (;;) {
    assert.equal(at % 4, 0, `header at ${at} is 4-aligned`);
    assert.equal(buf.toString('latin1', at, at + 6), '070701');
    const h = {} as RawHeader;
    FIELDS.forEach((f, i) => {
      const text = buf.toString('latin1', at + 6 + i * 8, at + 14 + i * 8);
      assert.match(text, /^[0-9A-F]{8}$/, 'upper-case hex as GNU cpio writes it');
      h[f] = parseInt(text, 16);
    });
    const nameEnd = at + 110 + h.namesize - 1;
    assert.equal(buf[nameEnd], 0, 'the name ends in a NUL counted in c_namesize');
    const name = buf.toString('utf8', at + 110, nameEnd);
    const dataAt = Math.ceil((at + 110 + h.namesize) / 4) * 4;
    assert.ok(buf.subarray(nameEnd, dataAt).every((b) => b === 0), 'name padding is NUL');
    const data = buf.subarray(dataAt, dataAt + h.filesize);
    const next = Math.ceil((dataAt + h.filesize) / 4) * 4;
    assert.ok(buf.subarray(dataAt + h.filesize, next).every((b) => b === 0), 'data padding is NUL');
    out.push({ ...h, name, at, data });
    if (name === 'TRAILER!!!') {
      assert.equal(next, buf.length, 'the archive ends right after the padded trailer');
      return out;
    }
    at = next;
  }
}

const base = { uid: 0, gid: 0, mtime: 1_700_000_000 };

test('layout: 110-byte header, name+NUL padded to 4, data padded to 4, then TRAILER!!! with nlink 1', () => {
  const buf = encodeNewc([{ ...base, path: 'a', type: 'file', mode: 0o644, data: Buffer.from('hello') }]);
  // 110 + "a\0" = 112; 5 data bytes + 3 padding = 120; trailer 110 + 11 = 121, padded to 124.
  assert.equal(buf.length, 244);
  assert.equal(buf.toString('latin1', 0, 6), '070701');
  assert.equal(buf.toString('latin1', 112, 120), 'hello\0\0\0');
  const [file, trailer] = rawHeaders(buf);
  assert.deepEqual([file!.ino, file!.mode, file!.filesize, file!.namesize], [1, 0o100644, 5, 2]);
  assert.deepEqual(
    [trailer!.name, trailer!.nlink, trailer!.ino, trailer!.mode, trailer!.filesize, trailer!.namesize],
    ['TRAILER!!!', 1, 0, 0, 0, 11],
  );
});

test('an empty entry list is just the trailer', () => {
  const buf = encodeNewc([]);
  assert.equal(buf.length, 124);
  assert.equal(rawHeaders(buf).length, 1);
});

test('values are written as given: mode 0, mtime 0, rdev 1:3, uid/gid, UTF-8 name bytes, inodes from 1', () => {
  const buf = encodeNewc([
    { ...base, path: '.', type: 'dir', mode: 0o755 },
    { path: 'secret', type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, data: Buffer.from('x') },
    { ...base, path: 'dev/null', type: 'chardev', mode: 0o666, rdevMajor: 1, rdevMinor: 3 },
    { ...base, path: 'dev/sda', type: 'blockdev', mode: 0o660, rdevMajor: 8, rdevMinor: 0, nlink: 3 },
    { ...base, path: 'etc/grüße/ñ.txt', type: 'file', mode: 0o640, uid: 1000, gid: 0xffff_fffe, mtime: 0xffff_ffff, data: Buffer.from('ü') },
    { ...base, path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: 'busybox' },
    { ...base, path: 'run/fifo', type: 'fifo', mode: 0o600 },
    { ...base, path: 'run/sock', type: 'socket', mode: 0o755 },
  ]);
  const h = rawHeaders(buf);
  assert.deepEqual(h.map((x) => x.ino), [1, 2, 3, 4, 5, 6, 7, 8, 0]);
  assert.deepEqual([h[0]!.mode, h[0]!.nlink], [0o040755, 2], 'a directory defaults to nlink 2');
  assert.deepEqual([h[1]!.mode, h[1]!.mtime, h[1]!.nlink], [0o100000, 0, 1], 'mode 0 and mtime 0 are kept');
  assert.deepEqual([h[2]!.mode, h[2]!.rmaj, h[2]!.rmin, h[2]!.maj, h[2]!.min, h[2]!.filesize], [0o020666, 1, 3, 0, 0, 0]);
  assert.deepEqual([h[3]!.mode, h[3]!.rmaj, h[3]!.rmin, h[3]!.nlink], [0o060660, 8, 0, 3]);
  const utf8 = h[4]!;
  assert.equal(utf8.name, 'etc/grüße/ñ.txt');
  assert.equal(utf8.namesize, Buffer.byteLength('etc/grüße/ñ.txt') + 1, 'c_namesize counts bytes, not characters');
  assert.notEqual(utf8.namesize, 'etc/grüße/ñ.txt'.length + 1);
  assert.deepEqual([utf8.uid, utf8.gid, utf8.mtime, utf8.filesize], [1000, 0xffff_fffe, 0xffff_ffff, 2]);
  assert.deepEqual([h[5]!.mode, h[5]!.data.toString()], [0o120777, 'busybox'], 'the link target is the data, no NUL');
  assert.equal(h[6]!.mode, 0o010600);
  assert.equal(h[7]!.mode, 0o140755);
});

test('deterministic: the same entries give the same bytes, from encodeNewc and writeNewc alike', async () => {
  const entries = (): CpioEntry[] => [
    { ...base, path: 'etc', type: 'dir', mode: 0o755 },
    { ...base, path: 'etc/hostname', type: 'file', mode: 0o644, data: Buffer.from('box\n') },
    { ...base, path: 'big', type: 'file', mode: 0o644, data: Buffer.alloc(300_000, 7) },
  ];
  const a = encodeNewc(entries());
  assert.deepEqual(encodeNewc(entries()), a);
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  const result = await writeNewc(entries(), sink);
  assert.deepEqual(Buffer.concat(chunks), a);
  assert.deepEqual(result, { bytes: a.length, entries: 3 });
  assert.ok(sink.writableFinished, 'the sink was ended');
});

test('refused with a one-line input error naming the entry: what newc or the kernel cannot hold', () => {
  const f = { ...base, path: 'f', type: 'file' as const, mode: 0o644 };
  const cases: Array<[string, CpioEntry, RegExp]> = [
    ['negative mtime', { ...f, mtime: -1 }, /mtime -1 does not fit/],
    ['mtime past 2106', { ...f, mtime: 2 ** 32 }, /mtime 4294967296 does not fit/],
    ['fractional mtime', { ...f, mtime: 1.5 }, /mtime 1.5/],
    ['uid over 32 bits', { ...f, uid: 2 ** 32 }, /uid/],
    ['type bits in mode', { ...f, mode: 0o100644 }, /not permission bits/],
    ['absolute path', { ...f, path: '/bin/sh' }, /relative/],
    ['empty path', { ...f, path: '' }, /relative and not empty/],
    ['dot-dot', { ...f, path: 'a/../b' }, /'\.\.'/],
    ['NUL in path', { ...f, path: 'a\0b' }, /NUL/],
    ['trailer name', { ...f, path: 'TRAILER!!!' }, /end-of-archive/],
    ['name over PATH_MAX', { ...f, path: 'x'.repeat(4096) }, /4097 bytes/],
    ['device without numbers', { ...f, type: 'chardev' }, /rdevMajor undefined/],
    ['rdev on a file', { ...f, rdevMajor: 1, rdevMinor: 3 }, /no device number/],
    ['data on a dir', { ...f, type: 'dir', data: Buffer.from('x') }, /no file content/],
    ['target on a file', { ...f, linkTarget: 'x' }, /no link target/],
    ['symlink without target', { ...f, type: 'symlink' }, /non-empty target/],
    ['data and source', { ...f, data: Buffer.alloc(1), source: { path: '/dev/null', size: 1 } }, /not both/],
  ];
  for (const [what, entry, message] of cases) {
    assert.throws(
      () => encodeNewc([entry]),
      (err: unknown) => err instanceof RambootError && err.code === 'input' && message.test(err.message) && !err.message.includes('\n'),
      what,
    );
  }
});

test('a file of 4 GiB or more is refused (newc has a 32-bit c_filesize); 4 GiB - 1 is accepted', async () => {
  const huge: CpioEntry = { ...base, path: 'huge.img', type: 'file', mode: 0o644, source: { path: '/nonexistent/huge.img', size: 2 ** 32 } };
  await assert.rejects(writeNewc([huge], new Writable({ write: (_c, _e, cb) => cb() })), (err: RambootError) => {
    assert.equal(err.code, 'input');
    assert.match(err.message, /'huge\.img': 4294967296 bytes do not fit newc's 32-bit c_filesize/);
    return true;
  });
  // At 0xFFFFFFFF the size check passes, so the failure is the missing file (an io error).
  const max = { ...huge, source: { path: '/nonexistent/huge.img', size: 0xffff_ffff } };
  await assert.rejects(writeNewc([max], new Writable({ write: (_c, _e, cb) => cb() })), (err: RambootError) => err.code === 'io');
});

test('source files are streamed and checked against the declared size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-cpio-src-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = Buffer.alloc(2_500_000);
  for (let i = 0; i < content.length; i++) content[i] = (i * 31) & 0xff;
  writeFileSync(join(dir, 'blob'), content);
  writeFileSync(join(dir, 'empty'), '');
  const entries = (blobSize: number): CpioEntry[] => [
    { ...base, path: 'blob', type: 'file', mode: 0o644, source: { path: join(dir, 'blob'), size: blobSize } },
    { ...base, path: 'empty', type: 'file', mode: 0o644, source: { path: join(dir, 'empty'), size: 0 } },
  ];
  const chunks: Buffer[] = [];
  await writeNewc(entries(content.length), new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
  const inMemory = encodeNewc([
    { ...base, path: 'blob', type: 'file', mode: 0o644, data: content },
    { ...base, path: 'empty', type: 'file', mode: 0o644, data: Buffer.alloc(0) },
  ]);
  assert.deepEqual(Buffer.concat(chunks), inMemory, 'streamed bytes equal the in-memory encoding');
  assert.deepEqual(encodeNewc(entries(content.length)), inMemory, 'encodeNewc reads sources too');

  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  for (const size of [content.length - 1, content.length + 1]) {
    await assert.rejects(writeNewc(entries(size), sink()), /blob changed while packing cpio entry 'blob': expected \d+ bytes, found 2500000/);
    assert.throws(() => encodeNewc(entries(size)), /changed while packing/);
  }
  // stat says 0 bytes but reading gives more: caught while reading, not only by stat.
  const proc: CpioEntry = { ...base, path: 'status', type: 'file', mode: 0o444, source: { path: '/proc/self/status', size: 0 } };
  await assert.rejects(writeNewc([proc], sink()), /status changed while packing cpio entry 'status': expected 0 bytes, found at least 1/);
});

test('honours backpressure: a slow sink never holds much more than its high-water mark', async () => {
  const entries: CpioEntry[] = [];
  for (let i = 0; i < 40; i++) entries.push({ ...base, path: `f${i}`, type: 'file', mode: 0o644, data: Buffer.alloc(200_000, i) });
  for (let i = 0; i < 2000; i++) entries.push({ ...base, path: `small/${i}`, type: 'file', mode: 0o644, data: Buffer.from(String(i)) });
  const chunks: Buffer[] = [];
  let maxQueued = 0;
  let refused = 0;
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      setImmediate(cb);
    },
  });
  const write = sink.write.bind(sink);
  sink.write = ((chunk: Buffer) => {
    const ok = write(chunk);
    maxQueued = Math.max(maxQueued, sink.writableLength);
    if (!ok) refused++;
    return ok;
  }) as typeof sink.write;
  async function* lazily() {
    yield* entries; // an AsyncIterable works as well as an array
  }
  await writeNewc(lazily(), sink);
  assert.deepEqual(Buffer.concat(chunks), encodeNewc(entries));
  assert.ok(refused > 10, `the sink pushed back (${refused} times)`);
  assert.ok(maxQueued < 600_000, `at most one batch or file queued beyond the mark, saw ${maxQueued} of 8 MB`);
});

test('a sink that fails or closes mid-archive rejects the write instead of hanging', async () => {
  const entries: CpioEntry[] = [];
  for (let i = 0; i < 20; i++) entries.push({ ...base, path: `f${i}`, type: 'file', mode: 0o644, data: Buffer.alloc(100_000) });
  let seen = 0;
  const failing = new Writable({
    highWaterMark: 1024,
    write(c: Buffer, _e, cb) {
      seen += c.length;
      setImmediate(() => cb(seen > 300_000 ? new Error('disk full') : null));
    },
  });
  await assert.rejects(writeNewc(entries, failing), /disk full/);
  assert.ok(failing.destroyed, 'the sink is destroyed so its consumer stops too');

  // Closed without an error (a consumer that went away): its 'drain' never comes.
  let taken = 0;
  const closing: Writable = new Writable({
    highWaterMark: 1024,
    write(c: Buffer, _e, cb) {
      taken += c.length;
      if (taken > 300_000) closing.destroy();
      else setImmediate(cb);
    },
  });
  await assert.rejects(writeNewc(entries, closing), /closed before the archive was complete/);
});

test('{ end: false } leaves the sink open for the next segment', async () => {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  const one: CpioEntry[] = [{ ...base, path: 'kernel', type: 'dir', mode: 0o755 }];
  await writeNewc(one, sink, { end: false });
  assert.equal(sink.writableEnded, false);
  await writeNewc(one, sink);
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat([encodeNewc(one), encodeNewc(one)]));
});
