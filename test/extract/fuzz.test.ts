// Bounded fuzzing: seeded mutations (bit flips, truncations, splices, inserted bytes, hex digits
// changed inside headers) of small valid initrds, each listed and extracted under a timeout.
// Whatever the bytes, the outcome is a result or a RambootError: never a hang, never another
// exception, never a write outside the target.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RambootError } from '../../src/errors.ts';
import { extractImage } from '../../src/extract/extract-image.ts';
import { listImage } from '../../src/extract/list-image.ts';
import { arena, compress, prng, rawCpio, S } from './helpers.ts';

const CASES = Number(process.env.RAMBOOT_FUZZ_CASES ?? 300);
const SEED = Number(process.env.RAMBOOT_FUZZ_SEED ?? 20240601);
const TIMEOUT_MS = 10_000;

const early = rawCpio([
  { name: 'kernel', mode: S.dir | 0o755 },
  { name: 'kernel/x86/microcode/GenuineIntel.bin', mode: S.file | 0o644, data: 'microcode'.repeat(20) },
]);
const main = rawCpio([
  { name: '.', mode: S.dir | 0o755 },
  { name: 'bin', mode: S.dir | 0o755 },
  { name: 'bin/busybox', mode: S.file | 0o755, data: 'ELF'.repeat(100) },
  { name: 'bin/sh', mode: S.symlink | 0o777, data: 'busybox' },
  { name: 'etc/hard1', mode: S.file | 0o644, nlink: 2, ino: 77 },
  { name: 'etc/hard2', mode: S.file | 0o644, nlink: 2, ino: 77, data: 'shared' },
  { name: 'dev/console', mode: S.chr | 0o600, rmaj: 5, rmin: 1 },
  { name: 'sbin/su', mode: S.file | 0o4755, data: 'su' },
  { name: 'run/fifo', mode: S.fifo | 0o644 },
  { name: 'lib/modules/6.1/kernel/x.ko', mode: S.file | 0o644, data: Buffer.alloc(700, 1) },
]);
const BASES: Array<[string, Buffer]> = [
  ['plain', Buffer.concat([early, main])],
  ['early+gzip', Buffer.concat([early, compress(main, 'gzip')])],
  ['early+zstd', Buffer.concat([early, compress(main, 'zstd')])],
  ['xz+lz4', Buffer.concat([compress(early, 'xz'), compress(main, 'lz4')])],
];

function mutate(input: Buffer, rand: () => number): { bytes: Buffer; how: string } {
  const b = Buffer.from(input);
  const at = () => Math.floor(rand() * b.length);
  switch (Math.floor(rand() * 5)) {
    case 0: {
      const flips = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < flips; i++) b[at()]! ^= 1 << Math.floor(rand() * 8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const cut = at();
      return { bytes: b.subarray(0, cut), how: `truncated at ${cut}` };
    }
    case 2: {
      const from = at();
      const len = Math.min(1 + Math.floor(rand() * 200), b.length - from);
      const to = at();
      b.copy(b, to, from, from + len);
      return { bytes: b, how: `spliced ${len} bytes from ${from} to ${to}` };
    }
    case 3: {
      const pos = at();
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      return { bytes: Buffer.concat([b.subarray(0, pos), junk, b.subarray(pos)]), how: `${junk.length} bytes inserted at ${pos}` };
    }
    default: {
      // A hex digit inside a cpio header: sizes, modes and name lengths go wrong in plausible ways.
      const headers: number[] = [];
      for (let i = b.indexOf('0707'); i >= 0; i = b.indexOf('0707', i + 1)) headers.push(i);
      if (headers.length === 0) return { bytes: b, how: 'unchanged' };
      const h = headers[Math.floor(rand() * headers.length)]!;
      const pos = Math.min(b.length - 1, h + 6 + Math.floor(rand() * 104));
      b[pos] = '0123456789abcdefFFFF'.charCodeAt(Math.floor(rand() * 20));
      return { bytes: b, how: `header digit at ${pos}` };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

test(`fuzz: ${CASES} seeded mutations (seed ${SEED}) end in a result or a RambootError, inside the target`, async () => {
  const a = arena('rb-fuzz-');
  cleanup.push(a.base);
  mkdirSync(a.target);
  const rand = prng(SEED);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    const [base, bytes] = BASES[i % BASES.length]!;
    const { bytes: image, how } = mutate(bytes, rand);
    const what = `case ${i} (${base}, ${how})`;
    const path = join(a.inputs, 'fuzz.img');
    writeFileSync(path, image);
    const box = join(a.target, String(i));
    mkdirSync(box);
    const target = join(box, 't');
    const ops = [
      ['extract', () => extractImage({ image: path, dir: target, maxSize: 1 << 20 })],
      ['ls', () => listImage({ image: path })],
    ] as const;
    // ls reads like extract without writing: every other case is enough to keep the run short.
    for (const [op, run] of ops.slice(0, i % 2 === 0 ? 2 : 1)) {
      try {
        await withTimeout(run() as Promise<unknown>, `${op} ${what}`);
        outcomes.set(`${op} ok`, (outcomes.get(`${op} ok`) ?? 0) + 1);
      } catch (err) {
        if (!(err instanceof RambootError)) assert.fail(`${op} ${what}: ${(err as Error).stack}`);
        const id = /^([EW]-[A-Z-]+):/.exec(err.message)?.[1] ?? err.code;
        outcomes.set(`${op} ${id}`, (outcomes.get(`${op} ${id}`) ?? 0) + 1);
      }
    }
    assert.deepEqual(readdirSync(box), readdirSync(box).length ? ['t'] : [], `${what}: nothing beside its target`);
    rmSync(box, { recursive: true, force: true });
  }
  a.checkOutside();
  // The mutations reach past the first header: several outcomes, errors and successes both.
  const kinds = [...outcomes.keys()];
  assert.ok(kinds.includes('extract ok') && kinds.some((k) => k.startsWith('extract E-')), JSON.stringify(Object.fromEntries(outcomes)));
  console.log(`# fuzz outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
});
