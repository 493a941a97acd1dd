// A fleet booting at once (lib/fetch-backoff.sh): waits between tries drawn from a sequence seeded
// by the boot NIC's MAC (the same on every boot of one machine, different between machines, never
// past fetch_backoff_max=), mirrors tried in a per-machine rotation that still covers them all,
// and a busy server's 503/429 with Retry-After honoured: only plain seconds, cut to the cap,
// checked before any arithmetic. Every wait is a warning line and is counted in report.json.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
const IMAGE = 'hsqs pretend squashfs image\n';
const SHA = createHash('sha256').update(IMAGE).digest('hex');

function sandbox(cmdline: string, mac?: string): Sandbox {
  const sb = new Sandbox({ cmdline: `${cmdline} rootsha256=${SHA}`, memAvailableKiB: 900_000, conf: { facts: { KVER: '6.1.0-test', ROOTSIZE: '', VERSION: 't' } } });
  if (mac !== undefined) sb.write('sys/class/net/eth0/address', `${mac}\n`);
  sandboxes.push(sb);
  return sb;
}
/** The fetch stage after the net stage left eth0 as the boot NIC. */
const FETCH = 'ram_stage_setup; RAM_NET_IFACE=eth0; ram_stage_fetch; echo "url=$RAM_IMAGE_URL"; echo "REPORT {$RAM_REPORT}"';

function report(stdout: string): Record<string, any> {
  const line = /^REPORT (.*)$/m.exec(stdout);
  assert.ok(line, stdout);
  return JSON.parse(line[1]!);
}

/** The waits (centiseconds) after tries 1..n for a machine with `mac` (none: no NIC). */
function waits(mac: string | undefined, n: number, cmdline = ''): number[] {
  const sb = sandbox(cmdline, mac);
  const r = sb.run(`ram_stage_setup; ${mac === undefined ? '' : 'RAM_NET_IFACE=eth0;'} i=1; while [ $i -le ${n} ]; do ram_fetch_backoff $i; echo "w=$RAM_FETCH_WAIT_CS"; i=$((i + 1)); done`);
  assert.equal(r.status, 0, r.output);
  return [...r.stdout.matchAll(/^w=(\d+)$/gm)].map((m) => Number(m[1]));
}

const mac = (i: number) => `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

test('backoff: the same MAC draws the same waits on every boot; other MACs draw others; each wait lies in [b/2, b] with b doubling to the cap', () => {
  const a = waits('52:54:00:12:34:56', 8);
  assert.deepEqual(waits('52:54:00:12:34:56', 8), a, 'deterministic per machine');
  assert.notDeepEqual(waits('52:54:00:12:34:57', 8), a, 'a neighbouring MAC differs');
  assert.notDeepEqual(waits('00:1b:21:12:34:56', 8), a, 'another vendor, same device part, differs');
  a.forEach((w, i) => {
    const b = Math.min(100 * 2 ** i, 3000);
    assert.ok(w >= b / 2 && w <= b, `wait ${i + 1}: ${w} cs outside [${b / 2}, ${b}]`);
  });
  // A cap of 5 s holds from the fourth wait on, and try 100 does not overflow the doubling.
  const capped = waits('52:54:00:12:34:56', 100, 'fetch_backoff_max=5');
  assert.equal(capped.length, 100);
  for (const w of capped.slice(3)) assert.ok(w >= 250 && w <= 500, `${w} cs outside [250, 500]`);
  // Without a NIC (ip=off, a dev:// image) there is nothing to seed from: plain doubling.
  assert.deepEqual(waits(undefined, 7), [100, 200, 400, 800, 1600, 3000, 3000]);
});

test('backoff: a fleet of 40 consecutive MACs spreads its first retry over the whole [0.5 s, 1 s] window', () => {
  const first = Array.from({ length: 40 }, (_, i) => waits(mac(i + 1), 1)[0]!);
  for (const w of first) assert.ok(w >= 50 && w <= 100, `${w}`);
  assert.ok(new Set(first).size >= 25, `only ${new Set(first).size} distinct waits among 40: ${first.join(' ')}`);
  const low = first.filter((w) => w < 75).length;
  assert.ok(low >= 10 && low <= 30, `${low} of 40 in the lower half`);
});

test('backoff: a MAC that is not 12 hex digits is not used for arithmetic: a warning, plain doubling', () => {
  for (const bad of ['zz:54:00:12:34:56', '52:54:00:12:34', '', '52:54:00:12:34:5600']) {
    const sb = sandbox('', bad);
    const r = sb.run('ram_stage_setup; RAM_NET_IFACE=eth0; ram_fetch_backoff 2; echo "w=$RAM_FETCH_WAIT_CS"');
    assert.equal(r.status, 0, r.output);
    assert.doesNotMatch(r.output, /arithmetic|syntax error/);
    assert.match(r.stdout, /^ramboot: warning: fetch: eth0 has no usable MAC address .*: retries without jitter, mirrors in the listed order$/m);
    assert.match(r.stdout, /^w=200$/m);
  }
});

/** wget that answers 404 for every URL, so every mirror is probed once, in the order tried. */
function all404(sb: Sandbox): void {
  sb.stub('wget', 'echo "wget: server returned error: HTTP/1.1 404 Not Found" >&2; exit 1');
}
const MIRRORS = ['http://a.example/img', 'http://b.example/img', 'http://c.example/img'];

test('mirrors: each machine starts on a mirror of its own and goes round the list, every mirror tried once; the order is logged and reported', () => {
  const firsts = new Map<string, number>();
  for (let i = 1; i <= 24; i++) {
    const sb = sandbox(`rooturl=${MIRRORS.join(',')}`, mac(i));
    all404(sb);
    const r = sb.run(FETCH);
    assert.equal(r.status, 1);
    const probed = sb.calls('wget').map((c) => c.at(-1)!);
    assert.equal(probed.length, 3, r.output);
    const start = MIRRORS.indexOf(probed[0]!);
    assert.deepEqual(probed, [...MIRRORS.slice(start), ...MIRRORS.slice(0, start)], 'a rotation of the list');
    assert.match(r.stdout, new RegExp(`^ramboot: fetch: mirror order for MAC ${mac(i)} \\(fetch_order=rotate\\): ${probed.join(',').replaceAll('.', '\\.')}$`, 'm'));
    assert.equal(errorLines(r.output).length, 1);
    firsts.set(probed[0]!, (firsts.get(probed[0]!) ?? 0) + 1);
  }
  for (const m of MIRRORS) assert.ok((firsts.get(m) ?? 0) >= 4, `${m} first for ${firsts.get(m) ?? 0} of 24 machines`);

  const listed = sandbox(`rooturl=${MIRRORS.join(',')} fetch_order=listed`, mac(2));
  all404(listed);
  listed.run(FETCH);
  assert.deepEqual(listed.calls('wget').map((c) => c.at(-1)), MIRRORS, 'fetch_order=listed keeps the order given');

  const ok = sandbox(`rooturl=${MIRRORS.join(',')},,`, '52:54:00:12:34:56');
  ok.stub('wget', `out=; while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; [ -z "$out" ] || printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`);
  const r = ok.run(FETCH);
  assert.equal(r.status, 0, r.output);
  const rep = report(r.stdout).fetch;
  assert.equal(rep.mirror_order.length, 3, 'empty entries are dropped');
  assert.deepEqual([...rep.mirror_order].sort(), MIRRORS);
  assert.equal(rep.url, rep.mirror_order[0]);
  assert.equal(rep.jitter_mac, '52:54:00:12:34:56');
});

test('Retry-After: plain seconds are taken, a huge number is cut to fetch_backoff_max=, garbage and dates are ignored, nothing reaches arithmetic unchecked', () => {
  const cases: [string, string, string][] = [
    ['7', '7', 'Retry-After: 7s'],
    [' 12 ', '12', 'Retry-After: 12s'],
    ['08', '8', 'Retry-After: 8s'],
    ['0', '0', 'Retry-After: 0s'],
    ['000', '0', 'Retry-After: 0s'],
    ['120', '30', 'Retry-After 120 s cut to fetch_backoff_max=30'],
    ['99999999999999999999', '30', 'Retry-After 99999999999999999999 s cut to fetch_backoff_max=30'],
    ['Wed, 21 Oct 2015 07:28:00 GMT', '', "Retry-After 'Wed, 21 Oct 2015 07:28:00 GMT' is a date: ignored, the initrd has no clock to trust"],
    ['soon', '', "Retry-After 'soon' is not a number of seconds: ignored"],
    ['-5', '', "Retry-After '-5' is not a number of seconds: ignored"],
    ['5s', '', "Retry-After '5s' is not a number of seconds: ignored"],
    ['1e3', '', "Retry-After '1e3' is not a number of seconds: ignored"],
    ['\x1b[2J' + 'x'.repeat(60), '', `Retry-After '[2J${'x'.repeat(37)}...' is not a number of seconds: ignored`],
    ['\x01'.repeat(20_000), '', "Retry-After '...' is not a number of seconds: ignored"],
    ['', '', 'no Retry-After'],
  ];
  const sb = sandbox('');
  const script = cases.map(([v], i) => `ram_retry_after_value '${v}'; echo "${i}=[$RAM_RETRY_AFTER][$RAM_RETRY_AFTER_NOTE]"`).join('\n');
  const r = sb.run(`ram_stage_setup\n${script}`);
  assert.equal(r.status, 0, r.output);
  assert.doesNotMatch(r.output, /arithmetic|syntax error/);
  cases.forEach(([value, seconds, note], i) => assert.match(r.stdout, new RegExp(`^${i}=\\[${seconds}\\]\\[${note.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]$`, 'm'), JSON.stringify(value)));
});

test('Retry-After: read from a HEAD answer with CRLF lines in any case; only a 503 or 429 answer counts; of several answers the last', () => {
  const sb = sandbox('');
  sb.write('h1', 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nretry-AFTER:  4\r\n\r\n');
  sb.write('h2', 'HTTP/1.1 200 OK\r\nRetry-After: 4\r\n\r\n');
  sb.write('h3', 'HTTP/1.1 301 Moved\r\nRetry-After: 9\r\nLocation: /x\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n\r\n');
  sb.write('h4', '');
  const r = sb.run('ram_stage_setup; for f in h1 h2 h3 h4; do ram_http_read_retry_after "$RAM_PREFIX/$f"; echo "$f=[$RAM_RETRY_AFTER][$RAM_RETRY_AFTER_NOTE]"; done');
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^h1=\[4\]\[Retry-After: 4s\]$/m);
  assert.match(r.stdout, /^h2=\[\]\[no Retry-After: the server now answers 200\]$/m);
  assert.match(r.stdout, /^h3=\[2\]\[Retry-After: 2s\]$/m);
  assert.match(r.stdout, /^h4=\[\]\[no Retry-After: no answer to a HEAD within 5s\]$/m);
});

/** wget: the first `busy` requests (probe or GET) get `status`, then the probe answers with the
 * size and the GET with IMAGE. nc (the HEAD for Retry-After) keeps its request and answers `head`. */
function busyServer(sb: Sandbox, busy: number, status: string, head: string): void {
  sb.stub(
    'wget',
    `n=$(cat "$RAM_PREFIX/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$RAM_PREFIX/n"
if [ "$n" -lt ${busy} ]; then printf '  HTTP/1.1 ${status}\\n' >&2; echo 'wget: server returned error: HTTP/1.1 ${status}' >&2; exit 1; fi
spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  HTTP/1.1 200 OK\\n  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
  sb.stub('nc', `cat >"$RAM_PREFIX/head-request"; printf '${head}'`);
}
const sleeps = (sb: Sandbox) => sb.calls('sleep').map((c) => c[1]!).filter((s) => !s.startsWith('0.0'));

test('503 on the size probe, then success: Retry-After honoured with a little jitter, each retry a warning, all of it in report.json', () => {
  const sb = sandbox('rooturl=http://busy.example:8080/images/img', '52:54:00:12:34:56');
  busyServer(sb, 2, '503 Service Unavailable', 'HTTP/1.1 503 Service Unavailable\\r\\nRetry-After: 3\\r\\n\\r\\n');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^url=http:\/\/busy\.example:8080\/images\/img$/m);
  assert.deepEqual(sb.callLines('wget'), [
    'wget -q -S --spider http://busy.example:8080/images/img',
    'wget -q -S --spider http://busy.example:8080/images/img',
    'wget -q -S --spider http://busy.example:8080/images/img',
  ].concat(sb.callLines('wget').slice(3)), 'the probe is asked again, no GET while the server is busy');
  assert.equal(sb.callLines('wget').length, 4, 'then one GET');
  assert.deepEqual(sb.callLines('nc'), ['nc busy.example 8080', 'nc busy.example 8080']);
  assert.equal(sb.read('head-request'), 'HEAD /images/img HTTP/1.1\r\nHost: busy.example:8080\r\nUser-Agent: ramboot\r\nConnection: close\r\n\r\n');
  const slept = sleeps(sb).map(Number);
  assert.equal(slept.length, 2, sleeps(sb).join(' '));
  for (const s of slept) assert.ok(s >= 3 && s <= 3 + 0.75 + 1, `slept ${s} s for Retry-After: 3`);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/busy\.example:8080\/images\/img: HTTP 503 Service Unavailable \(Retry-After: 3s\); try 2 of 4 in \d\.\d\ds$/m);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/busy\.example:8080\/images\/img: HTTP 503 Service Unavailable \(Retry-After: 3s\); try 3 of 4 in \d\.\d\ds$/m);
  const rep = report(r.stdout).fetch;
  assert.deepEqual([rep.attempts, rep.retries, rep.busy_answers, rep.retry_after_waits], [1, 2, 2, 2]);
  assert.equal(Math.round(rep.waited_s * 100), Math.round((slept[0]! + slept[1]!) * 100));
  assert.deepEqual(rep.mirror_order, ['http://busy.example:8080/images/img']);
});

test('429 on the download is retried, not fatal like other 4xx; a date in Retry-After falls back to the jittered backoff', () => {
  const sb = sandbox('rooturl=http://busy.example/img', '52:54:00:12:34:56');
  // The probe passes (request 1), the first GET gets 429 (the stub counts from 0: busy=0 skips).
  busyServer(sb, 0, '', 'HTTP/1.1 429 Too Many Requests\\r\\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\\r\\n\\r\\n');
  sb.stub(
    'wget',
    `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
if [ ! -e "$RAM_PREFIX/once" ]; then : >"$RAM_PREFIX/once"; echo 'wget: server returned error: HTTP/1.1 429 Too Many Requests' >&2; exit 1; fi
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/busy\.example\/img: HTTP 429 Too Many Requests \(Retry-After 'Wed, 21 Oct 2015 07:28:00 GMT' is a date: ignored, the initrd has no clock to trust\); try 2 of 4 in 0\.\d\ds$/m);
  const [slept] = sleeps(sb).map(Number);
  assert.ok(slept! >= 0.5 && slept! <= 1, `${slept}`);
  const rep = report(r.stdout).fetch;
  assert.deepEqual([rep.attempts, rep.retries, rep.busy_answers, rep.retry_after_waits], [2, 1, 1, 0]);
});

test('a busy server past every try fails its mirror with the status; over https:// no HEAD is sent (nc has no TLS); a huge Retry-After is cut to the cap', () => {
  const sb = sandbox('rooturl=https://busy.example/img,http://busy.example/img fetch_order=listed fetch_tries=2 fetch_backoff_max=5', '52:54:00:12:34:56');
  busyServer(sb, 99, '503 Service Unavailable', 'HTTP/1.1 503 Service Unavailable\\r\\nRetry-After: 99999999999999999999\\r\\n\\r\\n');
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: cannot download the root image: https://busy.example/img: HTTP 503 Service Unavailable; http://busy.example/img: HTTP 503 Service Unavailable',
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: https:\/\/busy\.example\/img: HTTP 503 Service Unavailable \(Retry-After is not read over https:\/\/\); try 2 of 2 in 0\.\d\ds$/m);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/busy\.example\/img: HTTP 503 Service Unavailable \(Retry-After 99999999999999999999 s cut to fetch_backoff_max=5\); try 2 of 2 in \d\.\d\ds$/m);
  assert.deepEqual(sb.callLines('nc'), ['nc busy.example 80'], 'one HEAD, for the http:// mirror');
  const [https, http] = sleeps(sb).map(Number);
  assert.ok(https! >= 0.5 && https! <= 1, `${https}`);
  assert.ok(http! >= 5 && http! <= 5 + 1.25 + 1, `${http}`);
  assert.equal(sb.calls('wget').filter((c) => !c.includes('--spider')).length, 0, 'no download while busy');
});

test('a HEAD that gets no answer is cut off after RAM_HEAD_WAIT seconds: the backoff then', () => {
  const sb = sandbox('rooturl=http://busy.example/img', '52:54:00:12:34:56');
  busyServer(sb, 1, '503 Service Unavailable', '');
  sb.stub('nc', 'exec /bin/busybox sleep 8 </dev/null >/dev/null 2>&1');
  const started = Date.now();
  const r = sb.run(FETCH, { RAM_HEAD_WAIT: '1' });
  assert.equal(r.status, 0, r.output);
  assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/busy\.example\/img: HTTP 503 Service Unavailable \(no Retry-After: no answer to a HEAD within 1s\); try 2 of 4 in 0\.\d\ds$/m);
});
