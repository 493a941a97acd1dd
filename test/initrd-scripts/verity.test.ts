// lib/verity.sh on the host, with losetup and dmsetup stubbed: with RAM_VERITY_* in ram.conf the
// verify step compares no sha256 (the image is not read), the dm-verity table handed to dmsetup
// follows the layout the builder baked in, and an image of the wrong size stops the boot naming
// both sizes. The real mapping is booted in test/boot/verity.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { Sandbox, errorLines } from './harness.ts';

const ROOTHASH = 'a'.repeat(64);
const SALT = 'b'.repeat(64);
const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

/** A sandbox whose ram.conf has the verity facts of a 10-block image plus its tree (8 blocks). */
function sandbox(): Sandbox {
  const sb = new Sandbox({
    conf: {
      baked: { rootsha256: 'c'.repeat(64) },
      facts: {
        KVER: '6.1.0-test',
        FORCE_LOAD: '',
        ROOTSIZE: String(18 * 4096),
        VERSION: '0.0.0-test',
        VERITY_ROOTHASH: ROOTHASH,
        VERITY_SALT: SALT,
        VERITY_DATA_BLOCKS: '10',
        VERITY_HASH_OFFSET: String(10 * 4096),
        VERITY_BLOCK_SIZE: '4096',
      },
    },
  });
  sandboxes.push(sb);
  sb.stub('losetup', '[ "$1" = -f ] && echo /dev/loop7; exit 0');
  const dmsetup = sb.write('sbin/dmsetup', `#!/bin/busybox sh\nprintf 'dmsetup\\tDM_DISABLE_UDEV=%s' "$DM_DISABLE_UDEV" >>'${sb.callLog}'\nfor a; do printf '\\t%s' "$a" >>'${sb.callLog}'; done\necho >>'${sb.callLog}'\n`);
  chmodSync(dmsetup, 0o755);
  return sb;
}

const SETUP = 'ram_stage_setup >/dev/null; ';

test('verity: the verify step compares no sha256 and reports the root hash as the pin', () => {
  const sb = sandbox();
  // No image file at all: a sha256 pass would die reading it.
  const r = sb.run(`${SETUP}RAM_IMAGE=$RAM_PREFIX/run/none RAM_IMAGE_URL=http://x/r; ram_verify_root; echo "REPORT {$RAM_REPORT}"`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, new RegExp(`^ramboot: verify: no sha256 check: dm-verity checks every block of the image against root hash ${ROOTHASH} when it is read$`, 'm'));
  assert.deepEqual(JSON.parse(/^REPORT (.*)$/m.exec(r.stdout)![1]!).verify, { result: 'verity', roothash: ROOTHASH });
});

test('verity: dmsetup gets the table of the baked layout, the loop device as data and hash device', () => {
  const sb = sandbox();
  sb.write('run/ramboot/image/rootfs.squashfs', 'x'.repeat(18 * 4096));
  const r = sb.run(`${SETUP}RAM_IMAGE=$RAM_PREFIX/run/ramboot/image/rootfs.squashfs RAM_IMAGE_URL=http://x/r; ram_verity_open`);
  assert.deepEqual(sb.callLines('losetup'), ['losetup -f', 'losetup -r /dev/loop7 $P/run/ramboot/image/rootfs.squashfs']);
  assert.deepEqual(sb.calls('dmsetup'), [
    ['dmsetup', 'DM_DISABLE_UDEV=1', 'create', 'ramboot-root', '--readonly', '--noudevsync', '--table', `0 80 verity 1 /dev/loop7 /dev/loop7 4096 4096 10 11 sha256 ${ROOTHASH} ${SALT}`],
  ]);
  // The stub makes no device node: the boot stops there, saying so.
  assert.deepEqual(errorLines(r.output), ['ramboot: error: verity: dmsetup made no $P/dev/mapper/ramboot-root']);
});

test('verity: an image of another size than the tree was built for stops the boot before any mapping', () => {
  const sb = sandbox();
  sb.write('run/ramboot/image/rootfs.squashfs', 'x'.repeat(4096));
  const r = sb.run(`${SETUP}RAM_IMAGE=$RAM_PREFIX/run/ramboot/image/rootfs.squashfs RAM_IMAGE_URL=http://x/r; ram_verity_open`);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), [
    `ramboot: error: verity: the image from http://x/r is 4096 bytes, but this initrd's dm-verity tree is for an image of ${18 * 4096} bytes (a stale image on the server, or the wrong initrd?)`,
  ]);
  assert.deepEqual(sb.calls('losetup', 'dmsetup'), []);
});

test('verity: without the hook\'s facts nothing of it runs', () => {
  const sb = new Sandbox();
  sandboxes.push(sb);
  const r = sb.run(`${SETUP}ram_verity_on && echo ON || echo OFF`);
  assert.match(r.stdout, /^OFF$/m, r.output);
});
