// A small boot storm (issue 12's CI run): 10 simulated clients (the ram script's own fetch and
// verify under busybox, each in its network namespace) and 2 QEMU guests booting the real
// initrd start at once against an nginx caching proxy (`ramboot config nginx --cache`) in front
// of the origin, through an edge that misbehaves from the storm's start (src/lab/fleet/
// fault-origin.ts): the first GET gets a 503 with Retry-After, the next two transfers are cut,
// the one after stalls. Every client must verify its image and every guest reach the real init;
// the origin must have sent about one image, not one per machine; nothing may be left behind.
// With CI=true a missing QEMU or nginx fails, never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { skipWithout } from '../support/require-tool.ts';
import { buildSet, skip as skipQemu, type BuiltSet } from './image-set.ts';
import { runFleet } from '../../src/lab/fleet/run-fleet.ts';

const skip =
  skipQemu ||
  skipWithout('nginx', ['-v'], 'apt-get install nginx-light') ||
  (process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (network namespaces, veths, tc)');

let set: BuiltSet;
before(async () => {
  if (skip) return;
  set = await buildSet('storm');
});
after(() => set?.cleanup());

test('storm: 10 clients + 2 QEMU guests through a 503-ing, cutting, stalling edge and an nginx cache all verify and boot; nothing left', { skip, timeout: 600_000 }, async () => {
  const started = performance.now();
  const r = await runFleet({
    set: { dir: set.out, sha256: set.rootSha },
    clients: 10,
    qemu: 2,
    proxies: 1,
    originMbit: 400,
    faults: { fail503: 1, retryAfter: 1, cut: 2, cutAfterBytes: 3_000_000, stall: 1, stallAfterBytes: 5_000_000 },
    append: 'fetch_stall=4',
    qemuTimeoutMs: 420_000,
    log: (line) => console.log(line),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`fleet: ${seconds} s wall; last client ${r.lastSeconds.toFixed(1)} s, p50 ${r.p50.toFixed(1)} s, p95 ${r.p95.toFixed(1)} s; guests ${r.guests.map((g) => g.seconds?.toFixed(1)).join(', ')} s; origin ${(r.originBytes / r.imageBytes).toFixed(2)} images; retries ${r.retries}`);
  for (const g of r.guests) console.log(`${g.name}: ${g.fetchLine} retries=${g.retries}`);
  for (const c of r.clients) console.log(`${c.name}: ${c.seconds.toFixed(1)} s ${c.verify} retries=${c.retries} ${c.warnings.join(' / ')}`);

  // Every simulated client fetched and verified the whole image (report.json verify: match).
  for (const c of r.clients) {
    assert.equal(c.exitCode, 0, `${c.name}: ${c.tail} ${c.corruption ?? ''}`);
    assert.equal(c.verify, 'match', `${c.name}: ${c.tail}`);
    assert.equal(c.fetch?.bytes, r.imageBytes, `${c.name} fetched the whole image`);
  }
  // Both guests verified the image and reached the real init, from their own consoles.
  for (const g of r.guests) {
    assert.ok(g.verified, `${g.name} verified the image:\n${g.console.slice(-2000)}`);
    assert.ok(g.reachedInit, `${g.name} reached the real init:\n${g.console.slice(-2000)}`);
  }
  // The faults happened, each to a machine that then retried.
  assert.ok(r.originLines.some((l) => /^edge: GET \S+ .* 503 \(injected/.test(l)), r.originLines.join('\n'));
  assert.ok(r.originLines.some((l) => l.endsWith('(cut)')), r.originLines.join('\n'));
  assert.ok(r.originLines.some((l) => l.endsWith('(stalled)')), r.originLines.join('\n'));
  const warnings = [...r.clients.flatMap((c) => c.warnings), ...r.guests.flatMap((g) => g.console.split('\n').filter((l) => l.includes('ramboot: warning: fetch')))];
  assert.ok(warnings.some((w) => /HTTP 503 Service Unavailable \(Retry-After: 1s\); try 2 of/.test(w)), `a machine saw the 503 and its Retry-After:\n${warnings.join('\n')}`);
  assert.ok(warnings.some((w) => /short read: the server closed the connection at byte/.test(w)), `a machine saw a cut:\n${warnings.join('\n')}`);
  assert.ok(warnings.some((w) => /stalled: no data for 4s/.test(w)), `a machine saw the stall:\n${warnings.join('\n')}`);
  assert.ok(r.retries + r.guests.reduce((n, g) => n + g.retries, 0) > 0, 'the machines retried (report.json counts the clients\')');
  // The tier: 12 machines, but the origin sent about one image (plus what the faults wasted).
  assert.ok(r.originBytes < 2 * r.imageBytes, `origin sent ${r.originBytes} bytes for a ${r.imageBytes}-byte image`);
  assert.ok(r.proxyStatus[0]!.HIT! > 0, JSON.stringify(r.proxyStatus));

  // Nothing left: no namespace of this process, no fleet state directory, no nginx of ours.
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.doesNotMatch(namespaces, new RegExp(`ramboot-lab-${process.pid}-`));
  assert.equal(existsSync(r.stateDir), false, `${r.stateDir} removed`);
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.doesNotMatch(ps, /ramboot-fleet-.*nginx|nginx.*ramboot-fleet-|fault-origin\.ts/);
});
