import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUptime, renderStates } from '../../src/subhost/ps.ts';
import type { SubhostState } from '../../src/subhost/state.ts';

test('ramboot ps: one aligned row per subhost, uptime, stale ones marked', () => {
  const base: SubhostState = { name: 'web', runPid: 10, initPid: 4242, mode: 'services', lower: '/img/rootfs.squashfs', upper: '/srv/web/root', live: '/srv/web/live', cables: ['web0=br0/02:00:00:00:00:01'], hostEnds: ['web0'], log: '/tmp/overlay-web.log', started: 0 };
  const out = renderStates([{ ...base, running: true }, { ...base, name: 'old', initPid: 7, mode: 'init', cables: [], running: false }], 3_725_000);
  assert.equal(out, [
    'NAME  PID   MODE      UPTIME  LOWER                 UPPER          CABLES',
    'web   4242  services  1h2m    /img/rootfs.squashfs  /srv/web/root  web0=br0/02:00:00:00:00:01',
    'old   7     init      stale   /img/rootfs.squashfs  /srv/web/root  -',
    '',
  ].join('\n'));
  assert.deepEqual([formatUptime(9_000), formatUptime(61_000), formatUptime(90_000_000)], ['9s', '1m1s', '1d1h']);
});
