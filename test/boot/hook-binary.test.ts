// A hook's `binaries` run in the initrd: GNU ls (dynamic: libselinux, libpcre2-8 through its
// libpcre2-8.so.0 symlink, libc, the loader via /lib64) is put into the test set's root, the
// initrd is rebuilt with the CLI (`initrd --hooks DIR --explain`), and a stage script calls it
// at after-net. The files come from the build host only to stock the test root; the builder
// reads them from that root, as from any other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyHostBinaries } from '../../src/lab/host-binaries.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let initrd: string;
let explain: string;

before(async () => {
  if (skip) return;
  set = await buildSet('hookbin');
  const root = join(set.work, 'root');
  await copyHostBinaries(root, ['/usr/bin/ls']);
  const hooks = join(set.work, 'hooks');
  mkdirSync(join(hooks, 'lister'), { recursive: true });
  writeFileSync(join(hooks, 'lister/hook.json'), JSON.stringify({ description: 'boot test: a binary with its libraries', binaries: ['/usr/bin/ls'], stageScripts: { 'after-net': ['run.sh'] } }));
  writeFileSync(join(hooks, 'lister/run.sh'), 'echo "HOOK-BIN $(/usr/bin/ls -d /lib/ramboot)"\n');
  initrd = join(set.work, 'initrd-hookbin.img');
  explain = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', initrd, '--rootsha256', set.rootSha, '--hooks', hooks, '--explain'], {
    encoding: 'utf8',
  });
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('initrd --explain names who pulled each library of a hook binary', { skip }, () => {
  assert.match(explain, /^\/usr\/bin\/ls\n {4}hook lister: binary \/usr\/bin\/ls$/m);
  assert.match(explain, /^\/lib\/x86_64-linux-gnu\/libpcre2-8\.so\.0 -> libpcre2-8\.so\.0\.\d+\.\d+\n {4}hook lister: libpcre2-8\.so\.0 for \/usr\/bin\/ls \(needed by \/lib\/x86_64-linux-gnu\/libselinux\.so\.1\)$/m);
  assert.match(explain, /^\/lib64\/ld-linux-x86-64\.so\.2 -> /m);
});

test('a binary a hook brought runs in the initrd, from a stage script', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')}`, /RAMBOOT-DONE/, { initrd });
  assert.match(r.output, /ramboot: hook: after-net: running 01-lister-run\.sh/, r.output.slice(-3000));
  assert.match(r.output, /^HOOK-BIN \/lib\/ramboot\r?$/m, r.output.slice(-3000));
});
