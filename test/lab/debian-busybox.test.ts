// The busybox fetcher's reading of Debian's signed index and Packages file (src/lab/debian-busybox.ts),
// and its cache: a cached binary is used without the mirror, and one without udhcpc6 is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianBusybox, findPackageStanza, releaseSha256 } from '../../src/lab/debian-busybox.ts';

const SUM_A = 'a'.repeat(64);
const SUM_B = 'b'.repeat(64);

test('releaseSha256 reads the SHA256 section only, by exact path', () => {
  const inRelease = [
    'Origin: Debian',
    'MD5Sum:',
    ' 203e1451a4c2e0edf3646a5da3cec2d8  9679304 main/binary-amd64/Packages.xz',
    'SHA256:',
    ` ${SUM_A}  9679304 main/binary-amd64/Packages.xz`,
    ` ${SUM_B}  12 main/binary-amd64/Packages.xz.extra`,
    'Acquire-By-Hash: yes',
    '',
  ].join('\n');
  assert.equal(releaseSha256(inRelease, 'main/binary-amd64/Packages.xz'), SUM_A);
  assert.equal(releaseSha256(inRelease, 'main/binary-arm64/Packages.xz'), undefined);
  assert.equal(releaseSha256('MD5Sum:\n 203e1451a4c2e0edf3646a5da3cec2d8  1 main/binary-amd64/Packages.xz\n', 'main/binary-amd64/Packages.xz'), undefined, 'an md5 line is never taken for a sha256');
});

test('findPackageStanza picks the named package, not one whose name starts the same', () => {
  const packages = [
    'Package: busybox-static-extra\nVersion: 9\nFilename: pool/x.deb\n',
    'Package: busybox-static\nSource: busybox\nVersion: 1:1.37.0-6+b9\nFilename: pool/main/b/busybox/busybox-static_1.37.0-6+b9_amd64.deb\nSHA256: ' + SUM_A + '\n',
  ].join('\n');
  const s = findPackageStanza(packages, 'busybox-static');
  assert.equal(s?.get('Version'), '1:1.37.0-6+b9');
  assert.equal(s?.get('Filename'), 'pool/main/b/busybox/busybox-static_1.37.0-6+b9_amd64.deb');
  assert.equal(findPackageStanza(packages, 'busybox'), undefined);
});

test('a cached busybox is used without the mirror; one lacking udhcpc6 is refused in one line', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'rb-bbcache-'));
  try {
    const fake = (applets: string) => {
      const dir = join(cache, 'trixie', '1_1.37.0-6+b9');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'busybox'), `#!/bin/sh\nprintf '%s\\n' ${applets}\n`);
      chmodSync(join(dir, 'busybox'), 0o755);
    };
    fake('sh udhcpc udhcpc6 wget');
    // An unreachable mirror: the cache alone must answer.
    const bb = await fetchDebianBusybox({ cacheDir: cache, mirror: 'http://127.0.0.1:9' });
    assert.equal(bb.version, '1:1.37.0-6+b9');
    assert.ok(bb.applets.includes('udhcpc6'));
    fake('sh udhcpc wget');
    await assert.rejects(fetchDebianBusybox({ cacheDir: cache, mirror: 'http://127.0.0.1:9' }), /has no udhcpc6/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
