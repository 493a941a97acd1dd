// --ssh-key FILE: the public keys that may log in to the ssh-debug hook's dropbear (started in the
// initrd with initrddebug=ssh), packed as /root/.ssh/authorized_keys. Only public keys belong in
// an initrd, which any machine on the boot network can download: a private key given by mistake
// is refused, as is anything dropbear would not read as a key line.
import { readFileSync } from 'node:fs';
import { inputError } from '../errors.js';
import type { InitrdPlan } from './plan.js';

export const SSH_DEBUG_HOOK = 'ssh-debug';

/** Key types dropbear 2022.83 accepts in authorized_keys (the sk- ones need a FIDO token). */
const KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'];

/** A line `[options] type base64 [comment]`: the type and its base64 blob are what must be right. */
function keyLineProblem(line: string): string | undefined {
  const words = line.split(/\s+/);
  const at = words.findIndex((w) => KEY_TYPES.includes(w));
  if (at < 0) return `no key type (${KEY_TYPES.slice(0, 3).join(', ')}, ...)`;
  const blob = words[at + 1] ?? '';
  if (!/^AAAA[A-Za-z0-9+/]+={0,2}$/.test(blob)) return `the ${words[at]} key is not base64`;
  return undefined;
}

/** The checked text of an authorized_keys file: every line a public key, blank or a # comment. */
export function readAuthorizedKeys(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw inputError(`--ssh-key ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 'give a public key file such as ~/.ssh/id_ed25519.pub');
  }
  if (text.includes('PRIVATE KEY')) throw inputError(`--ssh-key ${file} is a private key`, 'give its public half (the .pub file): the initrd can be downloaded by anyone on the boot network');
  const lines = text.split('\n').map((l) => l.trim());
  let keys = 0;
  lines.forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const problem = keyLineProblem(line);
    if (problem) throw inputError(`--ssh-key ${file} line ${i + 1} is not an OpenSSH public key: ${problem}`, 'give a file of lines like "ssh-ed25519 AAAA... comment" (ssh-keygen writes one to KEY.pub)');
    keys += 1;
  });
  if (keys === 0) throw inputError(`--ssh-key ${file} holds no key`, 'give a public key file such as ~/.ssh/id_ed25519.pub');
  return Buffer.from(`${lines.filter((l) => l !== '').join('\n')}\n`);
}

/** The optional hooks a build turns on: --ssh-key turns on ssh-debug (a key is only for it). */
export function withSshDebug(enable: readonly string[] | undefined, sshKey: string | undefined): string[] {
  const hooks = [...(enable ?? [])];
  if (sshKey !== undefined && !hooks.includes(SSH_DEBUG_HOOK)) hooks.push(SSH_DEBUG_HOOK);
  return hooks;
}

/** With the ssh-debug hook on: /root/.ssh/authorized_keys from --ssh-key, modes as dropbear wants
 * them (it refuses keys in a directory others may write). Without a key nobody could log in. */
export function addAuthorizedKeys(plan: InitrdPlan, hookNames: readonly string[], sshKey: string | undefined): void {
  if (!hookNames.includes(SSH_DEBUG_HOOK)) return;
  if (sshKey === undefined) throw inputError('the ssh-debug hook needs the keys that may log in', 'add --ssh-key FILE (a public key file, e.g. ~/.ssh/id_ed25519.pub)');
  const reason = '--ssh-key';
  plan.addDir('root/.ssh', reason, 0o700);
  plan.addFile('root/.ssh/authorized_keys', readAuthorizedKeys(sshKey), reason, 0o600);
}
