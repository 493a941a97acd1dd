// The distribution boot tests' reporter: its script passes shellcheck for the root's dash, and
// the console lines it prints are read back into the fields the tests assert on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseProbe, probeSerialArgs, renderProbeScript, renderProbeUnit } from '../../src/lab/distro-probe.ts';
import { skipWithout } from '../support/require-tool.ts';

test('the reporter script passes shellcheck -s sh', { skip: skipWithout('shellcheck', ['--version'], 'run scripts/setup.sh') }, () => {
  for (const analyze of [false, true]) {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: renderProbeScript({ analyze }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout);
  }
});

test('the unit is Type=simple (is-system-running --wait must not wait for it) and reports on ttyS1, where no getty hangs it up', () => {
  const unit = renderProbeUnit();
  assert.match(unit, /^Type=simple$/m);
  assert.match(unit, /^TTYPath=\/dev\/ttyS1$/m);
  assert.match(unit, /^TTYVHangup=no$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  // QEMU's second -serial is the guest's ttyS1 (the console, -serial stdio, comes first).
  assert.deepEqual(probeSerialArgs('/tmp/x/probe-1.log'), ['-serial', 'file:/tmp/x/probe-1.log']);
  assert.throws(() => probeSerialArgs('/tmp/a,b'), /comma/);
});

test('console lines become the report; lines may share the console with getty', () => {
  const report = parseProbe(
    [
      'Debian GNU/Linux 12 debian ttyS0',
      'RAMBOOT-PROBE state running',
      'RAMBOOT-PROBE uptime 23.51',
      'debian login: RAMBOOT-PROBE nic ens3 52:54:00:12:34:56 up',
      'RAMBOOT-PROBE addr ens3 10.0.2.15/24 brd 10.0.2.255 scope global ens3',
      'RAMBOOT-PROBE default-route default via 10.0.2.2 dev ens3',
      'RAMBOOT-PROBE dns 10.0.2.3',
      'RAMBOOT-PROBE sshd-listening 2',
      'RAMBOOT-PROBE hostkey ssh_host_ed25519_key 14',
      'RAMBOOT-PROBE hostkey-log ed25519 host key: made in the initrd',
      'RAMBOOT-PROBE late-hostkey ssh_host_ecdsa_key 31',
      'RAMBOOT-PROBE late-hostkey ssh_host_rsa_key 47',
      'RAMBOOT-PROBE rsa-served 1',
      'RAMBOOT-PROBE idle-keys-start 25843000 25573000',
      'RAMBOOT-PROBE restart-networking active ens3 10.0.2.15/24',
      'RAMBOOT-PROBE machine-id 0123456789abcdef0123456789abcdef',
      'RAMBOOT-PROBE failed foo.service',
      'RAMBOOT-PROBE journal-err something broke',
      'RAMBOOT-PROBE done 1',
    ].join('\n'),
  );
  assert.equal(report.done, true);
  assert.equal(report.state, 'running');
  assert.equal(report.uptime, 23.51);
  assert.deepEqual(report.nics, [{ name: 'ens3', mac: '52:54:00:12:34:56', operstate: 'up' }]);
  assert.deepEqual(report.addrs, [{ dev: 'ens3', cidr: '10.0.2.15/24', rest: 'brd 10.0.2.255 scope global ens3' }]);
  assert.equal(report.sshdListening, 2);
  assert.deepEqual(report.hostKeys, { ssh_host_ed25519_key: 14 });
  assert.deepEqual(report.hostKeyLog, ['ed25519 host key: made in the initrd']);
  assert.deepEqual(report.lateHostKeys, { ssh_host_ecdsa_key: 31, ssh_host_rsa_key: 47 });
  assert.equal(report.rsaServed, 1);
  assert.deepEqual(report.idleKeysStart, { startUs: 25843000, multiUserUs: 25573000 });
  assert.equal(report.restartNetworking, 'active ens3 10.0.2.15/24');
  assert.deepEqual(report.failed, ['foo.service']);
  assert.deepEqual(report.journalErrors, ['something broke']);
  assert.equal(parseProbe('RAMBOOT-PROBE state starting\n').done, false);
});
