// The optional ssh-debug hook, booted in QEMU: an initrd built with --ssh-key starts the root's
// dropbear when the command line has initrddebug=ssh. A boot that fails (here: the image is a
// 404) then waits, and the test logs in through QEMU's forwarded port with this machine's ssh
// client and the key's private half, reads the failure from /run/ramboot/log, checks the host
// key is the one the console printed, sees another key refused, and powers the guest off. A boot
// that goes through stops dropbear before switch_root. dropbear comes from the build host only
// to stock the test root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHttpServer, type HttpServer } from '../../src/lab/http-server.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { copyHostBinaries } from '../../src/lab/host-binaries.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let http: HttpServer;
let initrd: string;
let key: string;
let otherKey: string;

/** A TCP port free on 127.0.0.1 for QEMU's hostfwd (taken back at once: a small race). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** ssh to the guest as root with `identity`; -v for the host key line, no user config or known_hosts. */
async function ssh(port: number, identity: string, command: string, extra: string[] = []) {
  const args = [...extra, '-v', '-F', '/dev/null', '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=60', '-p', String(port), 'root@127.0.0.1', command]; // prettier-ignore
  return promisify(execFile)('ssh', args, { timeout: 120_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

before(async () => {
  if (skip) return;
  set = await buildSet('sshdebug');
  const root = join(set.work, 'root');
  await copyHostBinaries(root, ['/usr/sbin/dropbear', '/usr/bin/dropbearkey']);
  key = join(set.work, 'id_test');
  otherKey = join(set.work, 'id_other');
  for (const k of [key, otherKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ramboot-test', '-f', k]);
  initrd = join(set.work, 'initrd-ssh.img');
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', initrd, '--rootsha256', set.rootSha, '--ssh-key', `${key}.pub`], { stdio: ['ignore', 'ignore', 'inherit'] });
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('initrddebug=ssh: a failed boot waits; ssh root@ with the built-in key runs a command, the host key is the console\'s, another key is refused', { skip }, async () => {
  const port = await freePort();
  const qemu = set.start(`rooturl=${http.url('/missing.squashfs')} initrddebug=ssh`, { initrd, nic: `virtio-net-pci,hostfwd=tcp:127.0.0.1:${port}-:22`, timeoutMs: 600_000 });
  try {
    const listening = await qemu.waitFor(/ramboot: ssh-debug: dropbear listening on port 22 of 10\.0\.2\.15; host key (SHA256:[A-Za-z0-9+/]+)\n/, 300_000);
    const fingerprint = /host key (SHA256:[A-Za-z0-9+/]+)/.exec(listening)![1]!;
    await qemu.waitFor(/initrddebug: ssh: the boot stopped here and waits; log in with ssh root@10\.0\.2\.15/, 120_000);

    const started = performance.now();
    const r = await ssh(port, key, 'echo "SSH-OK uid=$(id -u) pid1=$(cat /proc/1/comm)"; grep "error:" /run/ramboot/log; read -r a _ </proc/uptime; /usr/bin/dropbearkey -t ed25519 -f /tmp/k >/dev/null 2>&1; read -r b _ </proc/uptime; echo "KEYGEN $a $b"');
    const loginMs = Math.round(performance.now() - started);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SSH-OK uid=0 pid1=init$/m);
    assert.match(r.stdout, new RegExp(`^ramboot: error: cannot download the root image: ${http.url('/missing.squashfs').replaceAll('.', '\\.')}: HTTP 404 Not Found$`, 'm'));
    assert.match(r.stderr, new RegExp(`Server host key: ssh-ed25519 ${fingerprint.replaceAll('+', '\\+')}\\s`), 'the key the console printed');
    const keygen = /^KEYGEN ([\d.]+) ([\d.]+)$/m.exec(r.stdout)!;
    console.log(`# ssh login + command: ${loginMs} ms; dropbearkey ed25519 in the guest: ${(Number(keygen[2]) - Number(keygen[1])).toFixed(2)} s; initrd.img ${(statSync(join(set.out, 'initrd.img')).size / 2 ** 20).toFixed(1)} MiB, with --ssh-key ${(statSync(initrd).size / 2 ** 20).toFixed(1)} MiB`);

    // A terminal, as an interactive login gets one (devpts, mounted by the hook).
    const terminal = await ssh(port, key, 'tty', ['-tt']);
    assert.equal(terminal.code, 0, terminal.stderr);
    assert.match(terminal.stdout, /^\/dev\/pts\/\d+\r?$/m);

    const refused = await ssh(port, otherKey, 'echo SHOULD-NOT-RUN');
    assert.equal(refused.code, 255);
    assert.doesNotMatch(refused.stdout, /SHOULD-NOT-RUN/);
    assert.match(refused.stderr, /Permission denied \(publickey\)/);

    await ssh(port, key, 'poweroff -f');
    const done = await qemu.done;
    assert.equal(done.timedOut, false);
    assert.match(done.output, /reboot: Power down/);
  } finally {
    qemu.kill();
  }
});

test('initrddebug=ssh on a boot that goes through: dropbear runs from the net stage and is stopped before switch_root', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} initrddebug=ssh`, /RAMBOOT-DONE|Kernel panic/, { initrd, timeoutMs: 360_000 });
  assert.ok(parseInitMarkers(r.output).done, r.output.slice(-3000));
  assert.doesNotMatch(r.output, /ramboot: error:/);
  const listening = r.output.search(/ramboot: ssh-debug: dropbear listening on port 22/);
  const stopped = r.output.search(/ramboot: ssh-debug: dropbear stopped before switch_root/);
  assert.ok(listening > 0 && stopped > listening, r.output.slice(-3000));
});
