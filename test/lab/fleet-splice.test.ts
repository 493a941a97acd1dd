// What README "Boot storms" says about nginx 1.22's slice module, held to it: when the origin
// cuts the transfer of a piece after the first of a response, nginx may go on with the next
// piece, so the machine gets a spliced body of the right length. The ram script must not boot
// it: the check fails, and as the download had been resumed it fetches the image once more from
// byte 0 (lib/verify.sh), which the cache then serves whole. docs/facts.md has the splice
// reproduced with curl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleet } from '../../src/lab/fleet/run-fleet.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('nginx', ['-v'], 'apt-get install nginx-light') || (process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (network namespaces)');
const work = mkdtempSync(join(tmpdir(), 'ramboot-splice-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('a cut between the nginx slice cache and the origin: a spliced body is refused and fetched again whole; the client boots only the image', { skip, timeout: 300_000 }, async () => {
  const image = randomBytes(5_000_000);
  writeFileSync(join(work, 'rootfs.squashfs'), image);
  writeFileSync(join(work, 'cmdline.txt'), 'boot=ram\n');
  const sha256 = createHash('sha256').update(image).digest('hex');
  const r = await runFleet({ set: { dir: work, sha256 }, clients: 1, proxies: 1, originMbit: 400, faults: {}, originCutAfterBytes: 100_000, append: 'fetch_stall=4' });
  const [c] = r.clients;
  const context = `${c!.tail}\n${r.originLines.join('\n')}`;
  assert.ok(r.originLines.some((l) => l.endsWith('(cut)')), context);
  // Whether nginx splices depends on timing: when some of the cut piece had already gone to the
  // client it goes on with the next piece (1 run in 3 here), else it fetches the piece again. A
  // splice shows as a resumed download of the right length with another digest, fetched again.
  const spliced = /ramboot: warning: verify: http:\/\/10\.77\.0\.2\/rootfs\.squashfs: checksum mismatch after a resumed download \(got ([0-9a-f]{64})\); fetching it once more from the start/.exec(c!.tail);
  if (spliced) assert.notEqual(spliced[1], sha256);
  else assert.doesNotMatch(c!.tail, /checksum mismatch/, context);
  assert.equal(c!.exitCode, 0, context);
  assert.equal(c!.verify, 'match', 'the fresh download is the image');
  assert.match(c!.tail, new RegExp(`ramboot: verify: sha256 ${sha256} matches`));
});
