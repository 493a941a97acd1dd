// overlays= and build hooks' stage scripts, booted in QEMU from one image set.
// overlays=: a .tar.gz layer that adds /etc/layer-a and replaces /etc/hostname,
// then a squashfs layer (with #sha256=) that replaces /etc/hostname again, both over HTTP. The
// guest's own init prints the files and the root overlay's lowerdir=, so the order is the one
// the kernel really stacked.
// Stage scripts: the set's initrd rebuilt with a test hook dir (buildInitrd's extraHookDirs)
// whose scripts print markers before and after the mount stage and write into the new root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { MARKER_INIT } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

const INIT = MARKER_INIT.replace(
  'echo "RAMBOOT-DONE"',
  `echo "LAYER-A $(cat /etc/layer-a)"
echo "LAYER-HOSTNAME $(cat /etc/hostname)"
[ -f /etc/hook-was-here ] && echo "HOOK-FILE $(cat /etc/hook-was-here)"
while read -r _ mnt type opts _; do
  [ "$mnt:$type" = /:overlay ] && echo "LAYER-OPTS $opts"
done < /proc/mounts
echo "RAMBOOT-DONE"`,
);

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let squashSha: string;
let hookedInitrd: string;

before(async () => {
  if (skip) return;
  set = await buildSet('layers', INIT);
  const a = join(set.work, 'layer-a');
  mkdirSync(join(a, 'etc'), { recursive: true });
  writeFileSync(join(a, 'etc/layer-a'), 'from-layer-a\n');
  writeFileSync(join(a, 'etc/hostname'), 'hostname-from-a\n');
  execFileSync('tar', ['-czf', join(set.out, 'a.tar.gz'), '--owner=0', '--group=0', '-C', a, 'etc']);
  const b = join(set.work, 'layer-b');
  mkdirSync(join(b, 'etc'), { recursive: true });
  writeFileSync(join(b, 'etc/hostname'), 'hostname-from-b\n');
  execFileSync('mksquashfs', [b, join(set.out, 'b.squashfs'), '-all-root', '-noappend', '-quiet', '-no-progress'], { stdio: 'ignore' });
  squashSha = createHash('sha256').update(readFileSync(join(set.out, 'b.squashfs'))).digest('hex');
  http = await startHttpServer(set.out);

  const hooks = join(set.work, 'hooks');
  mkdirSync(join(hooks, 'test-marker'), { recursive: true });
  writeFileSync(join(hooks, 'test-marker/hook.json'), JSON.stringify({ description: 'boot test', stageScripts: { 'before-mount': ['mark.sh'], 'after-mount': ['write.sh'] } }));
  writeFileSync(join(hooks, 'test-marker/mark.sh'), 'echo "STAGE-HOOK-MARK $RAM_HOOK_POINT"\n');
  writeFileSync(join(hooks, 'test-marker/write.sh'), 'echo "STAGE-HOOK-MARK $RAM_HOOK_POINT"\necho "written by $RAM_HOOK_POINT" >"$RAM_NEWROOT/etc/hook-was-here"\n');
  hookedInitrd = join(set.work, 'initrd-hooked.img');
  await buildInitrd({
    root: join(set.work, 'root'),
    out: hookedInitrd,
    rootfsSha256: set.rootSha,
    rootfsSize: statSync(join(set.out, 'rootfs.squashfs')).size,
    extraHookDirs: [hooks],
  });
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('overlays=: a tar.gz then a squashfs over the root image, the squashfs on top', { skip }, async () => {
  const layers = `${http.url('/a.tar.gz')},${http.url('/b.squashfs')}#sha256=${squashSha}`;
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} overlays=${layers}`, /RAMBOOT-DONE/);
  assert.match(r.output, /^LAYER-A from-layer-a\r?$/m, r.output.slice(-3000));
  assert.match(r.output, /^LAYER-HOSTNAME hostname-from-b\r?$/m);
  const opts = /^LAYER-OPTS (.*?)\r?$/m.exec(r.output)?.[1] ?? '';
  const lower = /(?:^|,)lowerdir=([^,]*)/.exec(opts)?.[1];
  assert.equal(lower, '/run/ramboot/layers/2.d:/run/ramboot/layers/1.d:/run/ramboot/lower', opts);
  assert.match(r.output, /ramboot: mount: layer 1 \(tar\.gz\) from http:\/\/10\.0\.2\.2:\d+\/a\.tar\.gz/);
  assert.match(r.output, /ramboot: fetch: layer 2: \d+ bytes from http:\/\/10\.0\.2\.2:\d+\/b\.squashfs \(sha256 matches\)/);
});

test('stage scripts from a build hook run at their points: before-mount after zram, after-mount before the stage line', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')}`, /RAMBOOT-DONE/, { initrd: hookedInitrd });
  const at = (re: RegExp): number => {
    const m = re.exec(r.output);
    assert.ok(m, `${re} not in:\n${r.output.slice(-3000)}`);
    return m.index;
  };
  const zram = at(/ramboot: stage zram done/);
  const before = at(/^STAGE-HOOK-MARK before-mount\r?$/m);
  const mounted = at(/ramboot: mount: \/ is an overlay/);
  const afterMark = at(/^STAGE-HOOK-MARK after-mount\r?$/m);
  const mountDone = at(/ramboot: stage mount done/);
  assert.ok(zram < before && before < mounted && mounted < afterMark && afterMark < mountDone, 'zram done < before-mount < mount < after-mount < mount done');
  assert.match(r.output, /ramboot: hook: before-mount: running 01-test-marker-mark\.sh/);
  assert.match(r.output, /^HOOK-FILE written by after-mount\r?$/m, 'the after-mount script wrote into the new root');
});
