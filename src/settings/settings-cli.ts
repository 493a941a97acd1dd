// The builder's settings table as commander options, and the parsed flags back as one typed,
// checked settings object. Commands call readSettings before anything else (before a tarball
// root is unpacked), so every bad value is refused before any work starts.
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { hookDirsFromEnv } from '../hooks/hook.js';
import type { InitrdOptions } from '../initrd/build-initrd.js';
import type { RootfsOptions } from '../rootfs/build-rootfs.js';
import { settingsOf, type BuilderCommand, type BuilderSettings, type AnySettingRow } from './builder-settings.js';

export function optionOf(row: AnySettingRow): Option {
  const option = new Option(row.flags, row.help);
  if (row.choices) option.choices(row.choices);
  if (row.parse) option.argParser(row.parse as (value: string, previous: unknown) => unknown);
  if (row.default !== undefined) option.default(row.default);
  if (row.required) option.makeOptionMandatory();
  return option;
}

/** Add every option `name` takes, in table order. */
export function addSettings<C extends Command<unknown[], OptionValues, OptionValues>>(command: C, name: BuilderCommand): C {
  for (const row of settingsOf(name)) command.addOption(optionOf(row));
  return command;
}

/** The flags commander parsed, as settings, each checked by its row (ranges, formats). */
export function readSettings(name: BuilderCommand, parsed: object): BuilderSettings {
  const values = parsed as Partial<BuilderSettings>;
  for (const row of settingsOf(name)) {
    const value = values[row.key];
    if (value !== undefined && row.check) (row.check as (v: unknown, all: Partial<BuilderSettings>) => void)(value, values);
  }
  return values as BuilderSettings;
}

/** The initrd half of the settings, as buildInitrd/buildImageSet take it. */
export function initrdOptionsOf(s: BuilderSettings): Pick<InitrdOptions, 'compression' | 'level' | 'add' | 'omit' | 'busybox' | 'arch' | 'hostOnly' | 'extraHookDirs' | 'enableHooks' | 'sshKey'> {
  const extraHookDirs = [...hookDirsFromEnv(), ...(s.hooks ?? [])];
  return { compression: s.compress, level: s.compressLevel, add: s.modules, omit: s.omitModules, busybox: s.busybox, arch: s.arch, hostOnly: s.hostOnly, extraHookDirs, enableHooks: s.hook, sshKey: s.sshKey };
}

/** The rootfs half, as buildRootfs/buildImageSet take it. */
export function rootfsOptionsOf(s: BuilderSettings): Pick<RootfsOptions, 'compression' | 'level' | 'blockSize' | 'excludeFiles'> {
  return { compression: s.squashfsComp, level: s.squashfsLevel, blockSize: s.blockSize, excludeFiles: s.excludeFile };
}
