// `ramboot lab --proxy`: a forward proxy (tinyproxy, Debian package tinyproxy-bin) on
// 10.77.0.1:3128, and the set also served at an origin address, 10.77.1.1, that only the
// namespace holds (on its loopback). Guests get no route to it (the lab's DHCP gives no router),
// so a guest fetching http://10.77.1.1/rootfs.squashfs succeeds only through the proxy: the
// proxy's log shows the request and nginx's access log shows it coming from 10.77.1.1.
// With a certificate (LabOptions.proxyTls) the origin also serves the set over https on
// 10.77.1.1:443, from an nginx of its own: the guest's curl must tunnel through the proxy with
// CONNECT (busybox wget cannot), and that nginx's access log shows the tunnelled requests.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { toolError, usageError } from '../../errors.js';
import { LAB_SERVER_IP, LAB_SUBNET, LAB_PREFIX, type LabNetwork } from './netns.js';
import { startInNamespace, startNginx, waitReady, type LabServer } from './servers.js';

export const LAB_PROXY_PORT = 3128;
export const LAB_PROXY_URL = `http://${LAB_SERVER_IP}:${LAB_PROXY_PORT}`;
export const LAB_ORIGIN_IP = '10.77.1.1';

export async function addOriginAddress(net: LabNetwork): Promise<void> {
  const r = await execa('ip', ['-n', net.name, 'addr', 'add', `${LAB_ORIGIN_IP}/32`, 'dev', 'lo'], { reject: false });
  if (r.exitCode !== 0) throw toolError(`cannot add the origin address ${LAB_ORIGIN_IP}: ${r.stderr.trim()}`, 'ramboot lab needs root');
}

export async function startLabProxy(net: LabNetwork, stateDir: string): Promise<{ server: LabServer; log: string }> {
  const log = join(stateDir, 'tinyproxy.log');
  const conf = join(stateDir, 'tinyproxy.conf');
  await writeFile(
    conf,
    [
      '# ramboot lab: a forward proxy for the guests (tinyproxy -d: in the foreground)',
      `Port ${LAB_PROXY_PORT}`,
      `Listen ${LAB_SERVER_IP}`,
      '# root: the state directory is readable by root only.',
      'User root',
      'Group root',
      'Timeout 120',
      'MaxClients 64',
      `Allow ${LAB_SUBNET}/${LAB_PREFIX}`,
      'LogLevel Info',
      `LogFile "${log}"`,
      `PidFile "${join(stateDir, 'tinyproxy.pid')}"`,
      '',
    ].join('\n'),
  );
  const { server, child } = startInNamespace(net, 'tinyproxy', ['tinyproxy', '-d', '-c', conf]);
  // tinyproxy writes its pid file once it listens.
  await waitReady('tinyproxy', child, () => existsSync(join(stateDir, 'tinyproxy.pid')), 'tinyproxy-bin');
  return { server, log };
}

/** The proxy's log lines for requests (tinyproxy: `Request (file descriptor N): GET http://... HTTP/1.1`). */
export function proxyRequests(log: string): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .map((line) => /\]: Request \(file descriptor \d+\): (.*)$/.exec(line)?.[1])
    .filter((r): r is string => r !== undefined);
}

export interface OriginTls {
  /** PEM certificate (chain) for IP:10.77.1.1, and its key. */
  cert: string;
  key: string;
}

/** nginx serving `webRoot` over https at LAB_ORIGIN_IP:443 only; its access log in the generated config's format. */
export async function startTlsOrigin(net: LabNetwork, stateDir: string, webRoot: string, tls: OriginTls): Promise<{ server: LabServer; log: string }> {
  if (!tls.cert || !tls.key) throw usageError('an https origin needs a certificate and its key', 'give both --origin-cert and --origin-key');
  for (const f of [tls.cert, tls.key]) if (!existsSync(f)) throw toolError(`the origin's TLS file ${f} is missing`, 'give a PEM certificate for IP:10.77.1.1 and its key');
  const dir = join(stateDir, 'origin-tls');
  await mkdir(dir, { recursive: true });
  const log = join(dir, 'access.log');
  const conf = join(dir, 'origin.conf');
  await writeFile(
    conf,
    [
      '# ramboot lab: the proxy lab\'s origin over https (a separate nginx)',
      'log_format origin \'$remote_addr "$request" $status $body_bytes_sent range="$http_range" ua="$http_user_agent"\';',
      'server {',
      `    listen ${LAB_ORIGIN_IP}:443 ssl;`,
      `    ssl_certificate ${tls.cert};`,
      `    ssl_certificate_key ${tls.key};`,
      `    root ${webRoot};`,
      '    sendfile on;',
      `    access_log ${log} origin;`,
      '}',
      '',
    ].join('\n'),
  );
  const server = await startNginx(net, dir, conf, 'nginx (https origin)');
  return { server, log };
}
