// `ramboot build` is one transaction (issue 9, item 4): a rebuild that fails — a bad module
// request, a signal in the middle of mksquashfs, a full disk after the rootfs — leaves the
// previous image set exactly as it was: every byte, `sha256sum -c` passing, and the initrd still
// pinning the rootfs beside it. No staging directory or temp file survives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, fingerprint, makeRoot, mountTmpfs, pinnedRootSha, ramboot, rootfsSumOf, skipUnlessRoot, smallRootfsExcludes, sumsCheck, tempWork } from './helpers.ts';

let work: string;
let root: string;
let out: string;
let goodSet: Record<string, string>;

before(async () => {
  work = tempWork('ramboot-txn-');
  root = await makeRoot(work);
  out = join(work, 'out');
  const r = ramboot('build', '--root', root, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  goodSet = fingerprint(out);
});
after(() => rmSync(work, { recursive: true, force: true }));

function assertPreviousSetIntact(dir = out, expected = goodSet): void {
  assert.deepEqual(fingerprint(dir), expected, 'every file of the previous set byte-identical, nothing added');
  assert.equal(sumsCheck(dir).status, 0, 'sha256sum -c SHA256SUMS passes');
  assert.equal(pinnedRootSha(join(dir, 'initrd.img')), rootfsSumOf(dir), 'the initrd pins the rootfs beside it');
}

test('the good set pins its own rootfs, and no staging directory is left', () => {
  assert.deepEqual(Object.keys(goodSet), ['SHA256SUMS', 'cmdline.txt', 'initrd.img', 'rootfs.squashfs', 'vmlinuz']);
  assertPreviousSetIntact();
});

test('a rebuild with a module the kernel lacks fails before writing anything: the previous set is untouched', () => {
  // Different rootfs settings too, so a rootfs written before the module check would differ.
  const r = ramboot('build', '--root', root, '--out', out, '--squashfs-level', '3', '--modules', 'missing_module');
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^ramboot: error: kernel \S+ has no module missing_module \(--modules\) \(hint: .+\)\n$/);
  assertPreviousSetIntact();
});

test('bad options are refused before the rootfs is built: a missing --busybox or --exclude-file, a bad level', () => {
  for (const [flag, value, cause] of [
    ['--busybox', '/nonexistent/busybox', /busybox/],
    ['--exclude-file', join(work, 'no-such.exclude'), /no-such\.exclude/],
    ['--compress-level', '99', /compression level 99 is out of range for zstd/],
  ] as const) {
    const r = ramboot('build', '--root', root, '--out', out, '--squashfs-level', '3', flag, value);
    assert.notEqual(r.status, 0, `${flag} ${value}`);
    assert.match(r.stderr, cause);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assertPreviousSetIntact();
  }
});

/** Start a rebuild and send `signal` to it once mksquashfs is writing into the staging directory. */
function interruptDuringMksquashfs(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stagedSeen: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...CLI, 'build', '--root', root, '--out', out, '--squashfs-level', '19'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stagedSeen = '';
    const poll = setInterval(() => {
      for (const stage of readdirSync(out).filter((n) => n.startsWith('.ramboot-stage-'))) {
        const tmp = readdirSync(join(out, stage)).find((n) => n.startsWith('.rootfs.squashfs.tmp-'));
        if (tmp) {
          stagedSeen = join(out, stage, tmp);
          clearInterval(poll);
          child.kill(signal);
        }
      }
    }, 10);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearInterval(poll);
      resolvePromise({ code, signal: sig, stagedSeen });
    });
  });
}

/** Processes whose command line mentions `text` (a killed build's mksquashfs must not run on). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
        return cmdline.includes(text) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a rebuild killed by ${signal} during mksquashfs leaves the previous set and no temp files`, async () => {
    const r = await interruptDuringMksquashfs(signal);
    assert.ok(r.stagedSeen, 'the rebuild reached mksquashfs');
    assert.equal(r.signal, signal, `the build dies of the signal (exit code ${r.code})`);
    await new Promise((done) => setTimeout(done, 300));
    assert.deepEqual(processesMentioning(r.stagedSeen.split('/').slice(-2, -1)[0]!), [], 'mksquashfs was stopped too');
    assert.ok(!existsSync(r.stagedSeen));
    assertPreviousSetIntact();
  });
}

test('a full disk while writing the initrd, after the rootfs is staged, leaves the previous set', { skip: skipUnlessRoot }, () => {
  const disk = mountTmpfs(work, 'small-disk', '8m');
  try {
    const excludes = smallRootfsExcludes(work);
    const kernel = join(work, 'small-vmlinuz');
    writeFileSync(kernel, Buffer.alloc(64 * 1024, 1));
    const set = join(disk.dir, 'set');
    const first = ramboot('build', '--root', root, '--out', set, '--exclude-file', excludes, '--kernel', kernel);
    assert.equal(first.status, 0, first.stderr);
    const small = fingerprint(set);
    // Uncompressed, the initrd is ~9 MiB: it cannot fit next to the old set and the staged rootfs.
    const r = ramboot('build', '--root', root, '--out', set, '--exclude-file', excludes, '--kernel', kernel, '--compress', 'none', '--squashfs-level', '3');
    assert.equal(r.status, 5, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^ramboot: error: no space left on ${disk.dir} writing initrd\\.img \\(needed at least [\\d.]+ MiB, [\\d.]+ [KM]iB free\\) \\(hint: free space or choose another --out\\)\\n$`),
    );
    assertPreviousSetIntact(set, small);
  } finally {
    disk.unmount();
  }
});

test('a rebuild that succeeds replaces the whole set, the new initrd pins the new rootfs, and a SIGKILLed build\'s staging is swept', () => {
  // What a build killed with SIGKILL leaves: a staging directory named after a process that is gone.
  const dead = spawnSync('true');
  const stale = join(out, `.ramboot-stage-${dead.pid}-abc123`);
  mkdirSync(stale);
  writeFileSync(join(stale, 'rootfs.squashfs'), 'partial');
  const r = ramboot('build', '--root', root, '--out', out, '--squashfs-level', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(stale), 'the dead build\'s staging directory is removed');
  const now = fingerprint(out);
  assert.notEqual(now['rootfs.squashfs'], goodSet['rootfs.squashfs']);
  assertPreviousSetIntact(out, now);
});
