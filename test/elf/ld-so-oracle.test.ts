// The library closure (src/elf/library-closure.ts) against the root's own loader as the ORACLE:
// `chroot ROOT /lib64/ld-linux-x86-64.so.2 --list BIN` prints what glibc loads. The root is the
// build host itself, a Debian 12 root that is always there in CI; the resolver reads it through
// RootResolver exactly as it reads any other root (a debootstrap tree, an unpacked tarball), so
// this one code path is what is checked. Running the root's loader is allowed here only: this is
// a test oracle, never part of a build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { LibraryResolver } from '../../src/elf/library-closure.ts';
import { readElfDynamic } from '../../src/elf/elf-dynamic.ts';
import { RootResolver } from '../../src/rootfs/root-path.ts';

const ROOT = '/';
const LOADER = '/lib64/ld-linux-x86-64.so.2';

/** `ld.so --list` lines (given the binary's real path: a program the kernel starts takes $ORIGIN
 * from its real path, while `ld.so --list LINK` would take the link's directory): `name => /path (0x...)`, or `/path (0x...)` for the loader itself. */
function oracle(binary: string): Set<string> {
  // chroot needs root; for ROOT '/' running the loader directly is the same lookup.
  const real = realpathSync(binary);
  const [cmd, args] = process.getuid?.() === 0 ? ['chroot', [ROOT, LOADER, '--list', real]] : [LOADER, ['--list', real]];
  const out = execFileSync(cmd, args, { encoding: 'utf8' });
  const paths = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\s*(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    // The loader joins $ORIGIN/../lib as is; the closure gives the same path normalized.
    if (m) paths.add(posix.normalize(m[1]!));
  }
  return paths;
}

/** Dynamic executables of the root, a spread over /usr/bin and /usr/sbin. */
async function dynamicBinaries(count: number): Promise<string[]> {
  const all: string[] = [];
  for (const dir of ['/usr/bin', '/usr/sbin']) {
    for (const name of readdirSync(dir).sort()) {
      const elf = await readElfDynamic(`${dir}/${name}`).catch(() => undefined);
      if (elf?.interpreter === LOADER && elf.needed.length > 0) all.push(`${dir}/${name}`);
    }
  }
  const step = Math.max(1, Math.floor(all.length / count));
  return all.filter((_, i) => i % step === 0).slice(0, count);
}

test('the closure of 40 binaries of a Debian root is what its own ld.so --list loads', async () => {
  const binaries = await dynamicBinaries(40);
  assert.ok(binaries.length >= 20, `only ${binaries.length} dynamic binaries found`);
  const resolver = new LibraryResolver(new RootResolver(ROOT));
  for (const binary of binaries) {
    const ours = (await resolver.resolve(binary)).filter((o) => o.name !== 'executable').map((o) => o.path);
    assert.deepEqual(new Set(ours), oracle(binary), binary);
    assert.equal(ours.length, new Set(ours).size, `${binary}: a library listed twice`);
  }
});

test('libraries come with who needs them: libc is needed by the binary or a library, the loader by the binary', async () => {
  const objects = await new LibraryResolver(new RootResolver(ROOT)).resolve('/usr/bin/ls');
  assert.equal(objects[0]!.path, '/usr/bin/ls');
  assert.deepEqual(objects[1], { path: LOADER, name: 'interpreter', neededBy: '/usr/bin/ls' });
  assert.equal(objects.find((o) => o.name === 'libc.so.6')?.neededBy, '/usr/bin/ls');
});
