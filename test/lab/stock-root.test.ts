// The stock-root cache key and the mirror it is built from: a key changes with everything the
// root is built from and nothing else; the archive comes from this machine's apt sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archiveMirror, parseDeb822Sources, parseOneLineSources } from '../../src/lab/apt-sources.ts';
import { BOOKWORM, STOCK_ROOT_BUILDER_VERSION, stockRootKey, TRIXIE } from '../../src/lab/stock-root.ts';

const MIRROR = 'http://deb.debian.org/debian';

test('the cache key covers suite, mirror, packages and units, not their order', () => {
  const key = stockRootKey(BOOKWORM, MIRROR);
  assert.match(key, /^[0-9a-f]{16}$/);
  assert.equal(stockRootKey({ ...BOOKWORM, packages: [...BOOKWORM.packages].reverse() }, MIRROR), key);
  const others = [
    stockRootKey(TRIXIE, MIRROR),
    stockRootKey(BOOKWORM, 'http://mirror.example/debian'),
    stockRootKey({ ...BOOKWORM, packages: [...BOOKWORM.packages, 'curl'] }, MIRROR),
    stockRootKey({ ...BOOKWORM, enable: ['systemd-networkd.service'] }, MIRROR),
  ];
  assert.equal(new Set([key, ...others]).size, 5);
  assert.equal(STOCK_ROOT_BUILDER_VERSION, 1, 'bump it when a build step changes');
});

test('both roots carry systemd, udev, sshd and the cloud kernel; Debian 13 runs systemd-networkd', () => {
  for (const spec of [BOOKWORM, TRIXIE]) {
    for (const pkg of ['systemd-sysv', 'udev', 'openssh-server', 'linux-image-cloud-amd64']) assert.ok(spec.packages.includes(pkg), `${spec.suite}: ${pkg}`);
  }
  assert.ok(BOOKWORM.packages.includes('ifupdown'));
  assert.ok(!TRIXIE.packages.includes('ifupdown'));
  assert.deepEqual(TRIXIE.enable, ['systemd-networkd.service']);
});

test('the archive mirror is the source serving a plain release suite, not -security', () => {
  const deb822 = parseDeb822Sources(
    'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n',
  );
  assert.equal(archiveMirror(deb822), MIRROR);
  assert.equal(archiveMirror(parseOneLineSources('deb http://security.debian.org/ bookworm-security main\n')), undefined);
  assert.equal(archiveMirror(parseOneLineSources('deb [arch=amd64] http://ftp.example/debian trixie main contrib\n')), 'http://ftp.example/debian');
});
