// --ssh-key: the keys that may log in to the ssh-debug hook's dropbear. Only OpenSSH public keys
// get into an initrd (which anyone on the boot network can download), with the modes dropbear
// insists on; the flag turns the hook on, and the hook without a key is an error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InitrdPlan } from '../../src/initrd/plan.ts';
import { addAuthorizedKeys, readAuthorizedKeys, withSshDebug } from '../../src/initrd/ssh-key.ts';

const dir = mkdtempSync(join(tmpdir(), 'ramboot-sshkey-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'id');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@site', '-f', key]);
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

test('a public key file (with comments, blank lines, options) is packed as written, one key a line', () => {
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const keys = file('keys', `# the admins\n\n${pub}\nfrom="10.0.0.0/8" ${pub.replace('admin@site', 'other')}\n`);
  assert.equal(readAuthorizedKeys(keys).toString(), `# the admins\n${pub}\nfrom="10.0.0.0/8" ${pub.replace('admin@site', 'other')}\n`);
});

test('a private key, a file with no key, a line that is no key and a missing file are one-line errors', () => {
  assert.throws(() => readAuthorizedKeys(key), { message: `--ssh-key ${key} is a private key`, hint: /its public half \(the \.pub file\)/ });
  assert.throws(() => readAuthorizedKeys(file('empty', '# nobody\n\n')), { message: /holds no key$/ });
  assert.throws(() => readAuthorizedKeys(file('typo', 'ssh-ed25519 AAAAC3Nz=aC1 me\n')), { message: /line 1 is not an OpenSSH public key: the ssh-ed25519 key is not base64$/ });
  assert.throws(() => readAuthorizedKeys(file('pem', 'hello world\n')), { message: /line 1 is not an OpenSSH public key: no key type/ });
  assert.throws(() => readAuthorizedKeys(join(dir, 'nope.pub')), { message: `--ssh-key ${join(dir, 'nope.pub')}: no such file` });
});

test('--ssh-key turns ssh-debug on; the keys go to /root/.ssh/authorized_keys (0600, in a 0700 directory)', () => {
  assert.deepEqual(withSshDebug(['curl'], `${key}.pub`), ['curl', 'ssh-debug']);
  assert.deepEqual(withSshDebug(['ssh-debug'], `${key}.pub`), ['ssh-debug']);
  assert.deepEqual(withSshDebug(undefined, undefined), []);
  const plan = new InitrdPlan();
  addAuthorizedKeys(plan, ['ram-boot', 'ssh-debug'], `${key}.pub`);
  assert.equal(plan.get('root/.ssh')?.mode, 0o700);
  const keys = plan.get('root/.ssh/authorized_keys');
  assert.equal(keys?.mode, 0o600);
  assert.equal(keys?.content.kind === 'file' && keys.content.data.toString(), readFileSync(`${key}.pub`, 'utf8'));
  const without = new InitrdPlan();
  addAuthorizedKeys(without, ['ram-boot'], undefined);
  assert.equal(without.has('root/.ssh/authorized_keys'), false, 'no hook, no keys');
});

test('the ssh-debug hook without --ssh-key is an error: nobody could log in', () => {
  assert.throws(() => addAuthorizedKeys(new InitrdPlan(), ['ssh-debug'], undefined), { message: 'the ssh-debug hook needs the keys that may log in', hint: /add --ssh-key FILE/ });
});
