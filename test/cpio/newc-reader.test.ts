// The newc push parser: round trips, any chunking gives the same result, multi-segment
// initrds, stopping at a compressed segment, and every way an archive can be cut short or
// corrupt gives one line with the byte offset (never a hang, never a silent stop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeNewc } from '../../src/cpio/newc-writer.ts';
import { decodeNewc, NewcReader, readNewc, type NewcHeader } from '../../src/cpio/newc-reader.ts';
import type { CpioEntry } from '../../src/cpio/entry.ts';
import { RambootError } from '../../src/errors.ts';

const base = { uid: 0, gid: 0, mtime: 1_700_000_000 };
const sample: CpioEntry[] = [
  { ...base, path: '.', type: 'dir', mode: 0o755 },
  { ...base, path: 'bin', type: 'dir', mode: 0o755, nlink: 3 },
  { ...base, path: 'bin/busybox', type: 'file', mode: 0o4755, uid: 1000, gid: 50, data: Buffer.alloc(2000, 0xab) },
  { ...base, path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: 'busybox' },
  { ...base, path: 'dev/console', type: 'chardev', mode: 0o600, rdevMajor: 5, rdevMinor: 1 },
  { ...base, path: 'dev/sda1', type: 'blockdev', mode: 0o660, rdevMajor: 8, rdevMinor: 1 },
  { ...base, path: 'etc/grüße/ñ.txt', type: 'file', mode: 0, mtime: 0, data: Buffer.from('grüß dich\n') },
  { ...base, path: 'empty', type: 'file', mode: 0o644 },
  { ...base, path: 'run/initctl', type: 'fifo', mode: 0o600 },
  { ...base, path: 'run/sock', type: 'socket', mode: 0o755 },
  { ...base, path: 'odd', type: 'file', mode: 0o600, data: Buffer.from('abc') },
];
const archive = encodeNewc(sample);

/** Everything the callbacks saw, with each entry's data joined (chunk boundaries may differ). */
function feed(input: Buffer, chunkSizes: () => number, maxChunk = Infinity): { log: unknown[]; reader: NewcReader } {
  const log: unknown[] = [];
  let data: Buffer[] = [];
  const reader = new NewcReader({
    onEntry: (h) => log.push(['entry', { ...h }]),
    onData: (chunk, h) => {
      // Only a symlink target (at most PATH_MAX) is gathered before it is passed on.
      assert.ok(chunk.length <= maxChunk || h.type === 'symlink', 'data is passed on, not gathered');
      assert.ok(chunk.length > 0);
      data.push(Buffer.from(chunk));
      assert.equal(h.path, (log.at(-1) as [string, NewcHeader])[1].path);
    },
    onEntryEnd: (h) => {
      log.push(['end', h.path, Buffer.concat(data).toString('hex')]);
      data = [];
    },
    onTrailer: (offset) => log.push(['trailer', offset]),
  });
  for (let i = 0; i < input.length; ) {
    const n = Math.max(1, chunkSizes());
    reader.push(input.subarray(i, i + n));
    i += n;
  }
  reader.end();
  return { log, reader };
}

function random(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

test('round trip: every field and the data come back as written', () => {
  const entries = decodeNewc(archive);
  assert.equal(entries.length, sample.length);
  let offset = 0;
  sample.forEach((want, i) => {
    const got = entries[i]!;
    assert.equal(got.path, want.path);
    assert.equal(got.type, want.type);
    assert.equal(got.mode, want.mode);
    assert.deepEqual([got.uid, got.gid, got.mtime], [want.uid, want.gid, want.mtime]);
    assert.equal(got.nlink, want.nlink ?? (want.type === 'dir' ? 2 : 1));
    assert.deepEqual([got.rdevMajor, got.rdevMinor], [want.rdevMajor ?? 0, want.rdevMinor ?? 0]);
    assert.deepEqual([got.ino, got.devMajor, got.devMinor], [i + 1, 0, 0]);
    assert.equal(got.linkTarget, want.linkTarget);
    const data = want.data ?? Buffer.from(want.linkTarget ?? '');
    assert.deepEqual(got.data, data);
    assert.equal(got.size, data.length);
    assert.ok(got.offset >= offset && got.offset % 4 === 0);
    assert.equal(archive.toString('latin1', got.offset, got.offset + 6), '070701');
    offset = got.offset + 1;
    assert.equal(got.checksum, undefined, '070701 has no checksum');
  });
});

test('one byte at a time and random chunks give exactly the whole-buffer result', () => {
  const whole = feed(archive, () => archive.length).log;
  assert.equal(whole.filter((e) => (e as unknown[])[0] === 'entry').length, sample.length);
  assert.deepEqual(feed(archive, () => 1, 1).log, whole);
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = random(seed);
    assert.deepEqual(feed(archive, () => Math.floor(rnd() * 300)).log, whole, `seed ${seed}`);
  }
});

test('memory is bounded: a huge declared size is streamed, not allocated', () => {
  const big = encodeNewc([{ ...base, path: 'big', type: 'file', mode: 0o644, data: Buffer.alloc(1 << 20, 1) }]);
  const { log } = feed(big, () => 4096, 4096);
  assert.equal((log[1] as string[])[2]!.length, 2 << 20);
  // A header claiming 4 GiB - 1 followed by a few bytes: a truncation error, no 4 GiB buffer.
  const liar = Buffer.from(encodeNewc([{ ...base, path: 'big', type: 'file', mode: 0o644, data: Buffer.from('abcd') }]));
  liar.write('FFFFFFFF', 6 + 6 * 8, 'latin1');
  assert.throws(() => decodeNewc(liar), /inside the data of big \(expected 4294967295 bytes, got 128\)/);
});

test('multi-segment: archives concatenated with NUL padding are all read, with offsets into the whole input', () => {
  const second = encodeNewc([{ ...base, path: 'kernel/x86/microcode/GenuineIntel.bin', type: 'file', mode: 0o644, data: Buffer.from('ucode') }]);
  const input = Buffer.concat([second, Buffer.alloc(512 - (second.length % 512)), archive, Buffer.alloc(3)]);
  const entries = decodeNewc(input);
  assert.deepEqual(entries.map((e) => e.path), ['kernel/x86/microcode/GenuineIntel.bin', ...sample.map((e) => e.path)]);
  assert.equal(entries[1]!.offset, 512, 'the second archive starts after the padding');
  const { log, reader } = feed(input, () => 7);
  assert.equal(reader.archives, 2);
  assert.deepEqual(log.filter((e) => (e as unknown[])[0] === 'trailer').map((e) => (e as number[])[1]), [second.length - 124, 512 + archive.length - 124]);
  assert.deepEqual(feed(input, () => 1).log, log);
});

test('stops at a compressed segment after a trailer and reports where it begins', () => {
  const compressed = gzipSync(encodeNewc([{ ...base, path: 'late', type: 'file', mode: 0o644, data: Buffer.from('z') }]));
  const input = Buffer.concat([archive, Buffer.alloc(8), compressed]);
  const stopAt = archive.length + 8;
  for (const size of [1, 3, 64, input.length]) {
    const { reader, log } = feed(input, () => size);
    assert.equal(reader.stoppedAt, stopAt, `chunks of ${size}`);
    assert.equal(reader.offset, stopAt);
    assert.equal(log.filter((e) => (e as unknown[])[0] === 'entry').length, sample.length);
  }
  assert.throws(() => decodeNewc(input), new RegExp(`non-cpio data at byte ${stopAt} after the last TRAILER!!!`));
  // The caller decompresses from there and reads on with a reader that knows the offset.
  const next: NewcHeader[] = [];
  const reader = new NewcReader({ onEntry: (h) => next.push(h) }, { offset: stopAt });
  reader.push(gunzipSync(input.subarray(stopAt)));
  reader.end();
  assert.deepEqual([next[0]?.path, next[0]?.offset], ['late', stopAt]);

  // Text that starts like a magic but is not one is foreign too, even split across chunks.
  for (const tail of ['0', '0707', '070700', '070707', 'x']) {
    const odd = Buffer.concat([archive, Buffer.from(tail + 'rest of something else')]);
    for (const size of [1, 2, 1000]) assert.equal(feed(odd, () => size).reader.stoppedAt, archive.length, `${tail} in chunks of ${size}`);
  }
});

test('readNewc reads a stream and stops at foreign data', async () => {
  const input = Buffer.concat([archive, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3])]); // a zstd frame
  const chunks = [];
  for (let i = 0; i < input.length; i += 100) chunks.push(input.subarray(i, i + 100));
  const paths: string[] = [];
  const result = await readNewc(Readable.from(chunks), { onEntry: (h) => paths.push(h.path) });
  assert.deepEqual(result, { archives: 1, stoppedAt: archive.length, bytes: archive.length });
  assert.deepEqual(paths, sample.map((e) => e.path));
});

/** The error decoding `input` gives, fed whole and byte by byte (they must agree). */
function errorOf(input: Buffer): string {
  let whole = '';
  try {
    decodeNewc(input);
  } catch (err) {
    assert.ok(err instanceof RambootError && err.code === 'input', String(err));
    whole = err.message;
  }
  assert.ok(whole, `no error for ${input.length} bytes`);
  assert.throws(() => feed(input, () => 1), (err: Error) => err.message === whole);
  return whole;
}

test('truncation at every byte gives a one-line error naming the offset and what was cut', () => {
  const small = encodeNewc([
    { ...base, path: 'd', type: 'dir', mode: 0o755 },
    { ...base, path: 'bin/busybox', type: 'file', mode: 0o755, data: Buffer.alloc(2000, 1) },
    { ...base, path: 'bin/sh', type: 'symlink', mode: 0o777, linkTarget: 'busybox' },
  ]);
  const [, bb, sh] = decodeNewc(small);
  const bbName = bb!.offset + 110; // 'bin/busybox\0' is 12 bytes, + 2 padding to reach 124
  const bbData = bbName + 14;
  const shTarget = sh!.offset + 120; // 110 + 'bin/sh\0' + 3 padding
  assert.equal(errorOf(Buffer.alloc(0)), 'no cpio archive: the input is empty');
  for (let cut = 1; cut < small.length; cut++) {
    const message = errorOf(small.subarray(0, cut));
    assert.match(message, new RegExp(`^cpio truncated at byte ${cut}[ :]`), message);
    assert.ok(!message.includes('\n'));
    if (cut > bb!.offset && cut < bbName) {
      const field = cut - bb!.offset < 6 ? 'the magic' : `field ${['c_ino', 'c_mode', 'c_uid', 'c_gid', 'c_nlink', 'c_mtime', 'c_filesize', 'c_maj', 'c_min', 'c_rmaj', 'c_rmin', 'c_namesize', 'c_chksum'][Math.floor((cut - bb!.offset - 6) / 8)]}`;
      assert.equal(message, `cpio truncated at byte ${cut} inside ${field} of the header at byte ${bb!.offset} (expected 110 bytes, got ${cut - bb!.offset})`);
    }
    if (cut > bbName && cut < bbName + 12) {
      assert.equal(message, `cpio truncated at byte ${cut} inside the name of the entry at byte ${bb!.offset} (expected 12 bytes, got ${cut - bbName})`);
    }
    if (cut > bbData && cut < bbData + 2000) {
      assert.equal(message, `cpio truncated at byte ${cut} inside the data of bin/busybox (expected 2000 bytes, got ${cut - bbData})`);
    }
    if (cut > shTarget && cut < shTarget + 7) assert.match(message, /inside the target of symlink bin\/sh \(expected 7 bytes/);
    if (cut === shTarget + 7) assert.match(message, /inside the padding after the target of symlink bin\/sh/);
  }
  assert.equal(errorOf(small.subarray(0, bbData + 766)), `cpio truncated at byte ${bbData + 766} inside the data of bin/busybox (expected 2000 bytes, got 766)`);
  assert.equal(errorOf(small.subarray(0, small.length - 124)), `cpio truncated at byte ${small.length - 124}: the archive ends without TRAILER!!!`);
  assert.match(errorOf(small.subarray(0, small.length - 1)), /inside the padding after the name of the entry at byte \d+/);
  const odd = encodeNewc([{ ...base, path: 'odd', type: 'file', mode: 0o600, data: Buffer.from('abc') }]);
  assert.match(errorOf(odd.subarray(0, 116 + 3)) /* 110 + "odd\0" + 2 padding, 3 data bytes */, /inside the padding after the data of odd/);
  // A truncated second segment is truncation too, not the end of the first.
  assert.match(errorOf(Buffer.concat([small, small.subarray(0, 50)])), new RegExp(`at byte ${small.length + 50} inside field c_mtime of the header at byte ${small.length}`));
});

test('corruption is an error naming the byte offset', () => {
  const at = (buf: Buffer, offset: number, text: string) => {
    const copy = Buffer.from(buf);
    copy.write(text, offset, 'latin1');
    return copy;
  };
  const second = decodeNewc(archive)[1]!.offset;
  assert.match(errorOf(Buffer.from('hello, world')), /^bad cpio magic at byte 0: expected 070701 or 070702, found "hello,"$/);
  assert.match(errorOf(at(archive, second, 'x')), new RegExp(`^bad cpio magic at byte ${second}: .*found "x70701"`));
  assert.throws(() => decodeNewc(at(archive, 0, '070707')), (err: RambootError) => /odc/.test(err.hint ?? ''));
  assert.equal(errorOf(at(archive, second + 6 + 6 * 8, '0000000G')), `bad cpio header at byte ${second}: c_filesize is "0000000G", not 8 hex digits`);
  assert.match(errorOf(at(archive, second + 6 + 11 * 8, '00000000')), /name size 0 is outside 2\.\.4096/);
  assert.match(errorOf(at(archive, second + 6 + 11 * 8, '00002000')), /name size 8192 is outside/);
  assert.match(errorOf(at(archive, second + 110 + 3, '!')), /bad cpio name at byte \d+: a name of 3 bytes must end in its only NUL/);
  assert.match(errorOf(at(archive, second + 6 + 8, '000F01ED')), /mode 0o\d+ has no known file type/);
  const trailer = archive.length - 124;
  assert.match(errorOf(at(archive, trailer + 6 + 6 * 8, '00000004')), new RegExp(`bad cpio trailer at byte ${trailer}: its size is 4`));

  // A failed reader stays failed instead of resynchronising somewhere random.
  const reader = new NewcReader();
  assert.throws(() => reader.push(Buffer.from('nonsense')), /bad cpio magic/);
  assert.throws(() => reader.push(archive), /bad cpio magic at byte 0/);
});

test('070702: the checksum of regular files is verified', () => {
  // Turn our 070701 archive into 070702 by hand: c_chksum = 32-bit sum of the data bytes.
  const crc = Buffer.from(archive);
  for (const e of decodeNewc(archive)) {
    crc.write('070702', e.offset, 'latin1');
    const sum = e.type === 'file' ? e.data.reduce((s, b) => s + b, 0) : 0;
    crc.write(sum.toString(16).toUpperCase().padStart(8, '0'), e.offset + 6 + 12 * 8, 'latin1');
  }
  const entries = decodeNewc(crc);
  const busybox = entries.find((e) => e.path === 'bin/busybox')!;
  assert.equal(busybox.checksum, 2000 * 0xab); // 0x537f0
  assert.deepEqual(busybox.data, sample[2]!.data);
  assert.deepEqual(feed(crc, () => 1).log.length, feed(crc, () => crc.length).log.length);

  const bad = Buffer.from(crc);
  bad[busybox.offset + 110 + 12 + 1000] = 0xac; // one data byte off by one
  assert.equal(
    errorOf(bad),
    `cpio checksum mismatch in bin/busybox (entry at byte ${busybox.offset}): header says 0x000537f0, data sums to 0x000537f1`,
  );
});
