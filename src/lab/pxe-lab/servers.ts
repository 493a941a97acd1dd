// dnsmasq and nginx, started inside the lab's namespace on the configs `ramboot config` writes,
// used unchanged: the lab adds only what belongs to running them here (pid, lease and temp
// files in the lab's state directory, and for nginx a main config that includes ours the way
// Debian's /etc/nginx/nginx.conf includes conf.d/*.conf).
import { existsSync, readFileSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { toolError } from '../../errors.js';
import type { LabNetwork } from './netns.js';

export interface LabServer {
  name: string;
  pid: number | undefined;
  /** Stop it and wait for it to be gone. Safe to call twice. */
  stop(): Promise<void>;
}

type Child = ResultPromise<{ reject: false; cleanup: true; stdin: 'ignore'; stdout: 'ignore'; stderr: 'pipe'; buffer: true; forceKillAfterDelay: number }>;

export function startInNamespace(net: LabNetwork, name: string, argv: string[]): { server: LabServer; child: Child } {
  const [cmd, ...args] = net.exec(argv);
  // cleanup: execa kills it when this process exits, whatever way it exits.
  const child: Child = execa(cmd!, args, { reject: false, cleanup: true, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: true, forceKillAfterDelay: 3000 });
  let stopping: Promise<void> | undefined;
  const server: LabServer = {
    name,
    pid: child.pid,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await child;
      })();
      return stopping;
    },
  };
  return { server, child };
}

/** Wait until `ready()` holds; fail with the server's stderr if it exits or takes over 15 s. */
export async function waitReady(name: string, child: Child, ready: () => boolean, installHint?: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const r = await child;
      throw toolError(`${name} exited at start (${r.exitCode ?? r.signal}): ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}`, `apt-get install ${installHint ?? (name === 'nginx' ? 'nginx-light' : 'dnsmasq-base')}; see the config in the lab's state directory`);
    }
    if (Date.now() > end) throw toolError(`${name} did not come up within 15 s`, 'see its log in the lab\'s state directory');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startDnsmasq(net: LabNetwork, stateDir: string, confFile: string, logFile: string): Promise<LabServer> {
  const { server, child } = startInNamespace(net, 'dnsmasq', [
    'dnsmasq',
    '--keep-in-foreground',
    `--conf-file=${confFile}`,
    `--pid-file=${join(stateDir, 'dnsmasq.pid')}`,
    `--dhcp-leasefile=${join(stateDir, 'dnsmasq.leases')}`,
    // Stay root: the state directory and the set may be readable by root only.
    '--user=root',
  ]);
  await waitReady('dnsmasq', child, () => existsSync(logFile) && /started, version/.test(readFileSync(logFile, 'utf8')));
  return server;
}

/** nginx in `net`'s namespace, in the foreground, with `confFile` (server blocks and http-level
 * directives) included in a main config of its own under `stateDir`. */
export async function startNginx(net: LabNetwork, stateDir: string, confFile: string, label = 'nginx'): Promise<LabServer> {
  const temp = join(stateDir, 'nginx-temp');
  await mkdir(temp, { recursive: true });
  const main = join(stateDir, 'nginx-main.conf');
  const pidFile = join(stateDir, 'nginx.pid');
  await writeFile(
    main,
    [
      '# ramboot lab: runs nginx in the foreground with its files in the lab state directory',
      'daemon off;',
      'worker_processes 1;',
      '# root: the set and the state directory may be readable by root only.',
      'user root;',
      `pid ${pidFile};`,
      `error_log ${join(stateDir, 'nginx-error.log')} info;`,
      'events { worker_connections 256; }',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(temp, t)};`),
      `    include ${confFile};`,
      '}',
      '',
    ].join('\n'),
  );
  // -e: the error log before the config is read; Debian's default /var/log/nginx/error.log
  // would be opened otherwise. nginx writes its pid file after binding its ports.
  const { server, child } = startInNamespace(net, label, ['nginx', '-p', stateDir, '-c', main, '-e', join(stateDir, 'nginx-error.log')]);
  await waitReady('nginx', child, () => existsSync(pidFile));
  return server;
}
