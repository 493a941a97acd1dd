import { Command, Option } from '@commander-js/extra-typings';
import { spawnSync } from 'node:child_process';
import { usageError } from '../../errors.js';
import type { RawConfig } from '../../subhost/config.js';
import { readRunConfig } from '../../subhost/run-config.js';
import { runSubhost } from '../../subhost/run-subhost.js';
import { renderStates } from '../../subhost/ps.js';
import { listStates, readStateFile } from '../../subhost/state.js';
import { stopByName } from '../../subhost/stop-by-name.js';
import { enterArgs } from '../../subhost/stop.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const runCommand = new Command('run')
  .description("start a root image as a subhost: overlay over LOWER, own mount/PID/UTS/IPC/net namespaces, services under a reaper (overlay-boot's config format)")
  .argument('[conf]', 'overlay-boot config file (NAME=value lines)')
  .option('--name <name>', 'NAME: hostname, network namespace, host ends NAME0..N (default: the config file name, or "subhost")')
  .option('--base <dir>', 'BASE (default for flags-only runs: a directory made under /run/ramboot/subhosts for the run)')
  .option('--lower <path>', 'LOWER: a root directory or a squashfs image, optionally IMG#sha256=HEX')
  .option('--upper <path>', 'UPPER: the writable directory, or an executable run with ACTION=setup/teardown')
  .option('--work <dir>', 'WORK: overlayfs work directory on the same filesystem as UPPER')
  .option('--live <dir>', 'LIVE: where the overlay is mounted (inside the subhost only)')
  .addOption(new Option('--cable <bridge=mac>', 'a veth cable into a host bridge (repeatable): host end NAME<i>, subhost end eth<i>').argParser(collect))
  .option('--start <services>', 'START: services to start with `service X start` (default "networking ssh")')
  .option('--ram-size <size>', 'RAM_SIZE: tmpfs size for /run, or none (default 50M)')
  .option('--log <file>', 'LOG (default /tmp/overlay-NAME.log)')
  .option('--init', "run the image's own /sbin/init as PID 1 instead of START services under a reaper")
  .action(async (conf, opts) => {
    const flags: RawConfig = {
      NAME: opts.name, BASE: opts.base, LOWER: opts.lower, UPPER: opts.upper, WORK: opts.work, LIVE: opts.live,
      CABLES: opts.cable?.join(' '), START: opts.start, RAM_SIZE: opts.ramSize, LOG: opts.log,
    };
    const { config, cleanup } = await readRunConfig(conf, flags, (line) => process.stderr.write(`ramboot: warning: ${line}\n`));
    try {
      process.exitCode = await runSubhost({ config, init: opts.init === true, say: (line) => process.stderr.write(`${line}\n`) });
    } finally {
      await cleanup();
    }
  });

export const psCommand = new Command('ps')
  .description('list running subhosts: name, PID 1, lower, upper, cables, uptime')
  .option('--json', 'machine-readable output')
  .action(async (opts) => {
    const states = await listStates();
    process.stdout.write(opts.json ? `${JSON.stringify(states, null, 2)}\n` : renderStates(states, Date.now()));
  });

export const stopCommand = new Command('stop')
  .description('stop a subhost: services stopped, PID 1 ended, mounts, namespaces and cables removed, UPPER teardown run')
  .argument('<name>', 'subhost NAME')
  .action(async (name) => {
    await stopByName(name, (line) => process.stderr.write(`${line}\n`));
  });

export const enterCommand = new Command('enter')
  .description("run a command (default /bin/sh) inside a subhost's namespaces and root")
  .argument('<name>', 'subhost NAME')
  .argument('[cmd...]', 'command and arguments')
  .allowUnknownOption()
  .action(async (name, cmd) => {
    const state = await readStateFile(name);
    if (!state) throw usageError(`no subhost ${name} is running`, 'ramboot ps lists them');
    const r = spawnSync('nsenter', [...enterArgs(state.initPid), ...(cmd.length ? cmd : ['/bin/sh'])], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });
