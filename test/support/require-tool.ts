// Tests that need a system tool skip when it is missing on a developer's machine, but with
// CI=true a missing tool is a failure (the test runs and fails), never a silent skip.
import { execFileSync } from 'node:child_process';

export function skipWithout(tool: string, versionArgs: string[], hint: string): string | false {
  try {
    execFileSync(tool, versionArgs, { stdio: 'ignore' });
    return false;
  } catch {
    return process.env.CI === 'true' ? false : `${tool} not installed (${hint})`;
  }
}

export const skipWithoutQemu = () => skipWithout('qemu-system-x86_64', ['--version'], 'run scripts/setup.sh');
