// `ramboot stop NAME`. A running subhost is stopped by its own `ramboot run` (SIGTERM: it stops
// the services, ends PID 1 and removes what it made, in order). When that process is gone
// (killed with SIGKILL), the state file is all that is left, and the same steps run from here.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RambootError, usageError } from '../errors.js';
import { unplugAll } from './cables.js';
import { alive, readStateFile, removeState, STATE_DIR } from './state.js';
import { endInit } from './stop.js';
import { runTool } from '../util/run-tool.js';

export async function stopByName(name: string, say: (line: string) => void, timeoutMs = 60_000): Promise<void> {
  const state = await readStateFile(name);
  if (!state) throw usageError(`no subhost ${name} is running`, 'ramboot ps lists them');
  if (alive(state.runPid)) {
    process.kill(state.runPid, 'SIGTERM');
    for (let waited = 0; alive(state.runPid); waited += 100) {
      if (waited > timeoutMs) throw new RambootError('tool', `ramboot run ${state.runPid} of ${name} did not stop in ${timeoutMs / 1000} s`, `kill -9 ${state.runPid}, then ramboot stop ${name} again`);
      await sleep(100);
    }
    say(`ramboot stop: ${name} stopped`);
    return;
  }
  say(`ramboot stop: ${name}'s ramboot run (${state.runPid}) is gone; cleaning up after it`);
  // No service stop here: whatever runs in it has lost its owner; PID 1 ends and takes them along.
  await endInit(state.initPid, state.mode, () => false);
  await unplugAll(name, state.hostEnds);
  if (state.upperScript) {
    await runTool(state.upperScript, [], { env: { ACTION: 'teardown', NAME: name, UPPER: state.upper } }).catch((e: Error) => say(`ramboot: warning: ${e.message}`));
  }
  await rm(join(STATE_DIR, `${name}.d`), { recursive: true, force: true });
  await removeState(name);
  say(`ramboot stop: ${name} cleaned up`);
}
