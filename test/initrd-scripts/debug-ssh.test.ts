// initrddebug=ssh on the boot side: a failed boot says how to get in over ssh when the ssh-debug
// hook's dropbear runs (lib/debug-ssh.sh), or that only the console is left when it does not; the
// debug shell opens either way. The hook's stage scripts do nothing without initrddebug=ssh.
// dropbear itself is booted in QEMU (test/boot/ssh-debug.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BUSYBOX, Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  return sb;
}
const FAIL = 'ram_stage_setup; RAM_NET_IP=10.0.2.15; ram_die "cannot download the root image: http://x/r: HTTP 404 Not Found"';

test('initrddebug=ssh with dropbear running: the error, then how to log in, then the debug shell', () => {
  const sb = sandbox('initrddebug=ssh');
  // A live process stands in for dropbear: the sandbox shell itself.
  const r = sb.run(`mkdir -p "$RAM_PREFIX/run/ramboot"; echo $$ >"$RAM_PREFIX/run/ramboot/dropbear.pid"; ${FAIL}`);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: cannot download the root image: http://x/r: HTTP 404 Not Found']);
  assert.match(r.stdout, /^ramboot: initrddebug: ssh: the boot stopped here and waits; log in with ssh root@10\.0\.2\.15 \(port 22\) and end it with poweroff -f or reboot -f$/m);
  assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i']);
});

test('initrddebug=ssh without dropbear (no --ssh-key, or a stale pid): a warning that only the console is left', () => {
  for (const pid of ['', '999999999', '12; reboot']) {
    const sb = sandbox('initrddebug=ssh');
    const r = sb.run(`mkdir -p "$RAM_PREFIX/run/ramboot"; [ -z '${pid}' ] || echo '${pid}' >"$RAM_PREFIX/run/ramboot/dropbear.pid"; ${FAIL}`);
    assert.equal(r.status, 1, r.output);
    assert.match(r.stdout, /^ramboot: warning: initrddebug=ssh: no dropbear is running \(an initrd built without --ssh-key, or the boot failed before the network was up\): console shell only$/m, `pid ${pid}`);
    assert.doesNotMatch(r.stdout, /log in with ssh/);
    assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i']);
    assert.deepEqual(sb.calls('reboot'), []);
  }
});

test('the ssh-debug stage scripts do nothing unless initrddebug=ssh', () => {
  for (const script of ['start-dropbear.sh', 'stop-dropbear.sh']) {
    const path = fileURLToPath(new URL(`../../hooks/ssh-debug/${script}`, import.meta.url));
    for (const value of ['n', 'y', 'net']) {
      const r = spawnSync(BUSYBOX, ['sh', '-x', path], { env: { PATH: '/nonexistent', RAM_INITRDDEBUG: value }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      // sh -x: the test of initrddebug, then exit; nothing else ran.
      assert.deepEqual(r.stderr.trim().split('\n'), [`+ '[' ${value} '=' ssh ]`, '+ exit 0'], script);
    }
  }
});
