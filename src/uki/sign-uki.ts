// Secure Boot signing and checking of a UKI with Debian's sbsigntool: `sbsign` adds an
// Authenticode signature (the PE certificate table), `sbverify` checks one against a
// certificate. Both run with stdin closed: an encrypted key would otherwise wait for a
// passphrase (Debian's PkKek-1-snakeoil.key is one; sbsign then fails "Can't load key").
import { RambootError, inputError, toolError } from '../errors.js';
import { runTool } from '../util/run-tool.js';

const SBSIGNTOOL_HINT = 'apt-get install sbsigntool';

async function runSbTool(tool: 'sbsign' | 'sbverify', args: string[]): Promise<{ ok: true } | { ok: false; stderr: string }> {
  try {
    await runTool(tool, args, { stdin: 'ignore' });
    return { ok: true };
  } catch (error) {
    const cause = (error as RambootError).cause as { code?: string; stderr?: string } | undefined;
    if (cause?.code === 'ENOENT') throw toolError(`${tool} not found`, SBSIGNTOOL_HINT);
    return { ok: false, stderr: String(cause?.stderr ?? (error as Error).message) };
  }
}

/** Sign `input` into `output` with KEY/CERT (PEM). */
export async function signUki(input: string, output: string, key: string, cert: string): Promise<void> {
  const result = await runSbTool('sbsign', ['--key', key, '--cert', cert, '--output', output, input]);
  if (result.ok) return;
  if (/key values mismatch|does not match certificate/.test(result.stderr)) {
    throw inputError(`--sign-key ${key} is not the private key of --sign-cert ${cert}`, 'give the key the certificate was made from');
  }
  if (/Can't load key/.test(result.stderr)) {
    throw inputError(`cannot read --sign-key ${key} (not a PEM private key, or protected by a passphrase)`, `give an unencrypted PEM key, e.g. openssl pkey -in ${key} -out plain.key`);
  }
  if (/Can't load cert/.test(result.stderr)) throw inputError(`cannot read --sign-cert ${cert} as a PEM certificate`, 'give the X.509 certificate in PEM form');
  throw toolError(`sbsign failed on ${input}: ${lastLine(result.stderr)}`, SBSIGNTOOL_HINT);
}

/** Check `file`'s Authenticode signature against `cert`; throws a one-line error unless valid. */
export async function verifyUkiSignature(file: string, cert: string): Promise<void> {
  const result = await runSbTool('sbverify', ['--cert', cert, file]);
  if (result.ok) return;
  if (/No signature table present/.test(result.stderr)) throw inputError(`${file} is not signed`, 'sign it: ramboot build --uki --sign-key KEY --sign-cert CERT');
  if (/Can't open image|Error reading file/.test(result.stderr)) throw inputError(`cannot read ${file} as a PE image`, 'give the path of a signed .efi file');
  if (/Can't load certificate/.test(result.stderr)) {
    throw inputError(`cannot read --cert ${cert} as a PEM certificate`, 'give the X.509 certificate in PEM form');
  }
  throw inputError(`${file}: signature does not verify against ${cert} (${lastLine(result.stderr)})`, 'the file was changed after signing, or signed with another key');
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => !/^warning: /.test(l)).pop() ?? 'no output';
}
