// Secure Boot signing (sbsign) and `ramboot verify-sig` (sbverify): a signed UKI verifies
// against its certificate; an unsigned one, a tampered one, another certificate, a key that is
// not the certificate's, and a missing sbsigntool are each one `ramboot: error:` line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleUki } from '../../src/uki/assemble-uki.ts';
import { DEFAULT_UKI_STUB } from '../../src/uki/build-uki.ts';
import { parsePe } from '../../src/uki/pe-file.ts';
import { signUki } from '../../src/uki/sign-uki.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('sbsign', ['--version'], 'apt-get install sbsigntool') || skipWithout('test', ['-f', DEFAULT_UKI_STUB], 'apt-get install systemd-boot-efi');
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const ramboot = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env });

let work: string;
const path = (name: string) => join(work, name);

function keyPair(name: string): { key: string; cert: string } {
  const key = path(`${name}.key`);
  const cert = path(`${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=ramboot test ${name}`], { stdio: 'ignore' });
  return { key, cert };
}

let db: { key: string; cert: string };
let other: { key: string; cert: string };

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ramboot-sign-'));
  db = keyPair('db');
  other = keyPair('other');
  const uki = assembleUki(readFileSync(DEFAULT_UKI_STUB), { linux: Buffer.alloc(100_000, 1), initrd: Buffer.alloc(50_000, 2), cmdline: 'boot=ram', osrel: 'ID=test\n', uname: '6.1' }, { timestamp: 0 });
  writeFileSync(path('unsigned.efi'), uki);
  await signUki(path('unsigned.efi'), path('signed.efi'), db.key, db.cert);
});
after(() => work && rmSync(work, { recursive: true, force: true }));

/** The CLI failed with exactly one error line matching `re`. */
function assertOneLineError(r: ReturnType<typeof ramboot>, status: number, re: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

test('a signed UKI verifies; the signature is a PE certificate table sbsign appended', { skip }, () => {
  const r = ramboot(['verify-sig', path('signed.efi'), '--cert', db.cert]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /signed\.efi: signature verifies against .*db\.pem\n$/);
  const signed = readFileSync(path('signed.efi'));
  const security = parsePe(signed).dataDirectories[4]!;
  assert.ok(security.size > 0 && security.rva + security.size === signed.length, 'certificate table at the end of the file');
});

test('unsigned, tampered, or checked against another certificate: refused with one line', { skip }, () => {
  assertOneLineError(ramboot(['verify-sig', path('unsigned.efi'), '--cert', db.cert]), 3, /^ramboot: error: \S+unsigned\.efi is not signed \(hint: sign it: .+\)\n$/);
  const tampered = readFileSync(path('signed.efi'));
  const at = tampered.indexOf('boot=ram');
  tampered[at + 5] = 'R'.charCodeAt(0);
  writeFileSync(path('tampered.efi'), tampered);
  assertOneLineError(ramboot(['verify-sig', path('tampered.efi'), '--cert', db.cert]), 3, /^ramboot: error: \S+tampered\.efi: signature does not verify against \S+db\.pem \(.+\) \(hint: .+\)\n$/);
  assertOneLineError(ramboot(['verify-sig', path('signed.efi'), '--cert', other.cert]), 3, /^ramboot: error: \S+signed\.efi: signature does not verify against \S+other\.pem/);
  assertOneLineError(ramboot(['verify-sig', path('signed.efi'), '--cert', path('unsigned.efi')]), 3, /^ramboot: error: cannot read --cert \S+ as a PEM certificate/);
});

test('build refuses a key that is not the certificate\'s, and signing flags without --uki, a command line too long, before any work', { skip }, () => {
  const root = path('root');
  mkdirSync(root, { recursive: true });
  const out = path('out');
  assertOneLineError(ramboot(['build', '--root', root, '--out', out, '--uki', '--sign-key', other.key, '--sign-cert', db.cert]), 3,
    /^ramboot: error: --sign-key \S+other\.key is not the private key of --sign-cert \S+db\.pem \(hint: .+\)\n$/);
  assertOneLineError(ramboot(['build', '--root', root, '--out', out, '--sign-key', db.key, '--sign-cert', db.cert]), 2, /^ramboot: error: --sign-key needs --uki \(hint: add --uki/);
  assertOneLineError(ramboot(['build', '--root', root, '--out', out, '--uki', '--sign-key', db.key]), 2, /^ramboot: error: --sign-key and --sign-cert go together/);
  assertOneLineError(ramboot(['build', '--root', root, '--out', out, '--uki', '--uki-stub', db.cert]), 3, /^ramboot: error: UKI stub \S+db\.pem is not a PE image: no MZ header/);
  assertOneLineError(ramboot(['build', '--root', root, '--out', out, '--uki', '--uki-append', `quiet ${'x'.repeat(2100)}`]), 2,
    /^ramboot: error: the UKI's command line \(cmdline\.txt \+ --uki-append\) is 21\d\d bytes or holds a newline; the kernel keeps one line of up to 2047 \(hint: shorten --uki-append\)\n$/);
  assert.throws(() => readFileSync(join(out, 'SHA256SUMS')), /ENOENT/, 'nothing written');
});

test('a missing sbsigntool names the package', { skip }, () => {
  const empty = path('empty-path');
  mkdirSync(empty, { recursive: true });
  const env = { ...process.env, PATH: empty };
  assertOneLineError(ramboot(['verify-sig', path('signed.efi'), '--cert', db.cert], env), 4, /^ramboot: error: sbverify not found \(hint: apt-get install sbsigntool\)\n$/);
  assertOneLineError(ramboot(['build', '--root', path('root'), '--out', path('out'), '--uki', '--sign-key', db.key, '--sign-cert', db.cert], env), 4,
    /^ramboot: error: sbsign not found \(hint: apt-get install sbsigntool\)\n$/);
});
