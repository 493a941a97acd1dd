#!/usr/bin/env node
// The CLI is thin: each command turns flags into an options object and calls one core function.
// Only this file maps errors to exit codes and calls process.exit.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { RambootError } from '../errors.js';
import { VERSION } from '../version.js';
import { buildCommand } from './commands/build.js';
import { cmdlineCommand } from './commands/cmdline.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { diffCommand } from './commands/diff.js';
import { extractCommand } from './commands/extract.js';
import { hooksCommand } from './commands/hooks.js';
import { initrdCommand } from './commands/initrd.js';
import { labCommand } from './commands/lab.js';
import { lsCommand } from './commands/ls.js';
import { rootfsCommand } from './commands/rootfs.js';
import { verifySigCommand } from './commands/verify-sig.js';
import { enterCommand, psCommand, runCommand, stopCommand } from './commands/run.js';

export function createProgram(): Command {
  return new Command('ramboot')
    .description('initramfs builder and boot toolkit for diskless and netboot Linux')
    .version(VERSION)
    .showHelpAfterError('(run ramboot --help for usage)')
    .addCommand(buildCommand)
    .addCommand(rootfsCommand)
    .addCommand(initrdCommand)
    .addCommand(demoCommand)
    .addCommand(cmdlineCommand)
    .addCommand(hooksCommand)
    .addCommand(configCommand)
    .addCommand(labCommand)
    .addCommand(lsCommand)
    .addCommand(extractCommand)
    .addCommand(diffCommand)
    .addCommand(verifySigCommand)
    .addCommand(runCommand)
    .addCommand(psCommand)
    .addCommand(stopCommand)
    .addCommand(enterCommand)
    .exitOverride();
}

export async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof RambootError) {
      process.stderr.write(`ramboot: error: ${error.toLine()}\n`);
      return error.exitCode;
    }
    process.stderr.write(`ramboot: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 70;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
