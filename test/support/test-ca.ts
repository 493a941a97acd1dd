// A certificate authority made fresh for one test run with openssl, and server certificates it
// signs: the curl hook's boot test makes the root trust this CA and nothing else, then serves
// HTTPS with a certificate that matches the guest's view of the server (10.0.2.2) and with ones
// that must be refused.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyHostBinaries } from '../../src/lab/host-binaries.ts';

export interface TestCa {
  /** The CA certificate, PEM: what the root's CA bundle holds. */
  cert: string;
  /** A key and certificate for `subjectAltName` (e.g. `IP:10.0.2.2`), signed by this CA. */
  issue(name: string, subjectAltName: string): { key: Buffer; cert: Buffer };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** A key and a self-signed certificate for `subjectAltName`, signed by no CA the root trusts. */
export function selfSigned(dir: string, name: string, subjectAltName: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${subjectAltName}`]);
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

export function makeTestCa(dir: string): TestCa {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=ramboot test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']); // prettier-ignore
  return {
    cert: readFileSync(caCert, 'utf8'),
    issue(name, subjectAltName) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
      return { key: readFileSync(key), cert: readFileSync(cert) };
    },
  };
}

/** Gives the root at `root` this machine's curl and a CA bundle of a fresh test CA only (made in
 * `certsDir`): what the curl hook packs, so the guest trusts that CA and nothing else. */
export async function rootWithCurlTrustingTestCa(root: string, certsDir: string): Promise<TestCa> {
  await copyHostBinaries(root, ['/usr/bin/curl']);
  mkdirSync(certsDir, { recursive: true });
  const ca = makeTestCa(certsDir);
  mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
  writeFileSync(join(root, 'etc/ssl/certs/ca-certificates.crt'), ca.cert);
  return ca;
}
