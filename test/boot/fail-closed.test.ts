// The boot side fails closed, booted in QEMU: a value that would have killed PID 1 in shell
// arithmetic is one `ramboot: error:` line and, with initrddebug, a shell; and RAM_* words on the
// kernel command line (which the kernel hands to /init's environment) cannot steer /init.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { MARKER_INIT, parseInitMarkers } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

// The real init also says how many RAM_* variables reached it: none may.
const INIT = MARKER_INIT.replace('echo "RAMBOOT-DONE"', `echo "RAMBOOT-RAMENV $(env | grep -c '^RAM_')"
echo "RAMBOOT-DONE"`);

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildSet('fail-closed', INIT);
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('RAM_LIBDIR=/nonexistent RAM_FETCH_TRIES=0 on the command line: /init ignores them and boots to init', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} zram_size_pct=0 RAM_LIBDIR=/nonexistent RAM_FETCH_TRIES=0 RAM_PREFIX=/tmp`, /RAMBOOT-DONE/);
  const m = parseInitMarkers(r.output);
  assert.ok(m.done, r.output.slice(-3000));
  assert.equal(m.pid, 1);
  assert.doesNotMatch(r.output, /can't open|ramboot: error:|Attempted to kill init/);
  assert.match(r.output, /ramboot: verify: sha256 [0-9a-f]{64} matches/);
  assert.match(r.output, /^RAMBOOT-RAMENV 0\r?$/m);
});

test('zram_size_pct=08 initrddebug=y: the one error line, then the debug shell, before the kernel hears of it', { skip }, async () => {
  const qemu = set.start(`rooturl=${http.url('/rootfs.squashfs')} zram_size_pct=08 initrddebug=y`);
  try {
    await qemu.waitFor(/initrddebug: shell after the error above/, 90_000);
    const out = qemu.output();
    const error = /ramboot: error: zram_size_pct=08: not a whole number from 0 to 400/.exec(out);
    assert.ok(error, out.slice(-3000));
    assert.doesNotMatch(out, /Attempted to kill init|arithmetic/);
    assert.doesNotMatch(out, /ramboot: stage modules done/, 'checked before the first stage');
    assert.equal(out.match(/ramboot: error:/g)?.length, 1);
    // The shell is live: it answers.
    qemu.send('echo "SHELL-$((6 * 7))"\n');
    await qemu.waitFor(/SHELL-42/, 20_000);
  } finally {
    qemu.kill();
  }
});
