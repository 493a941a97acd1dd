// Fuzz (issue 9): tarball roots with symlinks at every position of every path the initrd build
// reads (the kernel, the modules dir, a module, modules.builtin, firmware, a hook's file):
// absolute and relative, chains, loops, `..` escapes, links to a host canary tree that mirrors
// the root. Each case runs the real path (materializeRoot -> findKernel -> buildInitrd) and must
// end in one of two ways: a one-line ramboot error naming the entry, or an initrd (and kernel
// choice) with no byte of the canary in it. Links that stay inside the root must build. Nothing
// outside the test's temp dirs is written: the canary tree is compared before and after, and
// every temp dir the builder made (TMPDIR points into the test's dir) is gone at the end.
// A failure prints the seed and case; RAMBOOT_FUZZ_SEED reruns another seed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import tarStream from 'tar-stream';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { RambootError } from '../../src/errors.ts';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { findKernel } from '../../src/kernel/find-kernel.ts';
import { mapLimit } from '../../src/kmod/pool.ts';
import { materializeRoot, type MaterializedRoot } from '../../src/rootfs/tar-root.ts';
import { KVER, SHIPPED_HOOK_BUILTIN, SHIPPED_HOOK_MODULES, moduleElf, type FakeModule } from '../initrd/fake-root.ts';
import { prng } from '../extract/helpers.ts';

const CASES = 240;
const SEED = Number(process.env.RAMBOOT_FUZZ_SEED ?? 0x9f17);

type Entry = { type: 'file'; data: Buffer } | { type: 'symlink'; target: string };


const MODULES: FakeModule[] = [...SHIPPED_HOOK_MODULES, { path: 'kernel/drivers/net/fwnic.ko', firmware: ['acme/fw.bin'] }];
const MODS = `lib/modules/${KVER}`;
/** The paths the build reads, each a chain of components a link can replace. */
const TARGETS = [`boot/vmlinuz-${KVER}`, `${MODS}/kernel/fs/squashfs/squashfs.ko`, `${MODS}/kernel/drivers/net/fwnic.ko`, `${MODS}/modules.builtin`, 'lib/firmware/acme/fw.bin', 'etc/site.conf'];
const KINDS = ['host-abs', 'host-rel', 'host-slash-dotdot', 'host-chain', 'inside-abs', 'inside-rel', 'inside-dotdot', 'inside-chain', 'dotdot-past-top', 'loop', 'self-loop', 'dangling', 'write-through'] as const;
type Kind = (typeof KINDS)[number];
const BENIGN = new Set<Kind>(['inside-abs', 'inside-rel', 'inside-dotdot', 'inside-chain']);

/** The root's tree, with `mark` in every file; the host canary tree is the same with the canary. */
function tree(mark: string): Map<string, Entry> {
  const files = new Map<string, Entry>();
  const put = (path: string, data: string | Buffer) => files.set(path, { type: 'file', data: Buffer.from(data) });
  put(`boot/vmlinuz-${KVER}`, `kernel ${mark}`);
  for (const m of MODULES) {
    const name = posix.basename(m.path, '.ko');
    put(`${MODS}/${m.path}`, moduleElf({ name, depends: (m.depends ?? []).join(','), alias: [...(m.aliases ?? []), `mark-${mark}`], firmware: m.firmware ?? [] }));
  }
  put(`${MODS}/modules.builtin`, `${SHIPPED_HOOK_BUILTIN.join('\n')}\nkernel/${mark}.ko\n`);
  put('lib/firmware/acme/fw.bin', `firmware ${mark}`);
  put('etc/site.conf', `site ${mark}`);
  return files;
}

let work: string;
let canaryDir: string;
let canary: string;
let hooksDir: string;
let savedTmpdir: string | undefined;

/** Every entry under dir: type, size, mtime and content hash, to prove nothing changed. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((rel) => {
    const st = lstatSync(join(dir, rel));
    const hash = st.isFile() ? createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex') : '';
    return `${rel} ${st.mode} ${st.size} ${st.mtimeMs} ${hash}`;
  });
}

interface Mutation {
  kind: Kind;
  target: string;
  /** The component path replaced by a link. */
  at: string;
  /** Every link planted, as the root names them. */
  links: string[];
}

/** Replaces `at` (and everything under it) with a link of `kind`; returns what was planted. */
function mutate(files: Map<string, Entry>, target: string, at: string, kind: Kind, id: number): Mutation {
  const depth = at.split('/').length - 1; // directories between the top and the link
  const hostTwin = `${canaryDir}/${at}`;
  const alt = `alt/${at}`;
  const moved = [...files.keys()].filter((p) => p === at || p.startsWith(`${at}/`));
  const entries = moved.map((p) => [p, files.get(p)!] as const);
  for (const p of moved) files.delete(p);
  if (BENIGN.has(kind) || kind === 'dotdot-past-top') for (const [p, e] of entries) files.set(`alt/${p}`, e);
  const links: string[] = [at];
  const link = (path: string, to: string) => files.set(path, { type: 'symlink', target: to });
  switch (kind) {
    case 'host-abs': link(at, hostTwin); break;
    case 'host-rel': link(at, `${'../'.repeat(depth + 24)}${hostTwin.slice(1)}`); break;
    case 'host-slash-dotdot': link(at, `/../../..${hostTwin}`); break;
    case 'host-chain': link(at, `/chain${id}/1`); link(`chain${id}/1`, `../chain${id}/2`); link(`chain${id}/2`, hostTwin); links.push(`chain${id}/1`, `chain${id}/2`); break;
    case 'inside-abs': link(at, `/${alt}`); break;
    case 'inside-rel': link(at, posix.relative(posix.dirname(`/${at}`), `/${alt}`)); break;
    case 'inside-dotdot': link(at, `${'../'.repeat(depth)}./${alt}`); break;
    case 'inside-chain': link(at, `/chain${id}/1`); link(`chain${id}/1`, `../chain${id}/2`); link(`chain${id}/2`, `/${alt}`); links.push(`chain${id}/1`, `chain${id}/2`); break;
    case 'dotdot-past-top': link(at, `${'../'.repeat(depth + 1)}${alt}`); break;
    case 'loop': link(at, `/loop${id}/a`); link(`loop${id}/a`, 'b'); link(`loop${id}/b`, `/${at}`); links.push(`loop${id}/a`, `loop${id}/b`); break;
    case 'self-loop': link(at, posix.basename(at)); break;
    case 'dangling': link(at, `/nowhere/${at}`); break;
    case 'write-through': link(at, hostTwin); files.set(`${at}/zz-written-through-link`, { type: 'file', data: Buffer.from('written') }); break;
  }
  return { kind, target, at, links };
}

async function writeTarball(path: string, files: Map<string, Entry>): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const [name, e] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (e.type === 'file') pack.entry({ name, type: 'file', mode: 0o644 }, e.data);
    else pack.entry({ name, type: 'symlink', linkname: e.target });
  }
  pack.finalize();
  await done;
  writeFileSync(path, Buffer.concat(chunks));
}

/** The one-line error names the entry: a replaced path, a planted link, or the module it held. */
function assertNamesEntry(error: unknown, mutations: Mutation[], label: string): void {
  assert.ok(error instanceof RambootError, `${label}: not a RambootError: ${(error as Error)?.stack ?? String(error)}`);
  const line = error.toLine();
  assert.doesNotMatch(line, /\n/, `${label}: one line`);
  assert.ok(error.hint || /^E-/.test(line), `${label}: has a hint: ${line}`);
  const names = mutations.flatMap((m) => [`/${m.at}`, `/${m.target}`, ...m.links.map((l) => `/${l}`), m.at, posix.basename(m.target, '.ko')]);
  if (mutations.some((m) => m.target.endsWith('modules.builtin'))) names.push('af_packet');
  assert.ok(names.some((n) => line.includes(n)), `${label}: names none of ${names.join(', ')}: ${line}`);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-symlink-fuzz-'));
  canary = `HOST-CANARY-${process.pid}-${Date.now()}`;
  canaryDir = join(work, 'canary');
  for (const [path, e] of tree(canary)) {
    mkdirSync(join(canaryDir, posix.dirname(path)), { recursive: true });
    if (e.type === 'file') writeFileSync(join(canaryDir, path), e.data);
  }
  hooksDir = join(work, 'hooks');
  mkdirSync(join(hooksDir, 'site'), { recursive: true });
  writeFileSync(join(hooksDir, 'site/hook.json'), JSON.stringify({ description: 'a hook file from the root', files: ['etc/site.conf'] }));
  mkdirSync(join(work, 'tmp'));
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = join(work, 'tmp');
});
after(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(work, { recursive: true, force: true });
});

interface Case {
  n: number;
  files: Map<string, Entry>;
  mutations: Mutation[];
  label: string;
}

/** Case specs, drawn in order from one seeded PRNG. */
function drawCases(): Case[] {
  const random = prng(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: CASES }, (_, n) => {
    const files = tree('root');
    const mutations: Mutation[] = [];
    for (let k = random() < 0.3 ? 2 : 1; k > 0; k--) {
      const target = pick(TARGETS);
      const parts = target.split('/');
      const at = parts.slice(0, 1 + Math.floor(random() * parts.length)).join('/');
      // A second link must not sit inside or above the first one.
      if (mutations.some((m) => at === m.at || at.startsWith(`${m.at}/`) || m.at.startsWith(`${at}/`))) continue;
      mutations.push(mutate(files, target, at, pick(KINDS), mutations.length));
    }
    return { n, files, mutations, label: `seed ${SEED} case ${n}: ${mutations.map((m) => `${m.kind} at /${m.at} (${m.target})`).join(' + ')}` };
  });
}

/** One case through the real path; returns its outcome, throws an AssertionError on a breach. */
async function runCase({ n, files, mutations, label }: Case): Promise<string> {
  const tarball = join(work, `case-${n}.tar`);
  await writeTarball(tarball, files);
  let root: MaterializedRoot;
  try {
    root = await materializeRoot(tarball, { progress: false });
  } catch (error) {
    // Only a write through a planted link may stop the unpack.
    assert.ok(mutations.some((m) => m.kind === 'write-through'), `${label}: unpack failed: ${String(error)}`);
    assertNamesEntry(error, mutations, label);
    return 'unpack refused';
  } finally {
    rmSync(tarball);
  }
  const out = join(work, `case-${n}.img`);
  const benign = mutations.every((m) => BENIGN.has(m.kind));
  try {
    const kernel = await findKernel(root.dir);
    for (const path of [kernel.vmlinuz, kernel.modulesDir]) assert.ok(path.startsWith(`${root.dir}/`), `${label}: ${path} is inside the root`);
    assert.equal(readFileSync(kernel.vmlinuz).indexOf(canary), -1, `${label}: the kernel is not the host's`);
    const result = await buildInitrd({ root: root.dir, out, compression: 'none', add: ['fwnic'], extraHookDirs: [hooksDir] });
    const image = readFileSync(result.path);
    assert.equal(image.indexOf(canary), -1, `${label}: a host byte in the initrd`);
    const entries = new Map(decodeNewc(image).map((e) => [e.path, e]));
    for (const entry of entries.values()) assert.equal(entry.data.indexOf(canary), -1, `${label}: host bytes in ${entry.path}`);
    if (benign) {
      assert.equal(entries.get('etc/site.conf')?.data.toString(), 'site root', `${label}: the root's site.conf`);
      assert.equal(entries.get('lib/firmware/acme/fw.bin')?.data.toString(), 'firmware root', `${label}: the root's firmware`);
      assert.ok(entries.get(`${MODS}/kernel/fs/squashfs/squashfs.ko`)?.data.includes('mark-root'), `${label}: the root's squashfs.ko`);
    }
    return 'built';
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assert.ok(!benign, `${label}: links inside the root must build: ${(error as Error).message}`);
    assertNamesEntry(error, mutations, label);
    return 'refused';
  } finally {
    await root.cleanup();
    rmSync(out, { force: true });
  }
}

test(`${CASES} tarball roots with symlinks at every position: one-line error naming the entry, or no host byte in the build`, async (t) => {
  const before = snapshot(canaryDir);
  const cases = drawCases();
  const outcomes = new Map<string, number>();
  const started = performance.now();
  // A few at a time: much of a case is waiting on busybox --list-full and the disk.
  await mapLimit(cases, 3, async (c) => {
    const outcome = await runCase(c);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  });
  t.diagnostic(`${CASES} cases in ${((performance.now() - started) / 1000).toFixed(1)} s: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.deepEqual(snapshot(canaryDir), before, 'the host canary tree is unchanged');
  assert.deepEqual(readdirSync(join(work, 'tmp')), [], 'every temp dir the builder made is gone');
  assert.ok((outcomes.get('built') ?? 0) > CASES / 10 && (outcomes.get('refused') ?? 0) > CASES / 10, 'both outcomes are exercised');
});
