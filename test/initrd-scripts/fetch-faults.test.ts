// The fetch stage against servers that lie or go quiet: a Content-Length the shell cannot do
// arithmetic with, one too big for any machine, a transfer that stops without closing the
// connection, a server that never answers. Each ends in a resumed download or in one
// `ramboot: error:` line that honours initrddebug, never in a dead PID 1 or a 900 s hang.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
const IMAGE = 'hsqs pretend squashfs image\n';
/** The initrd has IMAGE's sha256 baked in: the fetch stage ends with the check. */
function sandbox(cmdline: string): Sandbox {
  const sha = createHash('sha256').update(IMAGE).digest('hex');
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { baked: { rootsha256: sha }, facts: { KVER: '6.1.0-test', ROOTSIZE: '', VERSION: 't' } } });
  sandboxes.push(sb);
  return sb;
}
const FETCH = 'ram_stage_setup; ram_stage_fetch; echo "url=$RAM_IMAGE_URL"';
const IMG = '$P/run/ramboot/image/rootfs.squashfs';

/** wget whose size probe answers with `Content-Length: <length>`, then serves IMAGE. */
function headerWget(sb: Sandbox, length: string): void {
  sb.stub(
    'wget',
    `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  HTTP/1.1 200 OK\\n  Content-Length: ${length}\\n' >&2; exit 0; }
printf 'hsqs' >"$out"`,
  );
}

for (const length of ['08', '010', '12a', '-5', '']) {
  test(`fetch: Content-Length "${length}" is refused as a byte count: one error line, no arithmetic on it, no GET`, () => {
    const sb = sandbox('rooturl=http://odd.example/img');
    headerWget(sb, length);
    const r = sb.run(FETCH);
    assert.equal(r.status, 1, r.output);
    assert.doesNotMatch(r.output, /arithmetic|syntax error/);
    assert.deepEqual(errorLines(r.output), [
      `ramboot: error: cannot download the root image: http://odd.example/img: the server's Content-Length '${length}' is not a byte count (a broken server or proxy)`,
    ]);
    assert.deepEqual(sb.callLines('wget'), ['wget -q -S --spider http://odd.example/img']);
  });
}

test('fetch: a bad Content-Length on one mirror moves on to the next', () => {
  const sb = sandbox('rooturl=http://odd.example/img,http://good.example/img');
  sb.stub(
    'wget',
    `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
case $1 in *odd*) len=08 ;; *) len=${IMAGE.length} ;; esac
[ -z "$spider" ] || { printf '  Content-Length: %s\\n' "$len" >&2; exit 0; }
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/odd\.example\/img: the server's Content-Length '08' is not a byte count \(a broken server or proxy\); trying the next mirror$/m);
  assert.match(r.stdout, /^url=http:\/\/good\.example\/img$/m);
});

test('fetch: a 20-digit Content-Length does not wrap around to pass the memory check', () => {
  const sb = sandbox('rooturl=http://huge.example/img initrddebug=fetch');
  // As busybox 1.35 does: the headers are printed (-S), then wget itself refuses the number.
  sb.stub('wget', `printf '  HTTP/1.1 200 OK\\n  Content-Length: 99999999999999999999\\n' >&2
echo 'wget: content-length 99999999999999999999 is garbage' >&2; exit 1`);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: image 99999999999999999999 bytes + overlay 32 MiB > 814 MiB free (Content-Length of http://huge.example/img; 64 MiB kept for the kernel): add RAM or serve a smaller image',
  ]);
  assert.deepEqual(sb.callLines('wget'), ['wget -q -S --spider http://huge.example/img']);
  assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i'], 'initrddebug: the debug shell opens after the error');
  // 18 digits still fit the shell's arithmetic: the same check, in MiB.
  const big = sandbox('rooturl=http://huge.example/img');
  headerWget(big, '999999999999999999');
  assert.deepEqual(errorLines(big.run(FETCH).output), [
    'ramboot: error: image 953674316406 MiB + overlay 32 MiB > 814 MiB free (Content-Length of http://huge.example/img; 64 MiB kept for the kernel): add RAM or serve a smaller image',
  ]);
});

/** A GET that writes `bytes` more of IMAGE, then goes quiet with the connection open (a real
 * sleep, longer than fetch_stall) unless the image is complete. The size probe answers at once. */
const STALLER = (bytes: number) => `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
have=0; [ -f "$out" ] && have=$(stat -c %s "$out")
printf '${IMAGE.replaceAll('\n', '\\n')}' | dd bs=1 skip=$have count=${bytes} 2>/dev/null >>"$out"
[ $((have + ${bytes})) -ge ${IMAGE.length} ] && exit 0
exec /bin/busybox sleep 8 </dev/null >/dev/null 2>&1`;

test('fetch: a transfer that stops without closing is stopped after fetch_stall= seconds and resumed with wget -c', () => {
  const sb = sandbox('rooturl=http://slow.example/img fetch_stall=1');
  sb.stub('wget', STALLER(20));
  const started = Date.now();
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.ok(Date.now() - started < 15_000, 'bounded by fetch_stall, not by the server');
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.deepEqual(sb.callLines('wget'), [
    'wget -q -S --spider http://slow.example/img',
    // The first GET is fresh (hashed as it is written); the retry resumes the partial file.
    `wget -q -O ${IMG} http://slow.example/img`,
    `wget -q -c -O ${IMG} http://slow.example/img`,
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/slow\.example\/img: stalled: no data for 1s at byte 20 of 28 \(fetch_stall=1\); try 2 of 4 in 1s$/m);
  // Bytes 0-19 went by in the stalled try: the resumed image is hashed once, whole, at the end.
  assert.match(r.stdout, /^ramboot: verify: sha256 [0-9a-f]{64} matches \(hashed after the download, \d+\.\d\ds\)$/m);
});

test('fetch: a server that never answers ends in one error line within the bound, not in a hang', () => {
  const sb = sandbox('rooturl=http://mute.example/img fetch_stall=1 fetch_tries=2 initrddebug=y');
  sb.stub('wget', 'exec /bin/busybox sleep 8 </dev/null >/dev/null 2>&1');
  const started = Date.now();
  const r = sb.run(FETCH);
  assert.equal(r.status, 1, r.output);
  assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: cannot download the root image: http://mute.example/img: stalled: no data for 1s at byte 0 (fetch_stall=1)']);
  assert.deepEqual(sb.callLines('wget'), [
    'wget -q -S --spider http://mute.example/img',
    // Nothing arrived, so there is nothing to resume: each try is a fresh one.
    `wget -q -O ${IMG} http://mute.example/img`,
    `wget -q -O ${IMG} http://mute.example/img`,
  ]);
  assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i'], 'initrddebug: the debug shell opens after the error');
  assert.equal(sb.exists('run/ramboot/image/rootfs.squashfs'), false, 'no partial image is left');
});

test('fetch: fetch_stall= must be a whole number of seconds from 1 to 3600', () => {
  for (const value of ['0', '08', 'soon', '3601']) {
    const sb = sandbox(`rooturl=http://good.example/img fetch_stall=${value}`);
    headerWget(sb, '4');
    const lines = errorLines(sb.run(FETCH).output);
    assert.equal(lines.length, 1, `fetch_stall=${value}`);
    assert.match(lines[0]!, new RegExp(`^ramboot: error: fetch_stall=${value}: `));
    assert.deepEqual(sb.calls('wget'), [], 'checked before any download');
  }
});
